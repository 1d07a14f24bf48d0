"""The pure payload module: public API dicts and values -> the front end's JSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from datatailr.jupyter_ext import _payload as p

T0 = datetime(2026, 11, 27, 13, 14, 5, 123456, tzinfo=timezone.utc)


def run_dict(**over):
    run = {"run_id": 12, "workflow": "Daily Sales Report", "slug": "daily-sales-report",
           "environment": "dev", "state": "completed", "job_version": 3, "start_time": T0,
           "end_time": T0 + timedelta(seconds=1.5), "created_at": T0 - timedelta(seconds=1),
           "duration": 1.5, "original_run_id": None, "rerun_of": None, "full": False,
           "trigger": "local", "scheduled_time": None}
    run.update(over)
    return run


def test_iso_is_utc_with_z():
    assert p.iso(T0) == "2026-11-27T13:14:05.123456Z"
    assert p.iso(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    plus2 = timezone(timedelta(hours=2))
    assert p.iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=plus2)) == "2026-01-02T01:04:05Z"
    assert p.iso(None) is None


def test_run_json():
    assert p.run_json(run_dict()) == {
        "run_id": 12, "state": "completed", "job_version": 3,
        "start_time": "2026-11-27T13:14:05.123456Z", "end_time": "2026-11-27T13:14:06.623456Z",
        "created_at": "2026-11-27T13:14:04.123456Z", "duration": 1.5, "original_run_id": None,
        "rerun_of": None, "full": False, "trigger": "local", "scheduled_time": None}


def test_run_json_of_a_running_rerun():
    out = p.run_json(run_dict(state="running", end_time=None, duration=None, original_run_id=3,
                              rerun_of=7, full=1, trigger="rerun"))
    assert {k: out[k] for k in ("state", "end_time", "duration", "original_run_id", "rerun_of",
                                "full", "trigger")} == {
        "state": "running", "end_time": None, "duration": None, "original_run_id": 3,
        "rerun_of": 7, "full": True, "trigger": "rerun"}
    json.dumps(out)


def test_workflow_json_keeps_the_overview_fields_and_10_compact_runs():
    runs = [run_dict(run_id=i, state="failed" if i % 4 == 0 else "completed") for i in range(20, 8, -1)]
    activity = [[0] * 24 for _ in range(7)]
    activity[6][13] = 5
    summary = {"name": "Daily Sales Report", "slug": "daily-sales-report", "environment": "dev",
               "job_version": 3, "task_count": 2, "schedule": "0 6 * * *",
               "schedule_description": "At 06:00 AM", "state": "failed", "last_run": runs[0],
               "recent_runs": runs, "activity": activity}
    out = p.workflow_json(summary)
    assert out == {
        "name": "Daily Sales Report", "slug": "daily-sales-report", "environment": "dev",
        "job_version": 3, "task_count": 2, "schedule": "0 6 * * *",
        "schedule_description": "At 06:00 AM", "state": "failed", "last_run": p.run_json(runs[0]),
        "recent_runs": [{"run_id": i, "state": "failed" if i % 4 == 0 else "completed",
                         "start_time": "2026-11-27T13:14:05.123456Z", "duration": 1.5}
                        for i in range(20, 10, -1)],
        "activity": activity}
    json.dumps(out)


def test_details_json_with_tasks():
    details = run_dict(error=None, tasks=[
        {"id": 0, "name": "fetch_data", "state": "completed", "dependencies": [],
         "start_time": T0, "end_time": T0 + timedelta(seconds=0.25), "resources": {"cpu": 1},
         "attempts": 1, "error": None, "result_from_run_id": None},
        {"id": 1, "name": "calculate_total", "state": "did_not_run", "dependencies": [0],
         "start_time": None, "end_time": None, "resources": None, "attempts": 0,
         "error": None, "result_from_run_id": 9},
    ])
    out = p.details_json(details)
    assert out["tasks"] == [
        {"id": 0, "name": "fetch_data", "state": "completed", "dependencies": [],
         "start_time": "2026-11-27T13:14:05.123456Z", "end_time": "2026-11-27T13:14:05.373456Z",
         "attempts": 1, "error": None, "result_from_run_id": None, "duration": 0.25,
         "resources": {"cpu": 1}, "reused": False},
        {"id": 1, "name": "calculate_total", "state": "did_not_run", "dependencies": [0],
         "start_time": None, "end_time": None, "attempts": 0, "error": None,
         "result_from_run_id": 9, "duration": None, "reused": True}]
    assert (out["run_id"], out["error"], out["failure"], out["reused_count"],
            out["executed_count"]) == (12, None, None, 1, 1)
    json.dumps(out)


def test_details_json_says_where_a_run_failed_and_shows_usage_fields_when_given():
    details = run_dict(state="failed", error="1 task failed", tasks=[
        {"id": 0, "name": "extract", "state": "completed", "start_time": T0, "end_time": T0,
         "peak_rss": 52_428_800, "cpu_seconds": 0.5, "host": "box1", "worker": None},
        {"id": 1, "name": "boom", "state": "failed", "dependencies": [0],
         "start_time": T0 + timedelta(seconds=1), "end_time": T0 + timedelta(seconds=2),
         "error": "Traceback (most recent call last):\n  ...\nZeroDivisionError: division by zero\n"},
        {"id": 2, "name": "late", "state": "failed_after", "dependencies": [0],
         "start_time": T0 + timedelta(seconds=3), "error": "x"},
    ])
    out = p.details_json(details)
    assert out["failure"] == {"task_id": 1, "task_name": "boom",
                              "error": "ZeroDivisionError: division by zero", "count": 2}
    assert {k: out["tasks"][0].get(k) for k in ("peak_rss", "cpu_seconds", "host")} == {
        "peak_rss": 52_428_800, "cpu_seconds": 0.5, "host": "box1"}
    assert "worker" not in out["tasks"][0]


def test_a_run_error_without_a_failed_task_is_still_the_failure():
    out = p.details_json(run_dict(state="failed", error="Could not start: no image\n", tasks=[]))
    assert out["failure"] == {"task_id": None, "task_name": None, "error": "Could not start: no image"}


def test_line_counts_search_and_the_logs_line():
    assert [p.count_lines(t) for t in ("", "a", "a\n", "a\nb", "a\n\nb\n")] == [0, 1, 1, 2, 3]
    text = "".join(f"line {i}\n" for i in range(1, 20_002))
    hits, total = p.search_lines(text, "LINE 2000", limit=3)
    assert (hits, total) == ([[2000, "line 2000"], [20000, "line 20000"], [20001, "line 20001"]], 3)
    assert p.logs_code("Frame Report", "dev", 3, "make_frame", stderr=True, lines=40) == (
        "Workflow(name='Frame Report', environment='dev', get_existing=True)"
        ".logs(run_id=3, task_name='make_frame', stderr=True, lines=40)")
    assert p.logs_code("Frame Report", "dev", 3, "make_frame", lines=2, attempt=2) == (
        "Workflow(name='Frame Report', environment='dev', get_existing=True)"
        ".logs(run_id=3, task_name='make_frame', lines=2, attempt=2)")


def test_definition_json_diffs_the_source_against_the_version_before():
    d = {"name": "W", "job_version": 2, "created_at": T0, "source": "a\nb\n", "tasks": [],
         "options": {}, "schedule": None}
    out = p.definition_json(d, "a\n")
    assert out["diff"] == "--- version 1\n+++ version 2\n@@ -1 +1,2 @@\n a\n+b\n"
    assert out["created_at"] == "2026-11-27T13:14:05.123456Z"
    assert p.definition_json({**d, "job_version": 1}, None)["diff"] is None


def test_log_tail():
    assert p.log_tail("a\nb\nc\n", max_lines=5) == ("a\nb\nc\n", False)
    assert p.log_tail("a\nb\nc\n", max_lines=2) == ("b\nc\n", True)
    assert p.log_tail("x" * 10, max_lines=5, max_chars=4) == ("xxxx", True)
    assert p.log_tail(None) == ("", False)


def test_preview_of_a_dataframe_is_a_table_with_its_shape():
    frame = pd.DataFrame({"region": ["north", "<b>south</b>"], "sales": [100, 250.5]})
    assert p.preview_value(frame) == {
        "kind": "table", "type": "pandas.DataFrame", "summary": "2 rows × 2 columns",
        "shape": [2, 2], "columns": ["region", "sales"], "dtypes": [str(frame.dtypes["region"]), "float64"],
        "index": ["0", "1"], "index_name": "", "rows": [["north", "100.0"], ["<b>south</b>", "250.5"]],
        "truncated_rows": False, "truncated_columns": False}


def test_dataframe_floats_show_pandas_precision_not_17_digits():
    import numpy as np

    frame = pd.DataFrame({"x": [0.1 + 0.2, 1 / 3, float("nan")], "y": np.array([2 / 3, 1e-9, 5], dtype="float32")})
    assert p.preview_value(frame)["rows"] == [["0.3", "0.666667"], ["0.333333", "0.0"], ["nan", "5.0"]]
    with pd.option_context("display.precision", 2):
        assert p.preview_value(frame["x"])["rows"] == [["0.3"], ["0.33"], ["nan"]]


def test_preview_of_a_large_dataframe_is_cut():
    frame = pd.DataFrame({f"c{i}": range(1000) for i in range(40)}).rename_axis("row")
    out = p.preview_value(frame, max_rows=3, max_columns=2)
    assert out == {
        "kind": "table", "type": "pandas.DataFrame", "summary": "1,000 rows × 40 columns",
        "shape": [1000, 40], "columns": ["c0", "c1"], "dtypes": ["int64", "int64"],
        "index": ["0", "1", "2"], "index_name": "row",
        "rows": [["0", "0"], ["1", "1"], ["2", "2"]],
        "truncated_rows": True, "truncated_columns": True}


def test_preview_of_a_series():
    out = p.preview_value(pd.Series([1, 2, 3], name="n"), max_rows=2)
    assert out == {
        "kind": "table", "type": "pandas.Series", "summary": "3 rows · dtype int64",
        "shape": [3, 1], "columns": ["n"], "dtypes": ["int64"], "index": ["0", "1"],
        "index_name": "", "rows": [["1"], ["2"]], "truncated_rows": True,
        "truncated_columns": False}


def test_preview_of_plain_values():
    assert p.preview_value(None) == {"kind": "none", "type": "NoneType", "summary": ""}
    assert p.preview_value({"sales": [100, 200]}) == {
        "kind": "text", "type": "dict", "summary": "1 item", "text": "{'sales': [100, 200]}",
        "length": 21, "truncated": False}
    assert p.preview_value("<script>alert(1)</script>") == {
        "kind": "text", "type": "str", "summary": "25 characters",
        "text": "<script>alert(1)</script>", "length": 25, "truncated": False}
    assert p.preview_value(450) == {"kind": "text", "type": "int", "summary": "", "text": "450",
                                    "length": 3, "truncated": False}


def test_preview_of_a_huge_list_is_bounded():
    out = p.preview_value(list(range(1_000_000)))
    assert (out["kind"], out["summary"], out["truncated"]) == ("text", "1,000,000 items", False)
    assert out["text"].endswith(", ...]") and len(out["text"]) < 1000


def test_preview_of_a_long_string_is_truncated():
    out = p.preview_value("x" * 50, max_chars=10)
    assert out == {"kind": "text", "type": "str", "summary": "50 characters", "text": "x" * 10,
                   "length": 50, "truncated": True}


class Broken:
    def __repr__(self):
        raise RuntimeError("no repr for you")


class Picture:
    def _repr_png_(self):
        return b"\x89PNG fake"

    def __repr__(self):
        return "<Picture>"


def test_preview_of_odd_objects():
    assert p.preview_value(Broken()) == {
        "kind": "error", "type": f"{__name__}.Broken", "summary": "",
        "text": f"Could not show this {__name__}.Broken: RuntimeError: no repr for you"}
    assert p.preview_value(Picture()) == {
        "kind": "image", "type": f"{__name__}.Picture", "summary": "", "mime": "image/png",
        "data": "iVBORyBmYWtl", "text": "<Picture>"}


@pytest.mark.parametrize(("task_name", "run_id", "taken", "expected"), [
    ("fetch_data", 12, (), "fetch_data_12"),
    ("add-1", 3, (), "add_1_3"),
    ("My Task!", 4, (), "my_task_4"),
    ("3rd step", 5, (), "task_3rd_step_5"),
    ("ünïcode", 6, (), "n_code_6"),
    ("###", 7, (), "result_7"),
    ("fetch_data", 12, {"fetch_data_12", "fetch_data_12_2"}, "fetch_data_12_3"),
])
def test_variable_name(task_name, run_id, taken, expected):
    assert p.variable_name(task_name, run_id, taken) == expected


def test_load_code_is_the_public_api_call():
    assert p.load_code("Daily Sales Report", "dev", 12, "fetch_data", "fetch_data_12") == (
        "from datatailr import Workflow\n\n"
        "fetch_data_12 = Workflow(name='Daily Sales Report', environment='dev', "
        "get_existing=True).result(run_id=12, task_name='fetch_data')\n"
        "fetch_data_12")


def test_payload_module_is_pure():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(p.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported == {"__future__", "base64", "collections", "datetime", "difflib", "keyword",
                        "pprint", "re", "reprlib", "sys", "typing"}
