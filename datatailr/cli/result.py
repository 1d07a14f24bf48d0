"""``dt result get``: a task's stored return value, shown or written to a pickle file.

Loads the value with ``Workflow.result``; shows its repr (a pandas DataFrame as a table on a
terminal). ``--out`` writes it with cloudpickle, readable by ``pickle.load``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from datatailr.cli import _api
from datatailr.cli._options import CONTEXT_SETTINGS, CliError, common_options
from datatailr.cli._render import Printer, emit_json, is_json_native, note

#: Rows of a DataFrame drawn on a terminal (head and tail); the rest is elided.
_MAX_ROWS = 40


@click.group(context_settings=CONTEXT_SETTINGS)
def result() -> None:
    """Task results (the stored return values).

    \b
    Examples:
      dt result get daily_sales_report --run-id 42 --task calculate_total
      dt result get daily_sales_report -i 42 -t fetch_data --out data.pkl
    """


def _type_name(value: Any) -> str:
    cls = type(value)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _is_dataframe(value: Any) -> bool:
    cls = type(value)
    return cls.__name__ == "DataFrame" and cls.__module__.split(".")[0] == "pandas"


@result.command(
    "get",
    short_help="Print a task's result, or write it to a pickle.",
    context_settings=CONTEXT_SETTINGS,
)
@click.argument("name")
@click.option(
    "--run-id",
    "-i",
    "run_id",
    type=int,
    default=None,
    help="The run (default: the latest run of the workflow).",
)
@click.option("--task", "-t", "task_name", default=None, help="The task's name.")
@click.option(
    "--child-num",
    "-c",
    "task_id",
    type=int,
    default=None,
    help="The task's id instead of its name (reaches renamed or removed tasks).",
)
@click.option(
    "--out",
    "-o",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the value to this file as a pickle instead of printing it.",
)
@common_options
@_api.reads_only()
def get_command(
    name: str,
    run_id: int | None,
    task_name: str | None,
    task_id: int | None,
    out: Path | None,
    env: str,
    as_json: bool,
) -> None:
    """Print the value a task returned in a run (its repr; a DataFrame as a table), or write it
    to a pickle file with --out. Prints None when nothing is stored (the task has not finished,
    raised, or its result expired).

    \b
    Examples:
      dt result get daily_sales_report --run-id 42 --task calculate_total
      dt result get daily_sales_report -t fetch_data --json
      dt result get daily_sales_report -i 42 -c 0 --out fetch_data.pkl
      python -c "import pickle; print(pickle.load(open('fetch_data.pkl', 'rb')))"
    """
    if task_name is None and task_id is None:
        raise click.UsageError("Name the task with --task NAME or --child-num ID.")
    if task_name is not None and task_id is not None:
        raise click.UsageError("--task and --child-num each pick a task: give one of them.")
    wf = _api.open_workflow(name, env)
    if run_id is None:
        run_id = _api.latest_run_id(wf)
    value = wf.result(run_id, task_name=task_name, task_id=task_id)
    details = wf.run_details(run_id)
    task = next(
        (
            t
            for t in details.get("tasks") or []
            if (t.get("id") == task_id if task_id is not None else t.get("name") == task_name)
        ),
        {"id": task_id, "name": task_name, "state": None},
    )

    if out is not None:
        _write_pickle(value, out)

    if as_json:
        emit_json(
            {
                "workflow": details.get("workflow", _api.display_name(wf)),
                "slug": details.get("slug"),
                "environment": details.get("environment", env),
                "run_id": run_id,
                "task_id": task.get("id"),
                "task_name": task.get("name"),
                "state": task.get("state"),
                "type": _type_name(value),
                "repr": repr(value),
                "value": value if is_json_native(value) else None,
                "out": str(out) if out is not None else None,
            }
        )
        return
    if out is not None:
        note(
            f"Wrote the result of {task.get('name')!r} (run {run_id}, {_type_name(value)}) to {out}."
        )
        return
    if value is None and task.get("state") not in ("completed", None):
        note(
            f"No result stored for task {task.get('name')!r} of run {run_id} "
            f"(it is {task.get('state')})."
        )
    printer = Printer()
    if printer.rich and _is_dataframe(value):
        _dataframe_table(printer, value)
    else:
        click.echo(repr(value))


def _write_pickle(value: Any, path: Path) -> None:
    import cloudpickle  # type: ignore[import-untyped]  # by value where needed, so classes defined in a notebook load back

    try:
        with open(path, "wb") as f:
            cloudpickle.dump(value, f, protocol=5)
    except OSError as exc:
        raise CliError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def _dataframe_table(printer: Printer, df: Any) -> None:
    from rich.table import Table

    table = Table(header_style="bold", show_edge=False)
    index_name = str(df.index.name) if df.index.name is not None else ""
    table.add_column(index_name, style="dim")
    for col in df.columns:
        justify = "right" if getattr(df[col].dtype, "kind", "O") in "iufc" else "left"
        table.add_column(str(col), justify=justify)  # type: ignore[arg-type]
    rows = len(df)
    if rows > _MAX_ROWS:
        half = _MAX_ROWS // 2
        parts = [df.iloc[:half], None, df.iloc[-half:]]
    else:
        parts = [df]
    for part in parts:
        if part is None:
            table.add_row("...", *(["..."] * len(df.columns)))
            continue
        for idx, row in zip(part.index, part.itertuples(index=False, name=None)):
            table.add_row(str(idx), *(str(v) for v in row))
    printer.console.print(table)
    printer.line(f"[{rows} rows x {len(df.columns)} columns]", "dim")
