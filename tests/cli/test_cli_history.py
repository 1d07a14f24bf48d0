"""The reading commands (job ls/get/runs/versions, log read, result get) over a store filled by
real runs (conftest.HISTORY); --json parsed and compared whole, times masked."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta, timezone

import pytest
from conftest import T, dt, dt_error, dt_json, dt_process, masked, run_dict

from datatailr.cli._render import fmt_time

pytestmark = pytest.mark.usefixtures("history")

SALES_RUN_5 = run_dict(5, "Daily Sales Report", "completed")
SALES_RUN_1 = run_dict(1, "Daily Sales Report", "completed")
FLAKY_RUN_2 = run_dict(2, "Flaky Pipeline", "failed")
COMPLEX_RUN_3 = run_dict(3, "Complex Pipeline", "completed")
FRAME_RUN_4 = run_dict(4, "Frame Report", "completed")


def overview(name: str, slug: str, task_count: int, runs: list[dict], env: str = "dev") -> dict:
    return {
        "name": name,
        "slug": slug,
        "environment": env,
        "job_version": 1,
        "task_count": task_count,
        "schedule": None,
        "schedule_description": None,
        "state": runs[0]["state"],
        "last_run": runs[0],
        "recent_runs": runs,
        "activity": "<activity>",
    }


def without_activity(workflows: list[dict]) -> list[dict]:
    """`activity` counts runs per (day, UTC hour): checked for its shape and total instead."""
    out = []
    for wf in workflows:
        grid = wf["activity"]
        assert len(grid) == 7 and all(len(day) == 24 for day in grid)
        assert sum(map(sum, grid)) == len(wf["recent_runs"])  # every run started today
        out.append({**wf, "activity": "<activity>"})
    return out


# ---------------------------------------------------------------- dt job ls


def test_job_ls_json_lists_every_workflow_of_dev():
    assert without_activity(masked(dt_json("job", "ls"))) == [
        overview("Complex Pipeline", "complex-pipeline", 6, [COMPLEX_RUN_3]),
        overview("Daily Sales Report", "daily-sales-report", 2, [SALES_RUN_5, SALES_RUN_1]),
        overview("Flaky Pipeline", "flaky-pipeline", 3, [FLAKY_RUN_2]),
        overview("Frame Report", "frame-report", 1, [FRAME_RUN_4]),
    ]


def test_job_ls_env_option_and_variable_pick_prod():
    expected = [
        overview(
            "Daily Sales Report",
            "daily-sales-report",
            2,
            [run_dict(6, "Daily Sales Report", "completed", env="prod")],
            env="prod",
        )
    ]
    assert without_activity(masked(dt_json("job", "ls", "-e", "prod"))) == expected
    assert without_activity(masked(dt_json("job", "ls", "--env", "PROD"))) == expected
    result = dt("job", "ls", "--json", env={"DATATAILR_JOB_ENVIRONMENT": "prod"})
    assert without_activity(masked(json.loads(result.stdout))) == expected
    assert dt_json("job", "ls", "-e", "pre") == []


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["--filter", "pipeline"], ["Complex Pipeline", "Flaky Pipeline"]),
        (["--filter", "SALES"], ["Daily Sales Report"]),
        (["--filter", "daily-sales"], ["Daily Sales Report"]),  # the slug matches too
        (["--filter", "f*t"], ["Frame Report"]),
        (["--filter", "name=*report"], ["Daily Sales Report", "Frame Report"]),
        (["--state", "failed"], ["Flaky Pipeline"]),
        (
            ["--filter", "state=failed,completed", "--filter", "pipeline"],
            ["Complex Pipeline", "Flaky Pipeline"],
        ),
        (["--filter", "report", "--state", "failed"], []),
        (["--state", "none"], []),
    ],
)
def test_job_ls_filters_on_name_and_state(options, names):
    assert [wf["name"] for wf in dt_json("job", "ls", *options)] == names


def test_job_ls_bad_filter_is_a_usage_error():
    result = dt("job", "ls", "--filter", "state=done")
    assert result.exit_code == 2
    assert "unknown state done" in result.stderr


def test_job_ls_plain_table():
    runs = {r["run_id"]: r for wf in dt_json("job", "ls") for r in wf["recent_runs"]}

    def started(run_id: int) -> str:
        return fmt_time(datetime.fromisoformat(runs[run_id]["start_time"]))

    result = dt("job", "ls")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "NAME                VERSION  TASKS  SCHEDULE  STATE      LAST RUN (UTC)       HISTORY (LAST 10)",
        f"Complex Pipeline          1      6  -         completed  {started(3)}  C",
        f"Daily Sales Report        1      2  -         completed  {started(5)}  CC",
        f"Flaky Pipeline            1      3  -         failed     {started(2)}  F",
        f"Frame Report              1      1  -         completed  {started(4)}  C",
    ]
    assert result.stderr == ""


def test_job_ls_empty_says_so():
    result = dt("job", "ls", "--state", "running")
    assert (result.exit_code, result.stdout) == (0, "No workflows matching the filter in dev.\n")


# ---------------------------------------------------------------- dt job get


def _task(id, name, function, dependencies=(), constants=None):
    return {
        "constants": constants or {},
        "dependencies": list(dependencies),
        "env_vars": {},
        "function": function,
        "id": id,
        "module": "cli_workflows",
        "name": name,
        "resources": None,
        "retries": 0,
        "retry_delay": 0.0,
        "system_args": [],
        "timeout": None,
    }


def test_job_get_json_is_definition_versions_and_runs():
    got = masked(dt_json("job", "get", "complex pipeline"))
    source = got.pop("source")
    # what makes the version an image: checked in tests/image and tests/scheduler
    image, environment = got.pop("image"), got.pop("python_environment")
    assert (isinstance(image, dict), isinstance(environment, dict)) == (True, True)
    fingerprints = [t.pop("fingerprint") for t in got["tasks"]]
    assert [len(f) for f in fingerprints] == [64] * 6
    assert got["options"].pop("resources_given") is False
    assert "def reduce_list(*numbers):" in source
    assert got == {
        "name": "Complex Pipeline",
        "slug": "complex-pipeline",
        "environment": "dev",
        "job_version": 1,
        "created_at": T,
        "schedule": None,
        "schedule_description": None,
        "tasks": [
            _task(0, "my_number", "get_number"),
            _task(1, "first_addition", "add", [0], {"b": "13"}),
            _task(2, "num_0", "get_number"),
            _task(3, "num_1", "get_number"),
            _task(4, "reduce_list", "reduce_list", [2, 3]),
            _task(5, "add_one", "add", [4], {"b": "1"}),
        ],
        "options": {
            "env_vars": {},
            "expire_after": None,
            "fail_after": None,
            "max_concurrent_runs": None,
            "platform": {},
            "python_requirements": [],
            "queue": "default",
            "resources": {"cpu": 1.0, "memory": "100m", "vram": None},
        },
        "versions": [{"job_version": 1, "created_at": T, "task_count": 6, "schedule": None, "removed": False}],
        "recent_runs": [COMPLEX_RUN_3],
    }


def test_job_get_plain_shows_tasks_with_their_dependencies():
    result = dt("job", "get", "Complex Pipeline", "--runs", "0")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Complex Pipeline  (complex-pipeline, dev)"
    assert lines[2:5] == ["schedule: none (runs when started)", "tasks:    6", ""]
    assert lines[5:13] == [
        "Tasks",
        "ID  NAME            FUNCTION                   DEPENDS ON    CONSTANTS  RESOURCES  RETRIES  TIMEOUT",
        " 0  my_number       cli_workflows.get_number   -             -          -                0        -",
        " 1  first_addition  cli_workflows.add          my_number     b=13       -                0        -",
        " 2  num_0           cli_workflows.get_number   -             -          -                0        -",
        " 3  num_1           cli_workflows.get_number   -             -          -                0        -",
        " 4  reduce_list     cli_workflows.reduce_list  num_0, num_1  -          -                0        -",
        " 5  add_one         cli_workflows.add          reduce_list   b=1        -                0        -",
    ]
    assert "Recent runs" not in result.stdout


def test_job_get_source_prints_the_code():
    result = dt("job", "get", "daily_sales_report", "--source")
    assert result.exit_code == 0
    # every file of the version's image, each under its path: here the one module
    assert result.stdout.startswith('# ---- cli_workflows.py\n"""Small workflows the CLI tests')
    assert '@workflow(name="Daily Sales Report")\ndef daily_sales_report():' in result.stdout


