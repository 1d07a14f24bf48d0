"""The hosted SDK's calling conventions: call-time overrides, instant_run, import-time deploys."""

from __future__ import annotations

import textwrap

import pytest

from datatailr import Resources, Workflow, task, workflow
from datatailr.errors import InvalidArgumentError
from datatailr.scheduler.batch import InstantRunHandle


@task()
def read_env():
    import os

    return os.environ.get("MODE")


@workflow(name="overridable", env_vars={"MODE": "slow"}, fail_after="1h")
def overridable():
    read_env()


def test_call_time_overrides_replace_the_decorators_settings(home):
    run = overridable(local_run=True, progress=False, env_vars={"MODE": "fast"},
                      resources=Resources(memory="300m", cpu=2))
    assert run.result("read_env") == "fast"
    options = Workflow("overridable").definition()["options"]
    assert (options["env_vars"], options["resources"], options["resources_given"],
            options["fail_after"]) == ({"MODE": "fast"}, {"memory": "300m", "cpu": 2,
                                                          "vram": None}, True, 3600.0)
    plain = overridable(local_run=True, progress=False)
    assert plain.result("read_env") == "slow"
    assert Workflow("overridable").definition()["options"]["resources_given"] is False
    with pytest.raises(InvalidArgumentError, match="local_run=True runs once"):
        overridable(local_run=True, schedule="0 * * * *")


def test_instant_run_queues_a_run_on_the_agent_and_returns_its_handle(home, capsys):
    handle = overridable(instant_run=True)
    assert isinstance(handle, InstantRunHandle)
    assert capsys.readouterr().out.startswith(
        f"Instant run {handle.run_id} of 'overridable' version 1 queued on the local agent")
    assert handle.wait(timeout=60) == "completed"
    assert (handle.status(), handle.task_status("read_env"), handle.result("read_env"),
            handle.logs("read_env"), handle.run_details()["trigger"]) == (
        "completed", "completed", "slow", "", "deploy")
    assert repr(handle) == (f"InstantRunHandle(run_id={handle.run_id}, job_id='overridable', "
                            f"workflow='overridable', environment='dev')")
    with pytest.raises(InvalidArgumentError, match="give task_name"):
        handle.task_status()


DEPLOYS_ON_IMPORT = textwrap.dedent('''
    from datatailr import task, workflow

    @task()
    def one():
        return 1

    @workflow(name="imported")
    def pipeline():
        one()

    pipeline(save_only=True)
''')


def test_a_deploy_during_an_import_warns_once_in_one_line(home, tmp_path, run_python):
    (tmp_path / "my_workflow.py").write_text(DEPLOYS_ON_IMPORT)
    done = run_python("from my_workflow import pipeline")
    assert done.stderr == (
        "Warning: 'imported' is being deployed while a module is being imported (a top-level "
        "call in 'my_workflow'); guard the call with `if __name__ == \"__main__\":` to deploy "
        "only when the file is run.\n")
    assert done.stdout == "Saved 'imported' version 1 in dev.\n"
    ran = run_python(tmp_path / "my_workflow.py")
    assert ran.stderr == ""


def test_a_module_that_deploys_on_import_does_not_redeploy_when_its_run_loads_it(
        home, tmp_path, run_python):
    (tmp_path / "my_workflow.py").write_text(DEPLOYS_ON_IMPORT.replace(
        "pipeline(save_only=True)", "pipeline()"))
    done = run_python("import my_workflow")
    assert done.stderr.startswith("Warning: 'imported' is being deployed while a module")
    wf = Workflow("imported")
    from datatailr.scheduler.batch import Run

    assert Run(wf, 1).wait(timeout=60) == "completed"
    assert wf.result(1, "one") == 1
    assert ([v["job_version"] for v in wf.versions()], [r["run_id"] for r in wf.runs()]) == (
        [1], [1])


def test_an_image_s_requirements_are_the_workflow_s_when_it_gives_none(home):
    from datatailr.build.image import Image

    @workflow(name="imaged", image=Image(python_requirements=["six>=1", "rich"]))
    def imaged():
        read_env()

    assert imaged.python_requirements == ["six>=1", "rich"]
