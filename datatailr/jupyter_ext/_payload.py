"""Public API objects -> the plain JSON the explorer's front end gets.

Pure: dicts and values in (the shapes of docs/public-api.md), JSON-safe dicts out. No I/O, no
widget, no IPython, no pandas import (DataFrames are recognised by duck typing). Times become
ISO 8601 UTC strings ending in "Z"; names stay the same as everywhere (`run_id`, `task_id`,
`task_name`, `job_version`, `state`).

Results are previewed, never shipped whole: a DataFrame as its first rows and columns as
strings, anything else as bounded text. The front end shows all of it as text.
"""

from __future__ import annotations

import base64
import difflib
import keyword
import pprint
import re
import reprlib
import sys
from collections.abc import Container, Mapping
from datetime import datetime, timezone
from typing import Any

#: How much of a task's log the explorer shows (the rest is a `logs(..., lines=N)` call away).
LOG_LINES = 1000
LOG_CHARS = 200_000
#: Result previews.
MAX_ROWS = 50
MAX_COLUMNS = 30
MAX_CELL_CHARS = 200
MAX_TEXT_CHARS = 20_000
MAX_PNG_BYTES = 2_000_000
#: Containers with more elements than this are shown with reprlib, not pretty-printed.
PRETTY_BUDGET = 2_000

RUN_FIELDS = (
    "run_id", "state", "job_version", "start_time", "end_time", "created_at", "duration",
    "original_run_id", "rerun_of", "full", "trigger", "scheduled_time",
)
TASK_FIELDS = (
    "id", "name", "state", "dependencies", "start_time", "end_time", "attempts", "error",
    "result_from_run_id",
)
#: Task fields shown when run_details() gives them (where it ran, what it used).
OPTIONAL_TASK_FIELDS = ("resources", "peak_rss", "cpu_seconds", "host", "worker")
FAILED_STATES = frozenset({"failed", "failed_after"})


def iso(value: Any) -> str | None:
    """A datetime as ISO 8601 UTC ("2026-11-27T13:14:05.123456Z"); None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)


def _plain(value: Any) -> Any:
    """JSON-safe: datetimes to ISO strings, containers recursively, the rest as str."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return str(value)


def _duration(item: Mapping) -> float | None:
    duration = item.get("duration")
    if duration is not None:
        return float(duration)
    start, end = item.get("start_time"), item.get("end_time")
    if isinstance(start, datetime) and isinstance(end, datetime):
        return (end - start).total_seconds()
    return None


def run_json(run: Mapping) -> dict:
    """A run dict (runs(), last_run, run_details() without tasks) for the run table."""
    out = {k: _plain(run.get(k)) for k in RUN_FIELDS}
    out["duration"] = _duration(run)
    out["full"] = bool(run.get("full"))
    return out


def workflow_json(summary: Mapping) -> dict:
    """One entry of list_workflows() for the overview: the last 10 runs kept compact."""
    recent = [
        {"run_id": r.get("run_id"), "state": r.get("state"), "start_time": iso(r.get("start_time")),
         "duration": _duration(r)}
        for r in (summary.get("recent_runs") or [])[:10]
    ]
    activity = summary.get("activity") or [[0] * 24 for _ in range(7)]
    return {
        "name": summary.get("name"),
        "slug": summary.get("slug"),
        "environment": summary.get("environment"),
        "job_version": summary.get("job_version"),
        "task_count": summary.get("task_count"),
        "schedule": summary.get("schedule"),
        "schedule_description": summary.get("schedule_description"),
        "state": summary.get("state"),
        "last_run": run_json(summary["last_run"]) if summary.get("last_run") else None,
        "recent_runs": recent,
        "activity": [[int(c) for c in row] for row in activity],
    }


def job_json(job: Mapping) -> dict:
    """One entry of list_jobs() (a service, app or Excel add-in) for the overview. ``url`` is
    kept only when it is an http(s) address: the front end shows it as a link's text."""
    url = job.get("url")
    return {
        "name": job.get("name"),
        "slug": job.get("slug"),
        "kind": job.get("job_type"),
        "framework": job.get("framework"),
        "job_version": job.get("job_version"),
        "running_version": job.get("running_version"),
        "state": job.get("state"),
        "url": url if isinstance(url, str) and re.match(r"https?://[^\s]+$", url) else None,
        "last_start": iso(job.get("last_start")),
        "starts": int(job.get("starts") or 0),
    }