def test_job_get_unknown_version_and_workflow_are_one_line_errors():
    assert dt_error("job", "get", "daily_sales_report", "--version", "7") == (
        "Error: Workflow 'Daily Sales Report' has no version 7 in 'dev'; versions: [1]."
    )
    assert dt_error("job", "get", "weekly_report") == (
        "Error: No workflow 'weekly_report' in environment 'dev'. Workflows there: "
        "complex-pipeline, daily-sales-report, flaky-pipeline, frame-report."
    )
    assert dt_error("job", "get", "daily_sales_report", "-e", "pre") == (
        "Error: No workflow 'daily_sales_report' in environment 'pre'. It exists in: dev, prod. "
        "Workflows there: (none yet)."
    )


# ---------------------------------------------------------------- dt job runs / versions


def test_job_runs_json_newest_first():
    assert masked(dt_json("job", "runs", "daily-sales-report")) == [SALES_RUN_5, SALES_RUN_1]


def test_job_runs_filters():
    assert masked(dt_json("job", "runs", "Daily Sales Report", "--limit", "1")) == [SALES_RUN_5]
    assert masked(dt_json("job", "runs", "flaky_pipeline", "--state", "failed")) == [FLAKY_RUN_2]
    assert dt_json("job", "runs", "flaky_pipeline", "--state", "completed") == []
    assert masked(dt_json("job", "runs", "daily_sales_report", "--since", "1h")) == [
        SALES_RUN_5,
        SALES_RUN_1,
    ]
    assert dt_json("job", "runs", "daily_sales_report", "--until", "1d") == []
    first = dt_json("job", "runs", "daily_sales_report")[-1]["start_time"]
    # the bounds are inclusive and take ISO 8601 with an offset
    assert [
        r["run_id"] for r in dt_json("job", "runs", "daily_sales_report", "--until", first)
    ] == [1]
    later = (datetime.fromisoformat(first) + timedelta(microseconds=1)).isoformat()
    assert [
        r["run_id"] for r in dt_json("job", "runs", "daily_sales_report", "--since", later)
    ] == [5]


