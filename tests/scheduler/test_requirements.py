"""python_requirements honoured: the agent's own environment when it satisfies them, else an
isolated one built once per set (real installs from the package index); checked locally."""

from __future__ import annotations

import importlib.metadata
import textwrap

import pytest

from datatailr import Workflow
from datatailr.errors import RequirementsError
from datatailr.scheduler.batch import Run

PINNED = textwrap.dedent('''
    import sys
    from datatailr import task, workflow

    @task()
    def which():
        import six, shutil
        return six.__version__, sys.prefix, shutil.which("python")

    @workflow(name="pinned", python_requirements={requirements!r})
    def pipeline():
        which()

    if __name__ == "__main__":
        pipeline()
''')

OLD_SIX = "1.15.0"


def test_a_pinned_requirement_runs_in_an_environment_built_for_it(home, tmp_path, run_python):
    assert importlib.metadata.version("six") != OLD_SIX  # the test needs a version not here
    (tmp_path / "pinned.py").write_text(PINNED.format(requirements=[f"six=={OLD_SIX}"]))
    run_python(tmp_path / "pinned.py")
    run_python(tmp_path / "pinned.py")
    wf = Workflow("pinned")
    first, second = Run(wf, 1), Run(wf, 2)
    assert first.wait(timeout=300) == "completed", first.error
    assert second.wait(timeout=300) == "completed", second.error
    (version, prefix, python), (_, prefix_again, _) = (first.result("which"),
                                                        second.result("which"))
    assert version == OLD_SIX
    assert python == f"{prefix}/bin/python"  # a task's own `python` is the run's
    envs = home / "envs"
    assert prefix.startswith(str(envs)) and prefix_again == prefix  # built once, reused
    environment = wf.definition()["python_environment"]
    assert environment["requirements"] == [f"six=={OLD_SIX}"]
    assert environment["distributions"]["six"] == importlib.metadata.version("six")


def test_a_requirement_that_cannot_be_installed_fails_the_run_before_any_task(
        home, tmp_path, run_python):
    missing = "datatailr-test-no-such-distribution==1.0"
    (tmp_path / "pinned.py").write_text(PINNED.format(requirements=[missing]))
    run_python(tmp_path / "pinned.py")
    wf = Workflow("pinned")
    run = Run(wf, 1)
    assert run.wait(timeout=300) == "failed"
    assert run.error.startswith(
        f"The run's environment could not be built. Installing python_requirements "
        f"['{missing}'] with uv failed:\n")
    assert "datatailr-test-no-such-distribution" in run.error.split("\n", 1)[1]
    details = wf.run_details(1)
    assert [(t["name"], t["state"], t["start_time"]) for t in details["tasks"]] == [
        ("which", "did_not_run", None)]
    assert details["error"] == run.error


def test_a_local_run_checks_requirements_and_names_the_fix(home):
    from datatailr import task, workflow

    @task()
    def noop():
        return 1

    @workflow(name="needs old six", python_requirements=[f"six=={OLD_SIX}"])
    def pipeline():
        noop()

    installed = importlib.metadata.version("six")
    with pytest.raises(RequirementsError) as info:
        pipeline(local_run=True)
    assert str(info.value).startswith(
        f"Workflow 'needs old six' needs six=={OLD_SIX} (installed: {installed}) in this Python")
    assert f"-m pip install 'six=={OLD_SIX}'" in str(info.value)

    @workflow(name="needs nothing new", python_requirements=[f"six=={installed}"])
    def satisfied():
        noop()

    assert satisfied(local_run=True, progress=False).state == "completed"