def task_json(task: Mapping) -> dict:
    out = {k: _plain(task.get(k)) for k in TASK_FIELDS}
    for key in OPTIONAL_TASK_FIELDS:
        if task.get(key) is not None:
            out[key] = _plain(task[key])
    out["dependencies"] = [int(d) for d in (task.get("dependencies") or [])]
    out["attempts"] = int(task.get("attempts") or 0)
    out["duration"] = _duration(task)
    # A partial rerun's completed tasks may come from an earlier run: not executed here.
    out["reused"] = out["result_from_run_id"] is not None
    return out


def failure(tasks: list[dict], run_error: Any = None) -> dict | None:
    """Where a run failed: the first failed task (by start time) and its error's last line."""
    failed = [t for t in tasks if t.get("state") in FAILED_STATES]
    if not failed:
        return {"task_id": None, "task_name": None, "error": last_line(run_error)} if run_error else None
    first = min(failed, key=lambda t: (t.get("start_time") or "", t["id"]))
    return {"task_id": first["id"], "task_name": first["name"],
            "error": last_line(first.get("error")) or last_line(run_error),
            "count": len(failed)}


def last_line(text: Any) -> str:
    """The last non-empty line of an error (a traceback ends with the exception)."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def details_json(details: Mapping) -> dict:
    """run_details(): the run's fields, its error and every task of the version that ran."""
    out = run_json(details)
    out["error"] = details.get("error")
    out["tasks"] = [task_json(t) for t in details.get("tasks") or []]
    out["failure"] = failure(out["tasks"], out["error"])
    reused = sum(1 for t in out["tasks"] if t["reused"])
    out["reused_count"] = reused
    out["executed_count"] = sum(1 for t in out["tasks"] if not t["reused"]
                                and t["state"] not in ("pending", "scheduled", "did_not_run"))
    return out


def version_json(version: Mapping) -> dict:
    out = {"job_version": version.get("job_version"), "created_at": iso(version.get("created_at")),
           "task_count": version.get("task_count"), "schedule": version.get("schedule")}
    for key, value in version.items():  # more fields (image, environment...) when given
        if key not in out and value is not None:
            out[key] = _plain(value)
    return out


def definition_json(definition: Mapping, previous_source: str | None = None) -> dict:
    """Workflow.definition(version): source, tasks, options, schedule; and the source's diff
    against the version before it (unified diff text, "" when there is none)."""
    out = {str(k): _plain(v) for k, v in definition.items()}
    source = str(definition.get("source") or "")
    out["source"] = source
    if previous_source is None:
        out["diff"] = None
    else:
        version = int(definition.get("job_version") or 0)
        out["diff"] = "".join(difflib.unified_diff(
            previous_source.splitlines(keepends=True), source.splitlines(keepends=True),
            fromfile=f"version {version - 1}", tofile=f"version {version}"))
    return out


def count_lines(text: str | None) -> int:
    """Lines as a reader counts them: a last line without its newline still counts."""
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def search_lines(text: str, query: str, limit: int = 500) -> tuple[list[list[Any]], int]:
    """[line number (1-based), line] of lines containing ``query`` (case-insensitive), at most
    ``limit`` of them, and how many there are in all."""
    q = query.lower()
    hits: list[list[Any]] = []
    total = 0
    for number, line in enumerate(text.splitlines(), 1):
        if q in line.lower():
            total += 1
            if len(hits) < limit:
                hits.append([number, line[:MAX_TEXT_CHARS]])
    return hits, total


#: logs(lines=...) takes a whole number: this many is "all of it".
ALL_LINES = 2**62