def test_job_runs_plain_table_and_limit_note():
    runs = dt_json("job", "runs", "daily_sales_report")
    result = dt("job", "runs", "daily_sales_report", "-n", "1")
    assert result.exit_code == 0
    start = fmt_time(datetime.fromisoformat(runs[0]["start_time"]))
    duration = f"{runs[0]['duration']:.2f}s"
    assert result.stdout.splitlines() == [
        "RUN_ID  STATE      VERSION  TRIGGER  STARTED (UTC)        DURATION  RERUN OF",
        f"     5  completed        1  local    {start}     {duration}         -",
    ]
    assert result.stderr == "Showing the newest 1 of 2 runs (--limit N for more, 0 for all).\n"


def test_job_versions_json():
    assert masked(dt_json("job", "versions", "daily_sales_report")) == [
        {"job_version": 1, "created_at": T, "task_count": 2, "schedule": None, "removed": False}
    ]


# ---------------------------------------------------------------- dt log read


def test_log_read_latest_run_every_task_json():
    assert dt_json("log", "read", "flaky-pipeline") == {
        "workflow": "Flaky Pipeline",
        "slug": "flaky-pipeline",
        "environment": "dev",
        "run_id": 2,
        "state": "failed",
        "stderr": False,
        "logs": [
            {
                "task_id": 0,
                "task_name": "fetch_data",
                "state": "completed",
                "text": "fetching sales\n",
            },
            {"task_id": 1, "task_name": "explode", "state": "failed", "text": "about to fail\n"},
            {"task_id": 2, "task_name": "calculate_total", "state": "did_not_run", "text": ""},
        ],
    }


