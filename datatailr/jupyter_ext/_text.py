"""The explorer's state as plain text and as a static HTML snapshot.

Pure: the widget's trait values (plain JSON, see _payload.py) in, strings out. The text is
what a terminal IPython shows for ``%dt_runs`` (no widget front end there); the HTML is the
snapshot a saved notebook keeps beside the widget, so a reopened notebook shows what was on
screen with a hint to re-run the cell. Every value is escaped: nothing from a task is markup.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

HINT = "Static snapshot of %dt_runs: run this cell again for the live explorer."
MAX_TASK_ROWS = 40


def _time(iso: Any) -> str:
    """"2026-11-27T13:14:05.123Z" -> "2026-11-27 13:14:05"."""
    if not iso:
        return "—"
    text = str(iso).replace("T", " ")
    return text[:19]


def duration(seconds: Any) -> str:
    if seconds is None:
        return "—"
    s = float(seconds)
    if s < 10:
        return f"{s:.1f} s" if s >= 1 else f"{s:.2f} s"
    if s < 60:
        return f"{round(s)} s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{m}m {sec:02d}s"
    hours, m = divmod(m, 60)
    return f"{hours}h {m:02d}m"


def _state(value: Any) -> str:
    return str(value).replace("_", " ") if value else "never ran"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _workflow_rows(workflows: Sequence[Mapping]) -> list[list[str]]:
    rows = []
    for wf in workflows:
        last = wf.get("last_run") or {}
        rows.append([str(wf.get("name")), f"v{wf.get('job_version')}", str(wf.get("task_count")),
                     _state(wf.get("state")), str(wf.get("schedule") or "manual"),
                     f"#{last['run_id']} {_time(last.get('start_time'))}" if last else "—"])
    return rows


def _run_rows(runs: Sequence[Mapping]) -> list[list[str]]:
    rows = []
    for r in runs:
        tag = f"rerun of #{r['rerun_of']}" if r.get("rerun_of") is not None else str(r.get("trigger") or "")
        rows.append([f"#{r['run_id']}", _state(r.get("state")), _time(r.get("start_time")),
                     duration(r.get("duration")), f"v{r.get('job_version')}", tag])
    return rows


def _task_rows(tasks: Sequence[Mapping]) -> list[list[str]]:
    rows = []
    for t in tasks[:MAX_TASK_ROWS]:
        reused = t.get("result_from_run_id")
        rows.append([str(t.get("name")), _state(t.get("state")), duration(t.get("duration")),
                     f"reused from #{reused}" if reused is not None else ""])
    return rows


def run_line(run: Mapping) -> str:
    """"Run #3 failed · version 2 · 2026-11-27 13:14:05 · 4.2 s · failed at boom: ZeroDivisionError"."""
    parts = [f"Run #{run.get('run_id')} {_state(run.get('state'))}", f"version {run.get('job_version')}",
             _time(run.get("start_time")), duration(run.get("duration"))]
    if run.get("rerun_of") is not None:
        parts.append(f"rerun of #{run['rerun_of']}")
    later = run.get("superseded_by") or []
    if later:
        parts.append("superseded by " + ", ".join(f"#{i}" for i in later))
    failure = run.get("failure")
    if failure:
        where = f"failed at {failure['task_name']}" if failure.get("task_name") else "failed"
        parts.append(f"{where}: {failure.get('error') or 'no error recorded'}")
    return " · ".join(parts)


def _title(state: Mapping) -> str:
    if not state.get("workflow"):
        n = len(state.get("workflows") or [])
        return f"Workflows in {state.get('environment')} ({n})"
    wf = next((w for w in state.get("workflows") or [] if w.get("slug") == state["workflow"]), None)
    name = wf.get("name") if wf else state["workflow"]
    n = state.get("run_count") or 0
    return f"{name} · {state.get('environment')} · {n:,} run{'' if n == 1 else 's'}"


JOB_HEADER = ["Service or app", "Kind", "Version", "State", "URL"]


def _job_rows(jobs: Sequence[Mapping]) -> list[list[str]]:
    return [[str(j.get("name") or ""), str(j.get("kind") or ""), f"v{j.get('job_version')}",
             str(j.get("state") or "never started"), str(j.get("url") or "")] for j in jobs]


def text_view(state: Mapping) -> str:
    """The explorer as text: the overview's workflows, or a workflow's runs and its run."""
    lines = [_title(state), ""]
    if state.get("error"):
        lines += [f"Error: {state['error']}", ""]
    if not state.get("workflow"):
        workflows = state.get("workflows") or []
        if not workflows:
            lines.append(f"No workflows in {state.get('environment')} yet.")
        else:
            lines += _table(["Workflow", "Version", "Tasks", "State", "Schedule", "Last run"],
                            _workflow_rows(workflows))
        jobs = state.get("jobs") or []
        if jobs:
            lines += ["", f"Services and apps ({len(jobs)})"]
            lines += _table(JOB_HEADER, _job_rows(jobs))
        lines += ["", "%dt_runs NAME shows one workflow's runs."]
        return "\n".join(lines)
    runs = state.get("runs") or []
    lines += (_table(["Run", "State", "Start (UTC)", "Duration", "Version", ""], _run_rows(runs))
              if runs else ["No runs."])
    run = state.get("run") or {}
    if run.get("run_id") is not None:
        lines += ["", run_line(run)]
        tasks = run.get("tasks") or []
        if tasks:
            lines += _table(["Task", "State", "Duration", ""], _task_rows(tasks))
            if len(tasks) > MAX_TASK_ROWS:
                lines.append(f"... and {len(tasks) - MAX_TASK_ROWS} more tasks")
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    esc = html.escape
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding:2px 8px'>{esc(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def snapshot_html(state: Mapping) -> str:
    """The static snapshot: the same content as ``text_view`` as escaped HTML tables."""
    esc = html.escape
    parts = ["<div class='dt-snapshot' data-dt-snapshot='1'>",
             f"<p><b>{esc(_title(state))}</b></p>",
             f"<p><i>{esc(HINT)}</i></p>"]
    if not state.get("workflow"):
        parts.append(_html_table(["Workflow", "Version", "Tasks", "State", "Schedule", "Last run"],
                                 _workflow_rows(state.get("workflows") or [])))
        if state.get("jobs"):
            parts.append(f"<p><b>{esc('Services and apps')}</b></p>")
            parts.append(_html_table(JOB_HEADER, _job_rows(state["jobs"])))
    else:
        parts.append(_html_table(["Run", "State", "Start (UTC)", "Duration", "Version", ""],
                                 _run_rows(state.get("runs") or [])))
        run = state.get("run") or {}
        if run.get("run_id") is not None:
            parts.append(f"<p>{esc(run_line(run))}</p>")
            parts.append(_html_table(["Task", "State", "Duration", ""], _task_rows(run.get("tasks") or [])))
    parts.append("</div>")
    return "".join(parts)
