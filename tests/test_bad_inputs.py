"""Bad input, across the API, ``dt`` and ``%dt_runs``: each case gets one clear line naming the
offending value - never a traceback, never a silently wrong answer - and changes nothing that
is already stored. The store is filled once by real runs; each case compares the database's
whole dump and the storage's listing before and after."""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
from datetime import date

import pytest

from datatailr.errors import DatatailrError

HUGE = 10**20
BAD_IDS = [1.9, "1.0", "abc", "", None, True, -1, HUGE, [], {}, math.nan, b"1"]
BAD_COUNTS = [-1, 1.5, "10", True, math.inf]
BAD_STATES = ["bogus", ["completed", "bogus"], 5, ["completed", 5], "COMPLETED "]
BAD_ENVS = ["staging", "", 5, "dev prod", None.__class__, ["dev"]]
BAD_TIMES = ["yesterday", 5, date(2026, 1, 1), "2026-01-01"]
BAD_VERSIONS = ["two", 1.5, -1, HUGE, True, []]


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    home = tmp_path_factory.mktemp("bad-inputs") / "home"
    saved = {k: os.environ.get(k) for k in ("DATATAILR_HOME", "DATATAILR_JOB_ENVIRONMENT")}
    os.environ["DATATAILR_HOME"] = str(home)
    os.environ.pop("DATATAILR_JOB_ENVIRONMENT", None)
    from tests.fixtures import failing_workflows, spec_workflows

    ok = spec_workflows.sales_pipeline(local_run=True, progress=False)
    spec_workflows.complex_pipeline(local_run=True, progress=False)
    bad = None
    for name in dir(failing_workflows):
        candidate = getattr(failing_workflows, name)
        if getattr(candidate, "__module__", "") == failing_workflows.__name__ and hasattr(
                candidate, "trace") and bad is None:
            bad = candidate
    yield {"home": home, "run_id": ok.run_id}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _snapshot(home) -> str:
    digest = hashlib.sha256()
    with sqlite3.connect(f"file:{home / 'datatailr.db'}?mode=ro", uri=True) as raw:
        for line in raw.iterdump():
            digest.update(line.encode())
    for folder, dirs, files in sorted(os.walk(home / "storage")):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(f"{path}:{os.path.getsize(path)}".encode())
    return digest.hexdigest()