def test_log_read_plain_every_task_has_headers_and_skips_empty_ones():
    result = dt("log", "read", "Daily Sales Report")
    assert result.exit_code == 0
    assert result.stdout == (
        "==> fetch_data (task 0, completed) <==\n"
        "fetching sales\n"
        "\n"
        "==> calculate_total (task 1, completed) <==\n"
        "summing 3 days\n"
        "total 450\n"
    )


def test_log_read_one_task_is_exactly_its_stream():
    assert dt("log", "read", "daily_sales_report", "--task", "calculate_total").stdout == (
        "summing 3 days\ntotal 450\n"
    )
    assert dt("log", "read", "daily_sales_report", "-i", "1", "-c", "1", "-r").stdout == (
        "rounding to cents\n"
    )
    assert dt("log", "read", "daily_sales_report", "-t", "calculate_total", "-l", "1").stdout == (
        "total 450\n"
    )


def test_log_read_stderr_has_the_traceback():
    got = dt_json("log", "read", "flaky-pipeline", "--child-num", "1", "--stderr")
    text = got["logs"][0].pop("text")
    assert got == {
        "workflow": "Flaky Pipeline",
        "slug": "flaky-pipeline",
        "environment": "dev",
        "run_id": 2,
        "state": "failed",
        "stderr": True,
        "logs": [{"task_id": 1, "task_name": "explode", "state": "failed"}],
    }
    assert text.startswith("Traceback (most recent call last):\n")
    assert text.endswith("RuntimeError: no sales on 3 days\n")


def test_log_read_of_an_empty_stream_says_so_on_stderr():
    result = dt("log", "read", "flaky-pipeline", "--task", "calculate_total")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "No stdout output from task 'calculate_total' in run 2.\n"


def test_log_read_errors_name_what_exists():
    assert dt_error("log", "read", "flaky-pipeline", "--task", "explod") == (
        "Error: Run 2 of 'Flaky Pipeline' has no task 'explod'; its tasks: fetch_data, explode, "
        "calculate_total."
    )
    assert dt_error("log", "read", "flaky-pipeline", "-c", "9") == (
        "Error: Run 2 of 'Flaky Pipeline' has no task id 9; task ids: [0, 1, 2]."
    )
    assert dt_error("log", "read", "flaky-pipeline", "--run-id", "1") == (
        "Error: Workflow 'Flaky Pipeline' (dev) has no run 1; its latest runs: [2]."
    )


def test_log_read_follow_of_a_finished_run_prints_and_returns():
    result = dt("log", "read", "Daily Sales Report", "--follow")
    assert result.exit_code == 0
    assert result.stdout == (
        "[fetch_data] fetching sales\n[calculate_total] summing 3 days\n[calculate_total] total 450\n"
    )
    assert result.stderr == "Run 5 ended: completed.\n"
    result = dt("log", "read", "Daily Sales Report", "-f", "-t", "calculate_total", "-l", "1")
    assert (result.stdout, result.stderr) == (
        "total 450\n",
        "Task 'calculate_total' ended: completed.\n",
    )


# ---------------------------------------------------------------- dt result get


def test_result_get_prints_the_repr():
    result = dt("result", "get", "daily_sales_report", "--run-id", "1", "--task", "fetch_data")
    assert (result.exit_code, result.stdout) == (0, "{'sales': [100, 200, 150]}\n")
    assert dt("result", "get", "daily_sales_report", "-t", "calculate_total").stdout == "450\n"


def test_result_get_json():
    assert dt_json("result", "get", "daily_sales_report", "-i", "1", "-c", "0") == {
        "workflow": "Daily Sales Report",
        "slug": "daily-sales-report",
        "environment": "dev",
        "run_id": 1,
        "task_id": 0,
        "task_name": "fetch_data",
        "state": "completed",
        "type": "dict",
        "repr": "{'sales': [100, 200, 150]}",
        "value": {"sales": [100, 200, 150]},
        "out": None,
    }


