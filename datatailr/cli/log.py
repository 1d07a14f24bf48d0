"""``dt log read``: the captured stdout/stderr of a run's tasks, once or followed live.

Reads through ``Workflow.logs``/``run_details`` only; --follow polls them until the task (or
the run) has finished, printing what was added since the last look.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

import click

from datatailr.cli import _api
from datatailr.cli._options import CONTEXT_SETTINGS, FINISHED_STATES, common_options
from datatailr.cli._render import emit_json, emit_json_line, flush_stdout, note, wants_rich

#: Asked of the API when following, so the text only grows between two looks.
_ALL_LINES = sys.maxsize
_NOT_STARTED = frozenset({"pending", "scheduled"})


@click.group(context_settings=CONTEXT_SETTINGS)
def log() -> None:
    """Task logs.

    \b
    Examples:
      dt log read daily_sales_report
      dt log read daily_sales_report -i 42 --task fetch_data --stderr
      dt log read daily_sales_report -f
    """


def _tail(text: str, lines: int) -> str:
    """The last ``lines`` lines of ``text``."""
    if lines <= 0:
        return ""
    parts = text.splitlines(keepends=True)
    return "".join(parts[-lines:])


def _task_info(
    details: Mapping[str, Any], task_name: str | None, task_id: int | None
) -> dict[str, Any] | None:
    for task in details.get("tasks") or []:
        if task_id is not None and task.get("id") == task_id:
            return task
        if task_id is None and task_name is not None and task.get("name") == task_name:
            return task
    return None


@log.command(
    "read",
    short_help="Print (or follow) the logs of a run's tasks.",
    context_settings=CONTEXT_SETTINGS,
)
@click.argument("name")
@click.option(
    "--run-id",
    "-i",
    "run_id",
    type=int,
    default=None,
    help="The run to read (default: the latest run of the workflow).",
)
@click.option(
    "--task",
    "-t",
    "task_name",
    default=None,
    help="The task's name (default: every task of the run).",
)
@click.option(
    "--child-num",
    "-c",
    "task_id",
    type=int,
    default=None,
    help="The task's id instead of its name (reaches renamed or removed tasks).",
)
@click.option("--stderr", "-r", is_flag=True, help="Read stderr instead of stdout.")
@click.option(
    "--attempt",
    "-a",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="With --task or --child-num: only attempt N of a retried task (default: every "
    "attempt, oldest first).",
)
@click.option(
    "--lines",
    "-l",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Show at most the last N lines of each task.",
)
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep printing new output until the task (or, without a task, the run) ends.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    metavar="SECONDS",
    help="With --follow: how often to look for new output.",
)
@common_options
@_api.reads_only(when=lambda params: not params["follow"])
def read_command(
    name: str,
    run_id: int | None,
    task_name: str | None,
    task_id: int | None,
    stderr: bool,
    attempt: int | None,
    lines: int,
    follow: bool,
    interval: float,
    env: str,
    as_json: bool,
) -> None:
    """Print the logs of a run's tasks: stdout, or stderr with -r (a failed task's traceback
    is there). The latest run by default; every task unless --task or --child-num picks one.

    \b
    Examples:
      dt log read daily_sales_report
      dt log read daily_sales_report --run-id 42 --task fetch_data
      dt log read daily_sales_report -i 42 -c 0 -r -l 50
      dt log read daily_sales_report -i 42 --task fetch_data --attempt 2
      dt log read daily_sales_report --task calculate_total --follow
      dt log read daily_sales_report --json
    """
    if task_name is not None and task_id is not None:
        raise click.UsageError("--task and --child-num each pick a task: give one of them.")
    if attempt is not None and (task_name is None and task_id is None or follow):
        raise click.UsageError("--attempt reads one attempt of one task: give --task (or "
                               "--child-num), and no --follow.")
    wf = _api.open_workflow(name, env)
    if run_id is None:
        run_id = _api.latest_run_id(wf)
    details = wf.run_details(run_id)
    single = task_name is not None or task_id is not None
    if single:
        # Ask the API first: its error names the valid tasks when this one does not exist.
        wf.logs(run_id, task_name=task_name, stderr=stderr, lines=1, task_id=task_id,
                attempt=attempt)
        info = _task_info(details, task_name, task_id)
        targets = [info or {"id": task_id, "name": task_name, "state": None}]
    else:
        targets = list(details.get("tasks") or [])

    if follow:
        _follow(
            wf,
            run_id,
            [t["id"] for t in targets if t.get("id") is not None] if single else None,
            stderr,
            lines,
            interval,
            as_json,
        )
        return

    entries: list[dict[str, Any]] = []
    for task in targets:
        text = _read(wf, run_id, task, stderr, lines, attempt)
        entries.append(
            {
                "task_id": task.get("id"),
                "task_name": task.get("name"),
                "state": task.get("state"),
                "text": text,
            }
        )
    if as_json:
        emit_json(
            {
                "workflow": details.get("workflow", _api.display_name(wf)),
                "slug": details.get("slug"),
                "environment": details.get("environment", env),
                "run_id": run_id,
                "state": details.get("state"),
                "stderr": stderr,
                "logs": entries,
            }
        )
        return
    stream = "stderr" if stderr else "stdout"
    if single or len(entries) == 1:
        click.echo(entries[0]["text"] if entries else "", nl=False)
        if entries and not entries[0]["text"]:
            note(f"No {stream} output from task {entries[0]['task_name']!r} in run {run_id}.")
        return
    shown = [e for e in entries if e["text"]]
    for i, entry in enumerate(shown):
        if i:
            click.echo()
        click.echo(_header(entry, wants_rich()))
        click.echo(entry["text"], nl=not entry["text"].endswith("\n"))
    if not shown:
        hint = "" if stderr else " (-r reads stderr)"
        note(f"No {stream} output from any task in run {run_id}{hint}.")


def _read(wf: Any, run_id: int, task: Mapping[str, Any], stderr: bool, lines: int,
          attempt: int | None = None) -> str:
    if task.get("id") is not None:
        return wf.logs(run_id, stderr=stderr, lines=lines, task_id=task["id"], attempt=attempt)
    return wf.logs(run_id, task_name=task.get("name"), stderr=stderr, lines=lines,
                   attempt=attempt)


def _header(entry: Mapping[str, Any], styled: bool) -> str:
    text = f"==> {entry['task_name']} (task {entry['task_id']}, {entry['state']}) <=="
    return click.style(text, bold=True) if styled else text


def _follow(
    wf: Any,
    run_id: int,
    task_ids: list[int] | None,
    stderr: bool,
    lines: int,
    interval: float,
    as_json: bool,
) -> None:
    """Print new output of the chosen tasks (None: every task) until they have finished.

    Only whole lines are printed while a task runs; its last partial line once it ended.
    With several tasks each line carries a ``[task] `` prefix, like the live console echo."""
    printed: dict[int, int] = {}  # task id -> characters of its log already printed
    first_look = True
    styled = wants_rich() and not as_json
    while True:
        details = wf.run_details(run_id)
        tasks = [
            t for t in details.get("tasks") or [] if task_ids is None or t.get("id") in task_ids
        ]
        run_over = details.get("state") in FINISHED_STATES
        prefix = len(tasks) > 1  # several tasks interleave: say whose line it is
        for task in tasks:
            tid = task.get("id")
            task_over = run_over or task.get("state") in FINISHED_STATES
            if task.get("state") in _NOT_STARTED and not task_over:
                continue
            text = wf.logs(run_id, stderr=stderr, lines=_ALL_LINES, task_id=tid)
            start = printed.get(tid)
            if start is None:
                start = len(text) - len(_tail(text, lines)) if first_look else 0
            chunk = text[start:]
            if not task_over:
                chunk = chunk[: chunk.rfind("\n") + 1]
            if chunk:
                _emit_chunk(run_id, task, chunk, stderr, prefix, styled, as_json)
            printed[tid] = start + len(chunk)
        first_look = False
        finished = run_over or (
            task_ids is not None
            and bool(tasks)
            and all(t.get("state") in FINISHED_STATES for t in tasks)
        )
        if finished:
            break
        time.sleep(interval)
    if not as_json:
        what = (
            f"Task {tasks[0].get('name')!r}"
            if task_ids is not None and len(tasks) == 1
            else f"Run {run_id}"
        )
        state = (
            tasks[0].get("state")
            if task_ids is not None and len(tasks) == 1
            else details.get("state")
        )
        note(f"{what} ended: {state}.")


def _emit_chunk(
    run_id: int,
    task: Mapping[str, Any],
    chunk: str,
    stderr: bool,
    prefix: bool,
    styled: bool,
    as_json: bool,
) -> None:
    if as_json:
        emit_json_line(
            {
                "run_id": run_id,
                "task_id": task.get("id"),
                "task_name": task.get("name"),
                "stderr": stderr,
                "text": chunk,
            }
        )
    elif prefix:
        label = f"[{task.get('name')}] "
        if styled:
            label = click.style(label, fg="cyan")
        for line in chunk.splitlines():
            click.echo(label + line)
    else:
        click.echo(chunk, nl=False)
    flush_stdout()
