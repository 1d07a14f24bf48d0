"""The read-only fast path of `dt job ls`, `dt job runs`, `dt log read` and `dt result get`:
on a real SQLite store with runs in every state, each prints byte for byte what the full
(SQLAlchemy) store prints (``DATATAILR_FAST_READ=0``), errors included, without opening the
full store; a run whose heartbeat stopped is still shown ``unknown`` (the fast path hands the
command to the full store, which marks it, as it always did)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from datatailr.scheduler import platform
from datatailr.store import fastread
from tests.cli.conftest import dt

ROOT = Path(__file__).resolve().parents[2]

#: Makes the store in a process of its own (so this one never opens its full store): real
#: local runs, then runs of Daily Sales Report in every state the store records, a removed
#: version and a removed workflow. Prints {state: run_id}.
SEED = """
import json, os, socket, sys, time
import cli_workflows as w
from datatailr import Workflow
from datatailr.scheduler.platform import current_platform

w.daily_sales_report(local_run=True)
w.flaky_pipeline(local_run=True)
w.complex_pipeline(local_run=True)
w.complex_pipeline(save_only=True)
Workflow("Complex Pipeline").remove(version=2)
w.frame_report(local_run=True)
Workflow("Frame Report").remove()
w.daily_sales_report(local_run=True, environment="prod")
meta = current_platform().metadata
wid = meta.find_workflow("daily-sales-report", "dev")["workflow_id"]
now = time.time()
ids = {}
for i, state in enumerate(["pending", "scheduled", "running", "failed_after", "stopped",
                           "expired", "did_not_run", "unknown", "completed"]):
    run_id = meta.create_run(workflow_id=wid, job_version=1, task_names=["fetch_data",
                             "calculate_total"], trigger=("manual", "schedule", "rerun")[i % 3],
                             rerun_of=1 if i % 3 == 2 else None, full=i == 8,
                             original_run_id=1 if i % 3 == 2 else None,
                             scheduled_time=now - 60 if i % 3 == 1 else None)
    values = {"state": state}
    if state not in ("pending", "scheduled"):
        values.update(start_time=now - 3600 * (i + 1), host="elsewhere.example", pid=4242)
    if state == "running":  # on another machine, its heartbeat fresh: it stays running
        values.update(heartbeat=now + 3600)
    elif state not in ("pending", "scheduled"):
        values.update(end_time=now - 3600 * (i + 1) + 75.5)
    if state in ("unknown", "failed_after"):
        values.update(error=f"{state}: it went")
    meta.update_run(run_id, **values)
    ids[state] = run_id