def test_result_get_dataframe(tmp_path):
    pd = pytest.importorskip("pandas")
    expected = pd.DataFrame({"day": ["mon", "tue", "wed"], "sales": [100, 200, 150]})
    result = dt("result", "get", "Frame Report", "-t", "sales_frame")
    assert result.stdout == repr(expected) + "\n"  # pandas' own table when not a terminal
    got = dt_json("result", "get", "Frame Report", "-t", "sales_frame")
    assert got == {
        "workflow": "Frame Report",
        "slug": "frame-report",
        "environment": "dev",
        "run_id": 4,
        "task_id": 0,
        "task_name": "sales_frame",
        "state": "completed",
        "type": f"{type(expected).__module__}.DataFrame",  # pandas 3 says pandas.DataFrame
        "repr": repr(expected),
        "value": None,
        "out": None,
    }
    out = tmp_path / "frame.pkl"
    result = dt("result", "get", "Frame Report", "-t", "sales_frame", "--out", str(out))
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == (
        f"Wrote the result of 'sales_frame' (run 4, {got['type']}) to {out}.\n"
    )
    with open(out, "rb") as f:
        pd.testing.assert_frame_equal(pickle.load(f), expected)


def test_result_get_dataframe_as_a_rich_table_on_a_terminal():
    pytest.importorskip("pandas")
    result = dt("result", "get", "Frame Report", "-t", "sales_frame", env={"FORCE_COLOR": "1"})
    assert result.exit_code == 0
    plain = result.stdout
    for cell in ("day", "sales", "mon", "wed", "150", "[3 rows x 2 columns]"):
        assert cell in plain


def test_result_get_of_a_task_that_did_not_run():
    result = dt("result", "get", "flaky-pipeline", "-t", "calculate_total")
    assert (result.exit_code, result.stdout) == (0, "None\n")
    assert (
        result.stderr
        == "No result stored for task 'calculate_total' of run 2 (it is did_not_run).\n"
    )


def test_result_get_unknown_task_is_one_line():
    assert dt_error("result", "get", "flaky-pipeline", "-t", "nope") == (
        "Error: Run 2 of 'Flaky Pipeline' has no task 'nope'; its tasks: fetch_data, explode, "
        "calculate_total."
    )


# ---------------------------------------------------------------- the real entry point


def test_installed_dt_lists_jobs_as_json():
    proc = dt_process("job", "ls", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [wf["name"] for wf in json.loads(proc.stdout)] == [
        "Complex Pipeline",
        "Daily Sales Report",
        "Flaky Pipeline",
        "Frame Report",
    ]


def test_installed_dt_errors_are_one_line_without_traceback():
    proc = dt_process("log", "read", "weekly_report")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        "Error: No workflow 'weekly_report' in environment 'dev'. Workflows there: "
        "complex-pipeline, daily-sales-report, flaky-pipeline, frame-report.\n"
    )


def test_installed_dt_debug_shows_the_traceback():
    for args in (
        ["--debug", "log", "read", "weekly_report"],
        ["log", "read", "weekly_report", "--debug"],
    ):
        proc = dt_process(*args)
        assert proc.returncode == 1
        assert proc.stderr.startswith("Traceback (most recent call last):")
        assert proc.stderr.rstrip().endswith(
            "datatailr.errors.NotFoundError: No workflow 'weekly_report' in environment 'dev'. "
            "Workflows there: complex-pipeline, daily-sales-report, flaky-pipeline, frame-report."
        )


def test_installed_dt_usage_error_exits_2():
    proc = dt_process("log", "read")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == "Error: Missing argument 'NAME'."


def test_installed_dt_draws_rich_tables_on_a_terminal():
    proc = dt_process("job", "ls", extra_env={"FORCE_COLOR": "1", "COLUMNS": "150"})
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[32mcompleted\x1b[0m" in proc.stdout
    assert "\x1b[1;31mfailed" in proc.stdout
    assert proc.stderr == "History, oldest to newest: C=completed, F=failed.\n"


def test_times_in_json_are_iso_utc():
    run = dt_json("job", "runs", "daily_sales_report")[0]
    for key in ("start_time", "end_time", "created_at"):
        assert datetime.fromisoformat(run[key]).utcoffset() == timedelta(0)
        assert datetime.fromisoformat(run[key]) <= datetime.now(timezone.utc)
