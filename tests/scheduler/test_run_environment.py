"""A run's environment comes from its version: the agent's runners start clean."""

from __future__ import annotations

import os
import textwrap

from datatailr import Workflow
from datatailr.scheduler.batch import Run
from datatailr.scheduler.runner import run_environment

SHOW = textwrap.dedent('''
    import os, sys
    from datatailr import task, workflow

    @task()
    def show():
        keys = {"SECRET_TOKEN", "DECLARED", "TASK_ONLY", "HOME", "PATH"}
        keys |= {k for k in os.environ if k.startswith("DATATAILR_") and k != "DATATAILR_HOME"}
        return {k: os.environ.get(k) for k in sorted(keys)}

    @workflow(name="envy", env_vars={"DECLARED": "yes"})
    def pipeline():
        show().update_env_vars({"TASK_ONLY": "t"})

    if __name__ == "__main__":
        if sys.argv[1:] == ["local"]:
            print(repr(pipeline(local_run=True, progress=False).result("show")))
        else:
            pipeline()
''')


def context(run_id, version):
    import getpass

    return {"DATATAILR_BATCH_RUN_ID": str(run_id), "DATATAILR_JOB_ENVIRONMENT": "dev",
            "DATATAILR_JOB_NAME": "envy", "DATATAILR_JOB_TYPE": "batch",
            "DATATAILR_JOB_VERSION": str(version), "DATATAILR_USER": getpass.getuser()}


def test_deployed_runs_never_see_the_shell_that_started_the_agent(home, tmp_path, run_python,
                                                                   monkeypatch):
    script = tmp_path / "envy.py"
    script.write_text(SHOW)
    monkeypatch.setenv("SECRET_TOKEN", "first")
    run_python(script)  # starts the agent with SECRET_TOKEN=first in its environment
    monkeypatch.setenv("SECRET_TOKEN", "second")
    run_python(script)
    wf = Workflow("envy")
    base = {"HOME": os.environ["HOME"], "PATH": os.environ["PATH"], "SECRET_TOKEN": None,
            "DECLARED": "yes", "TASK_ONLY": "t"}
    for run_id, version in ((1, 1), (2, 2)):
        assert Run(wf, run_id).wait(timeout=60) == "completed"
        assert wf.result(run_id, "show") == {**base, **context(run_id, version)}


def test_a_local_run_keeps_the_callers_environment_plus_the_run_context(
        home, tmp_path, run_python, monkeypatch):
    script = tmp_path / "envy.py"
    script.write_text(SHOW)
    monkeypatch.setenv("SECRET_TOKEN", "mine")
    done = run_python(script, "local")
    assert eval(done.stdout) == {"HOME": os.environ["HOME"], "PATH": os.environ["PATH"],
                                 "SECRET_TOKEN": "mine", "DECLARED": "yes", "TASK_ONLY": "t",
                                 **context(1, 1)}


def test_the_clean_base_keeps_system_and_platform_settings_only():
    environ = {"PATH": "/bin", "HOME": "/h", "USER": "u", "LANG": "C.UTF-8", "LC_TIME": "C",
               "TZ": "UTC", "DATATAILR_HOME": "/d", "DATATAILR_DB_URL": "sqlite://",
               "DATATAILR_JOB_NAME": "left over", "DATATAILR_BATCH_ARG_RUNDATE": "2020-01-01",
               "SECRET_TOKEN": "x", "AWS_SECRET_ACCESS_KEY": "y", "VIRTUAL_ENV": "/v"}
    assert run_environment(environ) == {
        "PATH": "/bin", "HOME": "/h", "USER": "u", "LANG": "C.UTF-8", "LC_TIME": "C",
        "TZ": "UTC", "DATATAILR_HOME": "/d", "DATATAILR_DB_URL": "sqlite://"}


def test_a_run_keeps_the_credentials_of_the_store_it_uses_and_no_others():
    environ = {"PATH": "/bin", "DATATAILR_STORAGE_URL": "s3://team/dt",
               "DATATAILR_DB_URL": "postgresql://db/dt", "AWS_ACCESS_KEY_ID": "k",
               "AWS_SECRET_ACCESS_KEY": "s", "PGPASSWORD": "p", "AZURE_STORAGE_KEY": "a",
               "GOOGLE_APPLICATION_CREDENTIALS": "/g.json", "SECRET_TOKEN": "x"}
    assert run_environment(environ) == {
        "PATH": "/bin", "DATATAILR_STORAGE_URL": "s3://team/dt",
        "DATATAILR_DB_URL": "postgresql://db/dt", "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s", "PGPASSWORD": "p"}
    environ.update(DATATAILR_STORAGE_URL="gs://team/dt",
                   DATATAILR_DB_URL="postgresql+psycopg://db/dt")
    assert sorted(run_environment(environ)) == [
        "DATATAILR_DB_URL", "DATATAILR_STORAGE_URL", "GOOGLE_APPLICATION_CREDENTIALS", "PATH",
        "PGPASSWORD"]