def logs_code(workflow_name: str, environment: str, run_id: int, task_name: str,
              stderr: bool = False, lines: int = 5000, attempt: int | None = None) -> str:
    """The line that reads a task's whole log (``lines`` of it; of one ``attempt`` only when
    given) through the public API."""
    return (f"Workflow(name={workflow_name!r}, environment={environment!r}, get_existing=True)"
            f".logs(run_id={int(run_id)}, task_name={task_name!r}"
            + (", stderr=True" if stderr else "") + f", lines={max(1, int(lines))}"
            + (f", attempt={int(attempt)}" if attempt is not None else "") + ")")


def log_tail(text: str | None, max_lines: int = LOG_LINES, max_chars: int = LOG_CHARS) -> tuple[str, bool]:
    """The end of a log and whether anything was cut. Fetch ``max_lines + 1`` lines to know."""
    text = text or ""
    lines = text.splitlines(keepends=True)
    truncated = len(lines) > max_lines
    if truncated:
        text = "".join(lines[-max_lines:])
    if len(text) > max_chars:
        text, truncated = text[-max_chars:], True
    return text, truncated


# -- results ---------------------------------------------------------------------------------


def type_name(value: Any) -> str:
    """"dict", "pandas.DataFrame", "numpy.ndarray", "mymodule.Thing"."""
    cls = type(value)
    module = cls.__module__ or ""
    if module == "builtins":
        return cls.__qualname__
    root = module.split(".")[0]
    if root in ("pandas", "numpy", "polars"):
        return f"{root}.{cls.__qualname__}"
    return f"{module}.{cls.__qualname__}"


def _is_pandas(value: Any, name: str) -> bool:
    cls = type(value)
    module = cls.__module__ or ""
    return cls.__name__ == name and (module == "pandas" or module.startswith("pandas."))


def _cell(value: Any, limit: int = MAX_CELL_CHARS) -> str:
    try:
        text = str(value)
    except Exception as exc:  # a broken __str__ must not break the preview
        text = f"<str() failed: {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _float_cell(value: Any, precision: int) -> str | None:
    """A float as pandas shows it (rounded to ``display.precision`` digits, 6 by default)
    rather than its 17-digit repr; None for anything that is not a float."""
    cls = type(value)
    if not (isinstance(value, float) or (cls.__module__ == "numpy" and "float" in cls.__name__)):
        return None
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        return str(number)
    return repr(round(number, precision))


def _display_precision() -> int:
    pandas = sys.modules.get("pandas")
    try:
        return int(pandas.get_option("display.precision")) if pandas else 6
    except Exception:  # an odd pandas: the pandas default
        return 6


def _table_cell(value: Any, precision: int) -> str:
    text = _float_cell(value, precision)
    return _cell(value) if text is None else text


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _frame_preview(frame: Any, max_rows: int, max_columns: int) -> dict:
    rows_total, cols_total = (int(x) for x in frame.shape)
    part = frame.iloc[:max_rows, :max_columns]
    values = part.to_numpy(dtype=object).tolist()
    precision = _display_precision()
    index_name = frame.index.name
    return {
        "kind": "table",
        "type": type_name(frame),
        "summary": f"{_count(rows_total, 'row')} × {_count(cols_total, 'column')}",
        "shape": [rows_total, cols_total],
        "columns": [_cell(c) for c in part.columns],
        "dtypes": [str(t) for t in part.dtypes],
        "index": [_cell(i) for i in part.index],
        "index_name": "" if index_name is None else _cell(index_name),
        "rows": [[_table_cell(v, precision) for v in row] for row in values],
        "truncated_rows": rows_total > len(values),
        "truncated_columns": cols_total > len(part.columns),
    }


def _series_preview(series: Any, max_rows: int) -> dict:
    n = int(series.shape[0])
    part = series.iloc[:max_rows]
    name = series.name
    return {
        "kind": "table",
        "type": type_name(series),
        "summary": f"{_count(n, 'row')} · dtype {series.dtype}",
        "shape": [n, 1],
        "columns": ["" if name is None else _cell(name)],
        "dtypes": [str(series.dtype)],
        "index": [_cell(i) for i in part.index],
        "index_name": "" if series.index.name is None else _cell(series.index.name),
        "rows": [[_table_cell(v, _display_precision())] for v in part.tolist()],
        "truncated_rows": n > len(part),
        "truncated_columns": False,
    }