print(json.dumps(ids))
"""


def seed(home: Path, code: str = SEED) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
        env={**os.environ, "DATATAILR_HOME": str(home),
             "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "cli")])})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def every_state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    pytest.importorskip("pandas")
    home = tmp_path_factory.mktemp("fastread") / "home"
    return home, seed(home)


@pytest.fixture
def store(every_state, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict]:
    home, ids = every_state
    monkeypatch.setenv("DATATAILR_HOME", str(home))
    for name in ("DATATAILR_JOB_ENVIRONMENT", "DATATAILR_DEBUG", "FORCE_COLOR",
                 "DATATAILR_DB_URL", "DATATAILR_STORAGE_URL", "DATATAILR_FAST_READ"):
        monkeypatch.delenv(name, raising=False)
    return home, ids


def both(*args: str) -> tuple[tuple, tuple]:
    """(exit status, stdout, stderr) of `dt ARGS` on the fast path, then on the full store."""
    fast = dt(*args)
    full = dt(*args, env={"DATATAILR_FAST_READ": "0"})
    return ((fast.exit_code, fast.stdout, fast.stderr),
            (full.exit_code, full.stdout, full.stderr))


def full_store_opened(home: Path) -> bool:
    return any(config.home == home.resolve() for _pid, config in platform._CURRENT)


COMMANDS = [shlex.split(line) for line in """
job ls
job ls --json
job ls -e prod
job ls -e pre
job ls -f 'state = failed'
job ls -s '-version +name' -b 2 -o 1
job ls --filter sales
job ls --state none
job ls -f 'create_time > 0' --json
job runs daily_sales_report
job runs daily_sales_report --json
job runs daily_sales_report -n 3
job runs daily_sales_report -n 0
job runs daily_sales_report --state unknown
job runs daily_sales_report --since 2h --until now
job runs daily_sales_report -f 'trigger = rerun' -s +run_id
job runs daily_sales_report -i 1
job runs daily_sales_report -i 1 --json
job runs
job runs --json -n 0
job runs -e prod
job runs 'Complex Pipeline'
job runs frame_report
job runs no_such_thing
job runs daily_sales_report -i 2
log read daily_sales_report
log read daily_sales_report -i 1
log read daily_sales_report -i 1 -t calculate_total -r
log read daily_sales_report -i 1 -c 0 --json
log read daily_sales_report -i 1 -l 1
log read flaky_pipeline -r
log read flaky_pipeline --json
log read daily_sales_report -i 1 -t nope
log read daily_sales_report -i 99
log read daily_sales_report -e prod
result get daily_sales_report -i 1 -t calculate_total
result get daily_sales_report -i 1 -t fetch_data --json
result get daily_sales_report -i 1 -c 1
result get daily_sales_report -t calculate_total
result get flaky_pipeline -t calculate_total
result get flaky_pipeline -t explode --json
result get complex_pipeline -t add_one
result get daily_sales_report -i 1 -t nope
result get daily_sales_report -t calculate_total -e pre
""".strip().splitlines()]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_the_fast_path_prints_what_the_full_store_prints(store, args):
    home, ids = store
    fast, full = both(*args)
    assert fast == full


@pytest.mark.parametrize("args", [["job", "ls"], ["job", "runs", "daily_sales_report"],
                                  ["log", "read", "daily_sales_report", "-i", "1"]],
                         ids=["job ls", "job runs", "log read"])
def test_the_terminal_look_is_the_same_too(store, args):
    look = {"FORCE_COLOR": "1", "COLUMNS": "140"}
    fast = dt(*args, env=look)
    full = dt(*args, env={**look, "DATATAILR_FAST_READ": "0"})
    assert (fast.exit_code, fast.stdout, fast.stderr) == (full.exit_code, full.stdout, full.stderr)
    assert ("\x1b[" in fast.stdout) == (args[0] == "job")  # the tables drawn by rich, in colour


def test_the_fast_path_does_not_open_the_full_store(store):
    home, ids = store
    platform._CURRENT.clear()
    for args in COMMANDS:
        dt(*args)
    assert not full_store_opened(home)
    dt("job", "ls", env={"DATATAILR_FAST_READ": "0"})
    assert full_store_opened(home)  # the switch is what changed


def test_the_store_shows_every_state(store):
    """What the comparisons above read: every state, a rerun, a removed version and workflow."""
    home, ids = store
    listed = json.loads(dt("job", "runs", "daily_sales_report", "--json", "-n", "0").stdout)
    assert sorted({r["state"] for r in listed}) == sorted(
        ["pending", "scheduled", "running", "failed_after", "stopped", "expired", "did_not_run",
         "unknown", "completed"])
    assert [r["full"] for r in listed if r["run_id"] == ids["completed"]] == [True]
    shown = json.loads(dt("job", "ls", "--json").stdout)
    assert [(w["name"], w["job_version"]) for w in shown] == [
        ("Complex Pipeline", 1), ("Daily Sales Report", 1), ("Flaky Pipeline", 1)]


@pytest.mark.parametrize("args", [["job", "ls"], ["job", "runs", "daily_sales_report"],
                                  ["log", "read", "daily_sales_report", "-i", "1"],
                                  ["result", "get", "daily_sales_report", "-t", "fetch_data"]],
                         ids=["job ls", "job runs", "log read", "result get"])
def test_a_store_to_migrate_is_handed_to_the_full_store(store, tmp_path, args):
    """An older schema: the fast reader refuses it, the full store migrates it and answers."""
    home, _ids = store
    a, b = tmp_path / "a" / "home", tmp_path / "b" / "home"
    for copy in (a, b):
        shutil.copytree(home, copy)
        with sqlite3.connect(copy / "datatailr.db") as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                       (str(fastread.SCHEMA_VERSION - 1),))
    fast, full = on(a, *args), on(b, *args, fast=False)
    assert fast == full
    assert fast[0] == 0 and fast[1]
    assert full_store_opened(a)
    for copy in (a, b):
        with sqlite3.connect(f"file:{copy / 'datatailr.db'}?mode=ro", uri=True) as db:
            assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                              ).fetchone() == (str(fastread.SCHEMA_VERSION),)


# ---------------------------------------------------------------- a run nobody executes


STALE = """
import json, subprocess, sys, time
from datatailr import Workflow
from datatailr.scheduler.platform import current_platform
import cli_workflows as w

w.daily_sales_report(local_run=True)
meta = current_platform().metadata
wid = meta.find_workflow("daily-sales-report", "dev")["workflow_id"]
now = time.time()
dead = subprocess.Popen([sys.executable, "-c", "pass"])
dead.wait()
ids = {}
for name, host, pid, beat in [("stale", "elsewhere.example", 77, now - 7200),
                              ("dead", __import__("socket").gethostname(), dead.pid, now)]:
    run_id = meta.create_run(workflow_id=wid, job_version=1, trigger="manual",
                             task_names=["fetch_data", "calculate_total"])
    meta.update_run(run_id, state="running", start_time=now - 7230, host=host, pid=pid,
                    heartbeat=beat)
    ids[name] = run_id