def _cases():
    """(id, callable(run_id) that must raise, text the message must contain)."""
    from datatailr import Resources, Schedule, Workflow, task, workflow
    from datatailr.scheduler.batch import list_workflows

    wf = lambda: Workflow("daily_sales_report")  # noqa: E731 - a fresh handle per case
    cases = []
    for value in BAD_IDS:
        for method in ("run_details", "logs", "result", "stop", "run"):
            cases.append((f"{method}-run_id-{value!r}",
                          lambda r, m=method, v=value: getattr(wf(), m)(v), repr(value)))
        cases.append((f"for_run-{value!r}", lambda r, v=value: Workflow.for_run(v), repr(value)))
        for method in ("logs", "result"):
            if value is None:
                continue
            cases.append((f"{method}-task_id-{value!r}",
                          lambda r, m=method, v=value: getattr(wf(), m)(r, task_id=v),
                          repr(value)))
    for value in [5, ["fetch_data"], b"fetch_data"]:
        for method in ("logs", "result"):
            cases.append((f"{method}-task_name-{value!r}",
                          lambda r, m=method, v=value: getattr(wf(), m)(r, task_name=v),
                          repr(value)))
    for name in ("no_such_task", "FETCH_DATA", " fetch_data"):
        for method in ("logs", "result"):
            cases.append((f"{method}-unknown-task-{name!r}",
                          lambda r, m=method, v=name: getattr(wf(), m)(r, task_name=v),
                          "fetch_data, calculate_total"))
    cases.append(("logs-no-task", lambda r: wf().logs(r), "task_name"))
    for value in BAD_COUNTS:
        cases.append((f"runs-limit-{value!r}", lambda r, v=value: wf().runs(limit=v), repr(value)))
        cases.append((f"runs-offset-{value!r}", lambda r, v=value: wf().runs(offset=v),
                      repr(value)))
        cases.append((f"logs-lines-{value!r}", lambda r, v=value: wf().logs(r, "fetch_data",
                                                                            lines=v), repr(value)))
    for value in BAD_STATES:
        cases.append((f"runs-state-{value!r}", lambda r, v=value: wf().runs(state=v), repr(value)))
        cases.append((f"count-state-{value!r}", lambda r, v=value: wf().count_runs(state=v),
                      repr(value)))
    for value in BAD_TIMES:
        cases.append((f"runs-start-{value!r}", lambda r, v=value: wf().runs(start_time=v),
                      repr(value)))
        cases.append((f"runs-end-{value!r}", lambda r, v=value: wf().runs(end_time=v),
                      repr(value)))
    for value in ["yes", 1, None]:
        cases.append((f"runs-refresh-{value!r}", lambda r, v=value: wf().runs(refresh=v),
                      repr(value)))
        cases.append((f"logs-stderr-{value!r}", lambda r, v=value: wf().logs(r, "fetch_data",
                                                                             stderr=v),
                      repr(value)))
    for value in BAD_ENVS:
        cases.append((f"Workflow-env-{value!r}",
                      lambda r, v=value: Workflow("daily_sales_report", environment=v),
                      repr(value)))
        cases.append((f"list_workflows-env-{value!r}", lambda r, v=value: list_workflows(v),
                      repr(value)))
    for value in BAD_VERSIONS:
        cases.append((f"Workflow-version-{value!r}",
                      lambda r, v=value: Workflow("daily_sales_report", version=v), repr(value)))
    for value in [7, 99]:
        cases.append((f"Workflow-missing-version-{value}",
                      lambda r, v=value: Workflow("daily_sales_report", version=v),
                      f"no version {value}"))
    for value in ["", "!!!", 5, None, ["a"], "x" * 200, "no such workflow", "Daily Sales"]:
        cases.append((f"Workflow-name-{value!r}"[:60], lambda r, v=value: Workflow(v),
                      repr(value)[:30] if value != "x" * 200 else "the limit is"))
    for kwargs, shown in [({"memory": "lots"}, "'lots'"), ({"memory": -5}, "-5"),
                          ({"cpu": "x"}, "'x'"), ({"cpu": -1}, "-1"), ({"cpu": 0}, "0"),
                          ({"retries": -1}, "-1"), ({"retries": 1.5}, "1.5"),
                          ({"retries": "2"}, "'2'"), ({"retry_delay": -1}, "-1"),
                          ({"timeout": 0}, "0"), ({"timeout": -3}, "-3"),
                          ({"timeout": "soon"}, "'soon'")]:
        cases.append((f"task-{kwargs!r}", lambda r, k=kwargs: task(**k)(lambda: 1), shown))
    for kwargs, shown in [({"name": 5}, "5"), ({"name": ""}, "''"), ({"name": "---"}, "'---'"),
                          ({"resources": "big"}, "'big'"), ({"env_vars": ["A=1"]}, "['A=1']"),
                          ({"fail_after": "later"}, "'later'"),
                          ({"expire_after": -1}, "-1"), ({"schedule": "every tuesday"},
                                                         "'every tuesday'")]:
        cases.append((f"workflow-{kwargs!r}", lambda r, k=kwargs: workflow(**k)(lambda: None),
                      shown))
    for kwargs, shown in [({"at_hours": 25}, "25"), ({"at_minutes": 60}, "60"),
                          ({"weekdays": "funday"}, "funday"), ({"day_of_month": 32}, "32"),
                          ({"in_month": "smarch"}, "smarch"), ({"every_hour": 0}, "0"),
                          ({"at_hours": 1, "timezone": "Mars/Olympus"}, "Mars/Olympus"),
                          ({"cron_expression": "* * *"}, "* * *"),
                          ({"cron_expression": "61 * * * *"}, "61")]:
        cases.append((f"Schedule-{kwargs!r}", lambda r, k=kwargs: Schedule(**k), shown))
    for value in ["lots", "10x", -1]:
        cases.append((f"Resources-memory-{value!r}", lambda r, v=value: Resources(memory=v),
                      repr(value)))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("call", "shown"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_api_input_is_one_clear_error_and_changes_nothing(filled, call, shown):
    before = _snapshot(filled["home"])
    with pytest.raises(DatatailrError) as err:
        call(filled["run_id"])
    message = str(err.value)
    assert (isinstance(err.value, ValueError | TypeError | KeyError), "\n" in message,
            shown in message) == (True, False, True), message
    assert _snapshot(filled["home"]) == before


DT_CASES = [
    (["job", "get", "no-such-workflow"], "no-such-workflow"),
    (["job", "runs", "daily_sales_report", "--limit", "-1"], "-1"),
    (["job", "runs", "daily_sales_report", "--limit", "many"], "many"),
    (["job", "runs", "daily_sales_report", "--state", "bogus"], "bogus"),
    (["job", "runs", "daily_sales_report", "--since", "the dawn of time"], "the dawn of time"),
    (["job", "runs", "daily_sales_report", "-e", "staging"], "staging"),
    (["log", "read", "daily_sales_report", "-i", "1.9"], "1.9"),
    (["log", "read", "daily_sales_report", "-i", str(HUGE)], str(HUGE)),
    (["log", "read", "daily_sales_report", "--task", "nope"], "nope"),
    (["log", "read", "daily_sales_report", "-c", "x"], "x"),
    (["log", "read", "daily_sales_report", "-c", "99"], "99"),
    (["log", "read", "daily_sales_report", "-l", "-5"], "-5"),
    (["result", "get", "daily_sales_report", "-i", "abc", "--task", "fetch_data"], "abc"),
    (["result", "get", "daily_sales_report", "-i", "999999", "--task", "fetch_data"], "999999"),
    (["result", "get", "daily_sales_report", "-i", str(HUGE), "--task", "fetch_data"], str(HUGE)),
    (["job", "rerun", "abc"], "abc"),
    (["job", "rerun", str(HUGE)], str(HUGE)),
    (["job", "stop", str(HUGE)], str(HUGE)),
    (["job", "versions", "nope"], "nope"),
    (["job", "get", "daily_sales_report", "--version", "zero"], "zero"),
    (["job", "get", "daily_sales_report", "--version", "77"], "77"),
    (["job", "nonsense"], "nonsense"),
]


@pytest.mark.parametrize(("args", "shown"), DT_CASES, ids=[" ".join(a) for a, _ in DT_CASES])
def test_a_bad_dt_input_is_one_line_on_stderr_and_changes_nothing(filled, args, shown):
    from tests.cli.conftest import dt

    before = _snapshot(filled["home"])
    result = dt(*args)
    lines = result.stderr.strip().splitlines()
    assert (result.exit_code in (1, 2), "Traceback" in result.stderr,
            shown in result.stderr) == (True, False, True), result.stderr
    assert len([line for line in lines if line.startswith(("Error", "Usage", "Try"))]) >= 1
    assert _snapshot(filled["home"]) == before


MAGIC_CASES = [
    ("--env staging", "staging"),
    ("--bogus", "--bogus"),
    ("load 99999999999999999999 fetch_data", "99999999999999999999"),
    ("load abc fetch_data", "abc"),
    ("load 1", "load"),
    ("daily_sales_report --env", "--env"),
]


@pytest.mark.parametrize(("line", "shown"), MAGIC_CASES, ids=[c[0] for c in MAGIC_CASES])
def test_a_bad_dt_runs_line_prints_one_line_and_changes_nothing(filled, line, shown, capsys):
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    if "datatailr" not in ip.extension_manager.loaded:
        ip.run_line_magic("load_ext", "datatailr")
    capsys.readouterr()
    before = _snapshot(filled["home"])
    result = ip.run_cell(f"%dt_runs {line}")
    out = capsys.readouterr()
    text = (out.out + out.err).strip()
    # IPython shows a magic's UsageError as its one line, without a traceback.
    error = result.error_in_exec
    assert (error is None or isinstance(error, UsageError), "Traceback" in text,
            shown in text, len(text.splitlines())) == (True, False, True, 1), text
    assert _snapshot(filled["home"]) == before


def test_the_table_is_big_enough():
    assert len(CASES) + len(DT_CASES) + len(MAGIC_CASES) >= 200