def _small(value: Any, budget: int) -> bool:
    """True if nested builtin containers hold at most ``budget`` elements in all."""
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list, tuple, set, frozenset)):
            seen += len(item)
            if seen > budget:
                return False
            stack.extend(item.values() if isinstance(item, dict) else item)
            if isinstance(item, dict):
                stack.extend(item.keys())
        elif isinstance(item, (str, bytes)) and len(item) > MAX_TEXT_CHARS:
            return False
    return True


_REPR = reprlib.Repr()
_REPR.maxlevel = 6
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = 100
_REPR.maxdeque = _REPR.maxarray = 100
_REPR.maxstring = _REPR.maxother = 2_000
_REPR.maxlong = 400


def _summary(value: Any) -> str:
    if isinstance(value, str):
        return _count(len(value), "character")
    if isinstance(value, (bytes, bytearray)):
        return _count(len(value), "byte")
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return _count(len(value), "item")
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        dtype = getattr(value, "dtype", None)
        return f"shape {shape}" + (f" · dtype {dtype}" if dtype is not None else "")
    return ""


def preview_value(value: Any, *, max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS,
                  max_chars: int = MAX_TEXT_CHARS) -> dict:
    """A bounded, JSON-safe picture of a task's return value.

    ``{"kind": "none"}`` for None; ``"table"`` for a pandas DataFrame or Series (first rows and
    columns as strings, with the full shape); ``"image"`` for objects with a PNG repr (a base64
    PNG, shown in an <img>); ``"text"`` for everything else: a str itself, small containers
    pretty-printed, the rest their repr, cut at ``max_chars``; ``"error"`` if even that fails.
    """
    if value is None:
        return {"kind": "none", "type": "NoneType", "summary": ""}
    try:
        if _is_pandas(value, "DataFrame"):
            return _frame_preview(value, max_rows, max_columns)
        if _is_pandas(value, "Series"):
            return _series_preview(value, max_rows)
        if not isinstance(value, type) and callable(getattr(value, "_repr_png_", None)):
            png = value._repr_png_()
            if isinstance(png, bytes) and 0 < len(png) <= MAX_PNG_BYTES:
                return {"kind": "image", "type": type_name(value), "summary": _summary(value),
                        "mime": "image/png", "data": base64.b64encode(png).decode("ascii"),
                        "text": _cell(repr(value))}
        if isinstance(value, str):
            text = value
        elif isinstance(value, (dict, list, tuple, set, frozenset)) and _small(value, PRETTY_BUDGET):
            text = pprint.pformat(value, width=100, sort_dicts=False)
        elif isinstance(value, (dict, list, tuple, set, frozenset, bytes, bytearray)):
            text = _REPR.repr(value)
        else:
            text = repr(value)
    except Exception as exc:
        return {"kind": "error", "type": type_name(value), "summary": "",
                "text": f"Could not show this {type_name(value)}: {type(exc).__name__}: {exc}"}
    length = len(text)
    return {"kind": "text", "type": type_name(value), "summary": _summary(value),
            "text": text[:max_chars], "length": length, "truncated": length > max_chars}


# -- loading a result into the kernel --------------------------------------------------------


def variable_name(task_name: str, run_id: int, taken: Container[str] = ()) -> str:
    """A readable Python identifier for a task's result: ``fetch_data_12``; ``_2``, ``_3``...
    when the name is in ``taken``."""
    base = re.sub(r"\W+", "_", str(task_name), flags=re.ASCII).strip("_").lower() or "result"
    if base[0].isdigit():
        base = f"task_{base}"
    name = f"{base}_{int(run_id)}"
    if keyword.iskeyword(name):  # cannot happen with the suffix, kept for safety
        name += "_"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def load_code(workflow_name: str, environment: str, run_id: int, task_name: str,
              variable: str) -> str:
    """The cell that loads a task's result through the public API."""
    return (
        "from datatailr import Workflow\n\n"
        f"{variable} = Workflow(name={workflow_name!r}, environment={environment!r}, "
        f"get_existing=True).result(run_id={int(run_id)}, task_name={task_name!r})\n"
        f"{variable}"
    )
