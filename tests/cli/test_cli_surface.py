"""The hosted dt's habits: job ls/runs -f/-s/-b/-o, get -c/-b, UTC tables, and dt blob/kv/secret,
over real stores (the history one, filled by real runs, and fresh homes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import dt, dt_command, dt_error, dt_json

# ---------------------------------------------------------------- job ls / runs (history store)


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize(
    ("args", "slugs"),
    [
        (["-f", "type = batch"], ["complex-pipeline", "daily-sales-report", "flaky-pipeline",
                                  "frame-report"]),
        (["-f", "type = app"], []),
        (["-f", "name = daily-sales-report"], ["daily-sales-report"]),
        (["-f", "name starts_with f"], ["flaky-pipeline", "frame-report"]),
        (["-f", "display_name contains report and state = completed"],
         ["daily-sales-report", "frame-report"]),
        (["-f", "state != completed"], ["flaky-pipeline"]),
        (["-f", "tasks >= 3"], ["complex-pipeline", "flaky-pipeline"]),
        (["-f", "not (name starts_with f or tasks > 3)"], ["daily-sales-report"]),
        (["-f", "name = [frame-report, complex-pipeline]"], ["complex-pipeline", "frame-report"]),
        (["-f", "type = batch and environment = dev", "--filter", "sales"],
         ["daily-sales-report"]),
        (["-s", "-tasks"], ["complex-pipeline", "flaky-pipeline", "daily-sales-report",
                            "frame-report"]),
        (["-s", "state -name"], ["frame-report", "daily-sales-report", "complex-pipeline",
                                 "flaky-pipeline"]),
        (["-s", "-last_run", "-b", "2"], ["daily-sales-report", "frame-report"]),
        (["-b", "2", "-o", "1"], ["daily-sales-report", "flaky-pipeline"]),
        (["-f", "run_as = " + __import__("getpass").getuser(), "-b", "1"], ["complex-pipeline"]),
        # every workflow of the store asks for the defaults: 100m (in bytes) and 1 cpu
        (["-f", "memory = 104857600 and cpu = 1"], ["complex-pipeline", "daily-sales-report",
                                                    "flaky-pipeline", "frame-report"]),
        (["-f", "memory > 104857600 or cpu < 1"], []),
        (["-s", "create_time"], ["daily-sales-report", "flaky-pipeline", "complex-pipeline",
                                 "frame-report"]),
    ],
)
def test_job_ls_filter_sort_and_page(args, slugs):
    assert [wf["slug"] for wf in dt_json("job", "ls", *args)] == slugs


@pytest.mark.usefixtures("history")
def test_job_ls_pretty_json_is_the_json():
    assert dt("job", "ls", "--json", "--pretty").stdout == dt("job", "ls", "--json").stdout


@pytest.mark.usefixtures("history")
def test_job_ls_bad_filter_and_sort_are_one_line_errors():
    assert dt_error("job", "ls", "-f", "colour = red") == (
        "Error: Filter 'colour = red': there is no field 'colour' (fields: cpu, create_time, "
        "display_name, environment, last_run, memory, name, run_as, schedule, state, tasks, "
        'type, version); write e.g. "name starts_with daily and state = failed".'
    )
    assert dt_error("job", "ls", "-s", "-colour") == (
        "Error: Sort '-colour': there is no field 'colour' (fields: cpu, create_time, "
        "display_name, environment, last_run, memory, name, run_as, schedule, state, tasks, "
        "type, version)."
    )


@pytest.mark.usefixtures("history")
def test_job_runs_of_every_workflow_filtered_and_sorted():
    every = dt_json("job", "runs")
    assert [r["run_id"] for r in every] == [5, 4, 3, 2, 1]  # dev only: run 6 is prod's
    assert [r["run_id"] for r in dt_json("job", "runs", "-f", "state = failed")] == [2]
    assert [r["run_id"] for r in dt_json(
        "job", "runs", "-f", "name = daily-sales-report and run_id < 5")] == [1]
    assert [r["run_id"] for r in dt_json("job", "runs", "-s", "run_id", "-n", "2")] == [1, 2]
    assert [r["run_id"] for r in dt_json("job", "runs", "-e", "prod")] == [6]
    assert [r["run_id"] for r in dt_json("job", "runs", "daily_sales_report", "-f",
                                         "end_time is_not_null")] == [5, 1]
    result = dt("job", "runs", "-f", "state = failed")
    assert result.stdout.splitlines()[0].split() == [
        "WORKFLOW", "RUN_ID", "STATE", "VERSION", "TRIGGER", "STARTED", "(UTC)", "DURATION",
        "RERUN", "OF"]
    assert result.stdout.splitlines()[1].split()[:4] == ["Flaky", "Pipeline", "2", "failed"]


@pytest.mark.usefixtures("history")
def test_job_get_children_and_build_log():
    assert [(t["id"], t["name"]) for t in dt_json("job", "get", "complex-pipeline", "-c")] == [
        (0, "my_number"), (1, "first_addition"), (2, "num_0"), (3, "num_1"),
        (4, "reduce_list"), (5, "add_one")]
    lines = dt("job", "get", "complex-pipeline", "-c").stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "FUNCTION"]
    assert [line.split()[1] for line in lines[1:]] == [
        "my_number", "first_addition", "num_0", "num_1", "reduce_list", "add_one"]
    assert dt_error("job", "get", "complex-pipeline", "-b", "stderr") == (
        "Error: Version 1 of 'Complex Pipeline' has no build log: no container image is built "
        "for a version here. A run prepares its Python environment when it starts, and a "
        "failure to do so is the run's error (`dt job runs complex-pipeline -e dev`)."
    )


def test_tables_show_utc_whatever_the_local_zone(history: Path):
    started = datetime.fromisoformat(dt_json("job", "runs", "frame-report")[0]["start_time"])
    shown = started.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    done = subprocess.run(
        [*dt_command(), "job", "runs", "frame-report"], capture_output=True, text=True,
        env={**os.environ, "TZ": "Asia/Kathmandu"}, timeout=60, check=True)
    header, row = done.stdout.splitlines()
    assert "STARTED (UTC)" in header and shown in row
    versions = dt("job", "get", "frame-report").stdout
    assert "CREATED (UTC)" in versions and " UTC\n" in versions.split("Tasks", 1)[0]


# ---------------------------------------------------------------- dt blob


@pytest.mark.usefixtures("fresh_home")
def test_dt_blob_round_trip(tmp_path: Path):
    local = tmp_path / "report.csv"
    local.write_bytes(b"a,b\n1,2\n")
    assert dt("blob", "cp", str(local), "blob://my_bucket/report.csv").stdout == (
        f"Copied {local} to blob://my_bucket/report.csv (8 bytes).\n")
    assert dt("blob", "put", "my_bucket/hello.txt", input="hello\n").stdout == (
        "Stored my_bucket/hello.txt (6 bytes) in dev.\n")
    assert dt("blob", "get", "blob://my_bucket/hello.txt").stdout == "hello\n"
    assert dt_json("blob", "get", "my_bucket/hello.txt") == {
        "name": "my_bucket/hello.txt", "size": 6, "text": "hello\n"}
    assert [(r["name"], r["size"], r["is_file"]) for r in dt_json("blob", "ls", "my_bucket/")] == [
        ("my_bucket/hello.txt", 6, True), ("my_bucket/report.csv", 8, True)]
    assert [r["name"] for r in dt_json("blob", "ls", "-r", "-f", "name ends_with .csv")] == [
        "my_bucket/report.csv"]
    table = dt("blob", "ls").stdout.splitlines()
    assert table == ["NAME        SIZE  LAST MODIFIED (UTC)", "my_bucket/     -  -"]
    copy = tmp_path / "copy.csv"
    dt("blob", "cp", "blob://my_bucket/report.csv", str(copy))
    assert copy.read_bytes() == b"a,b\n1,2\n"
    assert (dt("blob", "exists", "my_bucket/hello.txt").stdout,
            dt("blob", "exists", "my_bucket/nope").stdout) == ("true\n", "false\n")
    assert dt("blob", "rm", "my_bucket/hello.txt", "--yes").stdout == (
        "Deleted my_bucket/hello.txt from dev.\n")
    assert dt_error("blob", "get", "my_bucket/hello.txt") == (
        "Error: No blob 'my_bucket/hello.txt' in dev: list what exists with Blob().ls('') or "
        "`dt blob ls -e dev`.")
    assert dt_error("blob", "cp", "a", "b") == (
        "Error: dt blob cp a b: write the blob side as blob://NAME and the other as a local "
        "path, e.g. dt blob cp report.csv blob://my_bucket/report.csv.")
    # prod is a separate store
    assert dt_json("blob", "ls", "-e", "prod") == []


@pytest.mark.usefixtures("fresh_home")
def test_dt_blob_sees_what_a_task_wrote():
    from tests.fixtures import storage_workflows

    assert storage_workflows.storage_round_trip(local_run=True, progress=False).state == (
        "completed")
    assert dt("blob", "get", "reports/today.txt").stdout == "hello from a task"
    assert dt("kv", "get", "last_report").stdout == "reports/today.txt\n"


# ---------------------------------------------------------------- dt kv


@pytest.mark.usefixtures("fresh_home")
def test_dt_kv_put_get_ls_rm():
    assert dt("kv", "put", "db_host", "db.internal").stdout == "Set db_host in dev.\n"
    dt("kv", "put", "api", "http://127.0.0.1:8000")
    assert dt("kv", "get", "db_host").stdout == "db.internal\n"
    listed = dt_json("kv", "ls")
    assert [(r["key"], "value" in r) for r in listed] == [("api", False), ("db_host", False)]
    with_values = dt_json("kv", "ls", "-v")
    assert [(r["key"], r["value"]) for r in with_values] == [
        ("api", "http://127.0.0.1:8000"), ("db_host", "db.internal")]
    assert datetime.fromisoformat(with_values[0]["updated_at"]).tzinfo is not None
    table = dt("kv", "ls", "-v").stdout.splitlines()
    assert table[0].split() == ["KEY", "VALUE", "UPDATED", "(UTC)"]
    assert dt("kv", "rm", "api").stdout == "Deleted api from dev.\n"
    assert dt_error("kv", "get", "api") == (
        "Error: No KV key 'api' in dev: set it with KV().put('api', value) or "
        "`dt kv put api VALUE -e dev`; `dt kv ls` lists what exists.")
    assert dt_json("kv", "ls", "-e", "prod") == []


# ---------------------------------------------------------------- dt secret

VALUE = "pa55-Word-0815"


@pytest.mark.usefixtures("fresh_home")
def test_dt_secret_set_from_stdin_ls_rm_and_never_shown(fresh_home: Path):
    result = dt("secret", "set", "db/password", input=VALUE + "\n")
    assert (result.exit_code, result.stdout) == (0, "Set secret db/password in dev.\n")
    assert VALUE not in result.stdout + result.stderr
    from datatailr import Secrets

    assert Secrets().get("db/password") == VALUE  # the trailing newline is not part of it
    assert dt_json("secret", "ls") == [{"key": "db/password", "environment": "dev"}]
    assert dt("secret", "ls").stdout.splitlines() == ["SECRET", "db/password"]
    assert dt_json("kv", "ls", "-S") == [{"key": "db/password"}]
    refused = dt_error("kv", "get", "-s", "db/password")
    assert refused == (
        "Error: Secret 'db/password' exists in dev; its value is not printed (read it in code "
        "with Secrets().get(...), which tasks and services do).")
    assert dt_json("kv", "ls") == []  # not a KV row
    stored = (fresh_home / "secrets" / "secrets.json").stat().st_mode & 0o777
    assert stored == 0o600
    assert dt("secret", "rm", "db/password").stdout == "Removed secret db/password from dev.\n"
    assert dt_json("secret", "ls") == []
    empty = dt("secret", "set", "x", input="")
    assert (empty.exit_code, empty.stdout, empty.stderr) == (
        1, "", "Error: No value for secret 'x' was given (stdin was empty).\n")


def test_dt_secret_set_on_a_terminal_prompts_hidden(tmp_path: Path):
    """A real terminal (a pty): the value is asked twice and never echoed."""
    import pty

    home = tmp_path / "home"
    pid, fd = pty.fork()
    if pid == 0:  # the child: dt on the pty
        os.environ["DATATAILR_HOME"] = str(home)
        os.execv(sys.executable, [sys.executable, "-m", "datatailr.cli", "secret", "set", "tok"])
    seen = b""

    def read_until(marker: bytes) -> None:
        nonlocal seen
        while marker not in seen:
            seen += os.read(fd, 1024)

    read_until(b"Value of tok: ")
    os.write(fd, VALUE.encode() + b"\n")
    read_until(b"Repeat for confirmation: ")
    os.write(fd, VALUE.encode() + b"\n")
    read_until(b"Set secret tok in dev.")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert VALUE.encode() not in seen
    stored = json.loads((home / "secrets" / "secrets.json").read_text())
    assert stored["environments"] == {"dev": {"tok": VALUE}}