print(json.dumps(ids))
"""


@pytest.fixture(scope="module")
def stale_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("stale") / "home"
    return home, seed(home, STALE)


def copies(stale_home, tmp_path: Path) -> tuple[Path, Path]:
    home, _ids = stale_home
    a, b = tmp_path / "a" / "home", tmp_path / "b" / "home"
    shutil.copytree(home, a)
    shutil.copytree(home, b)
    return a, b


def on(home: Path, *args: str, fast: bool = True) -> tuple:
    done = dt(*args, env={"DATATAILR_HOME": str(home), "DATATAILR_FAST_READ": "1" if fast else "0",
                          "DATATAILR_JOB_ENVIRONMENT": None, "FORCE_COLOR": None})
    return done.exit_code, done.stdout, done.stderr


def states_in(home: Path) -> dict[int, str]:
    with sqlite3.connect(f"file:{home / 'datatailr.db'}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT run_id, state FROM runs"))


@pytest.mark.parametrize("args, marked", [
    (["job", "runs", "daily_sales_report"], {"stale", "dead"}),
    (["log", "read", "daily_sales_report", "-i", "{stale}"], {"stale"}),
    (["log", "read", "daily_sales_report", "-i", "{dead}", "-t", "fetch_data"], {"dead"}),
    (["result", "get", "daily_sales_report", "-i", "{stale}", "-t", "calculate_total"],
     {"stale"}),
    (["job", "runs", "daily_sales_report", "-i", "{dead}"], {"dead"}),
], ids=["job runs", "log read stale", "log read dead", "result get", "job runs -i"])
def test_a_run_nobody_executes_is_shown_unknown_as_before(stale_home, tmp_path, args, marked):
    _home, ids = stale_home
    args = [a.format(**ids) for a in args]
    a, b = copies(stale_home, tmp_path)
    fast, full = on(a, *args), on(b, *args, fast=False)
    assert fast == full
    assert fast[0] == 0
    # The fast path handed the command over: the full store marked the runs it read, as it
    # always did, and left the others running; the same look again is fast, and the same.
    expected = {ids[name]: "unknown" if name in marked else "running" for name in ids}
    for home in (a, b):
        assert {k: v for k, v in states_in(home).items() if k in expected} == expected
    platform._CURRENT.clear()
    assert on(a, *args) == fast
    assert not full_store_opened(a)


def test_the_unknown_runs_say_why(stale_home, tmp_path):
    _home, ids = stale_home
    a, _b = copies(stale_home, tmp_path)
    table = on(a, "job", "runs", "daily_sales_report")[1].splitlines()
    assert [line.split()[:2] for line in table[1:3]] == [
        [str(ids["dead"]), "unknown"], [str(ids["stale"]), "unknown"]]
    assert all(" 2h 00m " in line for line in table[1:3])  # started 2 h ago, ended now
    with sqlite3.connect(f"file:{a / 'datatailr.db'}?mode=ro", uri=True) as db:
        errors = dict(db.execute("SELECT run_id, error FROM runs WHERE run_id IN (?, ?)",
                                 (ids["stale"], ids["dead"])))
    assert errors[ids["stale"]].startswith("Its heartbeat stopped at ")
    assert errors[ids["stale"]].endswith(" (on elsewhere.example): the process or machine "
                                         "running it is gone.")
    assert errors[ids["dead"]] == "The process running it died."


# ---------------------------------------------------------------- whole processes

PROBE = """
import json, sys
from datatailr.cli import main
try:
    main({argv!r}, standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(m for m in ("sqlalchemy", "rich") if m in sys.modules)),
      file=sys.stderr)
"""


def heavy_modules_after(argv: list[str], home: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True,
                         text=True, timeout=120, env={
                             **os.environ, "DATATAILR_HOME": str(home),
                             "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stderr.strip().splitlines()[-1])


def test_job_ls_imports_neither_sqlalchemy_nor_rich(every_state):
    home, _ids = every_state
    assert heavy_modules_after(["job", "ls"], home) == []


@pytest.mark.parametrize("argv", [
    ["job", "runs", "daily_sales_report"],
    ["log", "read", "daily_sales_report", "-i", "1"],
    ["result", "get", "daily_sales_report", "-i", "1", "-t", "calculate_total"],
], ids=["job runs", "log read", "result get"])
def test_the_other_reads_import_neither_sqlalchemy_nor_rich(every_state, argv):
    home, _ids = every_state
    assert heavy_modules_after(argv, home) == []
