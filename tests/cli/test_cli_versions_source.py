"""`dt job get --source` shows every file of a version's image; `dt job diff` what changed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.cli.conftest import dt


def _deploy(tmp_path, home, helper_body):
    (tmp_path / "helper_mod.py").write_text(helper_body)
    (tmp_path / "flow.py").write_text(textwrap.dedent("""
        from datatailr import task, workflow
        import helper_mod

        @task()
        def compute():
            return helper_mod.value()

        @workflow(name="imaged")
        def imaged():
            compute()

        if __name__ == "__main__":
            imaged(save_only=True)
    """))
    env = {"DATATAILR_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": ""}
    import os

    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    done = subprocess.run([sys.executable, "flow.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_source_shows_every_file_and_diff_what_changed(home, tmp_path):
    _deploy(tmp_path, home, "def value():\n    return 1\n")
    _deploy(tmp_path, home, "def value():\n    return 2\n")
    shown = dt("job", "get", "imaged", "--source", "--version", "1")
    assert shown.exit_code == 0, shown.stderr
    assert "# ---- helper_mod.py\ndef value():\n    return 1\n" in shown.stdout
    assert "# ---- flow.py\n" in shown.stdout
    diff = dt("job", "diff", "imaged", "1", "2")
    assert diff.exit_code == 0, diff.stderr
    assert "-    return 1\n+    return 2\n" in diff.stdout
    assert dt("job", "diff", "imaged", "2", "2").stdout == ""


def test_runs_of_one_run_show_each_tasks_usage(home):
    import socket

    from tests.fixtures import spec_workflows

    run = spec_workflows.sales_pipeline(local_run=True, progress=False)
    shown = dt("job", "runs", "daily_sales_report", "-i", str(run.run_id))
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATE", "ATTEMPTS", "DURATION", "PEAK", "MEMORY",
                                "CPU", "HOST"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["0", "fetch_data", "completed", "1"], ["1", "calculate_total", "completed", "1"]]
    assert all(line.split()[-1] == socket.gethostname() and " MB " in line for line in lines[1:])
    as_json = dt("job", "runs", "daily_sales_report", "-i", str(run.run_id), "--json")
    rows = __import__("json").loads(as_json.stdout)
    assert [(r["name"], r["host"], r["peak_rss"] is not None, r["cpu_seconds"] is not None)
            for r in rows] == [("fetch_data", socket.gethostname(), True, True),
                               ("calculate_total", socket.gethostname(), True, True)]
