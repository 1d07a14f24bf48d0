"""``dt job ...``: list, inspect, start, rerun, stop, promote and remove workflows.

Each command is one or two public-API calls plus rendering; --json prints the API's own dicts.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import click

from datatailr.cli import _api
from datatailr.cli._options import (
    CONTEXT_SETTINGS,
    ENVIRONMENTS,
    FINISHED_STATES,
    STATES,
    CliError,
    TimeBound,
    VersionType,
    common_options,
)
from datatailr.cli._render import (
    UTC_HEADER,
    Column,
    Printer,
    emit_json,
    fmt_duration,
    fmt_time,
    fmt_value,
    history_legend,
    history_strip,
    note,
    state_cell,
)

RUN_COLUMNS = [
    Column("run_id", "right"),
    Column("state"),
    Column("version", "right"),
    Column("trigger"),
    Column("started" + UTC_HEADER, no_wrap=True),
    Column("duration", "right"),
    Column("rerun of", "right"),
]


def run_row(run: Mapping[str, Any]) -> list[Any]:
    rerun_of = run.get("rerun_of")
    if rerun_of is None:
        rerun_of = run.get("original_run_id")
    full = " (full)" if rerun_of is not None and run.get("full") else ""
    return [
        run.get("run_id"),
        state_cell(run.get("state")),
        run.get("job_version"),
        run.get("trigger"),
        fmt_time(run.get("start_time") or run.get("created_at")),
        fmt_duration(run.get("duration")),
        "-" if rerun_of is None else f"{rerun_of}{full}",
    ]


def schedule_text(cron: str | None, description: str | None) -> str:
    if not cron:
        return "-"
    return f"{cron} ({description})" if description else str(cron)


def without_tasks(details: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k != "tasks"}


@click.group(context_settings=CONTEXT_SETTINGS)
def job() -> None:
    """Workflows: list, inspect, run, rerun, stop, promote, remove.

    \b
    Examples:
      dt job ls
      dt job get daily_sales_report --version 2
      dt job runs daily_sales_report --since 1d --state failed
      dt job rerun 42
    """


# ---------------------------------------------------------------- ls

#: Fields of `dt job ls -f/-s`, as the hosted dt names them (name is the slug, as its job
#: names are; display_name the name shown), and ours (tasks, schedule, last_run).
JOB_FIELDS = {
    "name": "text",
    "display_name": "text",
    "type": "text",
    "state": "text",
    "environment": "text",
    "run_as": "text",
    "version": "numeric",
    "tasks": "numeric",
    "schedule": "text",
    "last_run": "numeric",
    "create_time": "numeric",
    "cpu": "numeric",
    "memory": "numeric",
}
#: Fields read from each workflow's versions, only when a filter or sort names them.
_DEFINITION_FIELDS = ("create_time", "cpu", "memory")
#: The hosted dt's names of the job types.
HOSTED_TYPES = {"workflow": "batch", "excel_addin": "excel"}


def _timestamp(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        return datetime.fromisoformat(value).timestamp()
    return None


def job_record(wf: Mapping[str, Any], run_as: str) -> dict[str, Any]:
    """One `dt job ls` row as the filter language sees it."""
    last = wf.get("last_run") or {}
    kind = str(wf.get("job_type") or "workflow")
    return {
        "name": wf.get("slug"),
        "display_name": wf.get("name"),
        "type": HOSTED_TYPES.get(kind, kind),
        "state": wf.get("state"),
        "environment": wf.get("environment"),
        "run_as": run_as,
        "version": wf.get("job_version"),
        "tasks": wf.get("task_count"),
        "schedule": wf.get("schedule"),
        "last_run": _timestamp(last.get("start_time") or last.get("created_at")),
    }


def _definition_fields(wf: Mapping[str, Any]) -> dict[str, Any]:
    """create_time (its first version's), cpu and memory (bytes) of the latest version."""
    from datatailr import Resources

    handle = _api.open_workflow(str(wf.get("slug")), str(wf.get("environment")))
    versions = handle.versions()
    resources = (handle.definition().get("options") or {}).get("resources") or {}
    cpu: float | None = None
    memory: int | None = None
    try:
        asked = Resources(**resources)
        cpu, memory = asked.cpu, asked.memory_bytes()
    except (TypeError, ValueError):  # a definition without resources: nothing to compare
        pass
    return {
        "create_time": _timestamp(versions[0].get("created_at")) if versions else None,
        "cpu": cpu,
        "memory": memory,
    }


def _is_expression(text: str) -> bool:
    """A hosted filter expression has spaces between field, operator and value; our older
    forms (TEXT, name=PATTERN, state=S) have none."""
    return len(text.split()) > 1


def select_jobs(
    workflows: Sequence[Mapping[str, Any]],
    filters: Sequence[str],
    states: Sequence[str],
    sort: str | None,
    limit: int | None,
    offset: int,
) -> list[Mapping[str, Any]]:
    """Filter (all filters must match), sort, page: the hosted `-f/-s/-b/-o` and our forms."""
    if not (filters or states or sort or offset) and limit is None:
        return list(workflows)  # every one, in the API's order: nothing to compile or compare
    from datatailr import User
    from datatailr.core.query import compile_filter, parse_sort, sort_records

    expressions = [f for f in filters if _is_expression(f)]
    keep = _filter_predicate([f for f in filters if not _is_expression(f)], states)
    checks = [compile_filter(text, JOB_FIELDS) for text in expressions]
    parse_sort(sort, JOB_FIELDS)  # a bad sort is an error even when nothing is listed
    run_as = User.signed_user().name
    pairs: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = [
        (job_record(wf, run_as), wf) for wf in workflows
    ]
    asked = " ".join([*expressions, sort or ""])
    if any(field in asked for field in _DEFINITION_FIELDS):
        pairs = [({**record, **_definition_fields(wf)}, wf) for record, wf in pairs]
    chosen = [(r, wf) for r, wf in pairs if keep(wf) and all(check(r) for check in checks)]
    if sort:
        by_id = {id(r): wf for r, wf in chosen}
        ordered = sort_records([r for r, _ in chosen], sort, JOB_FIELDS)
        chosen = [(r, by_id[id(r)]) for r in ordered]
    out = [wf for _, wf in chosen][offset:]
    return out if limit is None else out[:limit]




def _filter_predicate(filters: Sequence[str], states: Sequence[str]):
    """--filter TEXT (name contains TEXT; * and ? are wildcards), --filter name=GLOB,
    --filter state=S1,S2, --state S; all given must match. State `none`: never ran."""
    name_patterns: list[str] = []
    wanted_states: list[set[str]] = []
    if states:
        wanted_states.append({s.lower() for s in states})
    for item in filters:
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if sep and key == "state":
            chosen = {s.strip().lower() for s in value.split(",") if s.strip()}
            unknown = chosen - set(STATES) - {"none"}
            if unknown:
                raise click.BadParameter(
                    f"unknown state {', '.join(sorted(unknown))}: use one of {', '.join(STATES)}, none.",
                    param_hint="'--filter'",
                )
            wanted_states.append(chosen)
        elif sep and key == "name":
            name_patterns.append(value.strip())
        elif sep and key not in ("name", "state"):
            raise click.BadParameter(
                f"{item!r}: filter on name=PATTERN or state=STATE, or give a bare name pattern.",
                param_hint="'--filter'",
            )
        else:
            name_patterns.append(item.strip())

    def name_matches(pattern: str, wf: Mapping[str, Any]) -> bool:
        pattern = pattern.lower()
        if not any(ch in pattern for ch in "*?["):
            pattern = f"*{pattern}*"
        names = [str(wf.get("name") or "").lower(), str(wf.get("slug") or "").lower()]
        return any(fnmatch.fnmatchcase(n, pattern) for n in names)

    def keep(wf: Mapping[str, Any]) -> bool:
        if not all(name_matches(p, wf) for p in name_patterns):
            return False
        state = wf.get("state") or "none"
        return all(state in chosen for chosen in wanted_states)

    return keep


@job.command(
    "ls",
    short_help="List workflows: version, schedule, last run, history.",
    context_settings=CONTEXT_SETTINGS,
)
@click.option(
    "--filter",
    "-f",
    "filters",
    multiple=True,
    metavar="EXPR",
    help="The hosted dt's filter, e.g. \"type = batch and name starts_with daily\" (fields: "
    + ", ".join(sorted(JOB_FIELDS))
    + "; operators = != < <= > >= starts_with ends_with contains is_null is_not_null; "
    "and/or/not, ( ), [a, b]). Also, without spaces: TEXT (name contains TEXT; * ? "
    "wildcards), name=PATTERN, state=STATE[,STATE] (`none`: never ran). Repeat to combine.",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES + ("none",), case_sensitive=False),
    help="Keep workflows whose last run is in this state (repeatable).",
)
@click.option(
    "--sort",
    "-s",
    "sort",
    default=None,
    metavar="FIELDS",
    help="Sort by these fields, space-separated, `-` for descending: \"-version +name\" "
    "(default: by name).",
)
@click.option(
    "--batch-size",
    "-b",
    "batch_size",
    type=click.IntRange(min=0),
    default=None,
    help="Show at most this many (after filtering and sorting).",
)
@click.option(
    "--offset",
    "-o",
    "offset",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Skip this many first (with --batch-size: pages).",
)
@click.option("--pretty", is_flag=True, help="With --json: indented JSON (it always is).")
@common_options
@_api.reads_only()
def ls_command(
    filters: tuple[str, ...],
    states: tuple[str, ...],
    sort: str | None,
    batch_size: int | None,
    offset: int,
    pretty: bool,
    env: str,
    as_json: bool,
) -> None:
    """List every workflow of the environment: current version, schedule, state and time of
    the last run, and the last 10 runs as a strip (oldest left; C completed, F failed, R running...).

    \b
    Examples:
      dt job ls
      dt job ls -e prod --json
      dt job ls -f "type = batch and name starts_with daily" -s "-version"
      dt job ls -f "state = [failed, stopped]" -b 10 -o 10
      dt job ls --filter sales --state failed
      dt job ls --filter 'name=daily*' --filter state=failed,stopped
    """
    listed = _api.batch().list_workflows(environment=env)
    jobs = long_running_jobs(env)
    for wf in listed:  # services and apps say so, with their address and health
        if wf["slug"] in jobs:
            found = jobs[wf["slug"]]
            wf.update(job_type=found["job_type"], url=found["url"], health=found["health"])
    workflows = select_jobs(listed, filters, states, sort, batch_size, offset)
    if as_json:
        emit_json(workflows)
        return
    out = Printer()
    # The human text of a schedule needs room; on a narrow terminal the cron string stays and
    # `dt job get` has the words.
    import shutil

    wide = not out.rich or shutil.get_terminal_size((120, 24)).columns >= 120
    rows = []
    for wf in workflows:
        last = wf.get("last_run") or {}
        rows.append(
            [
                wf.get("name"),
                *(job_kind_cells(wf, jobs) if jobs else []),
                wf.get("job_version"),
                wf.get("task_count"),
                schedule_text(wf.get("schedule"),
                              wf.get("schedule_description") if wide else None),
                state_cell(wf.get("state")),
                fmt_time(last.get("start_time") or last.get("created_at")) if last else "-",
                history_strip(wf.get("recent_runs") or []),
            ]
        )
    filtered = " matching the filter" if (filters or states or offset) else ""
    out.table(
        [
            Column("name", no_wrap=True),
            *KIND_COLUMNS[: 2 if jobs else 0],
            Column("version", "right", no_wrap=True),
            Column("tasks", "right", no_wrap=True),
            Column("schedule", no_wrap=not wide),
            Column("state", no_wrap=True),
            Column("last run" + UTC_HEADER),
            Column("history (last 10)"),
        ],
        rows,
        empty=f"No workflows{filtered} in {env}.",
    )
    if rows and out.rich:
        legend = history_legend(
            r.get("state") for wf in workflows for r in wf.get("recent_runs") or [])
        if legend:
            note(legend)


# ---------------------------------------------------------------- get


@job.command(
    "get",
    short_help="Show a workflow: definition, versions, recent runs.",
    context_settings=CONTEXT_SETTINGS,
)
@click.argument("name")
@click.option(
    "--version",
    "-v",
    "version",
    type=VersionType(),
    default=None,
    help="Show this version's definition (default: the latest).",
)
@click.option(
    "--runs",
    "run_limit",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many recent runs to show.",
)
@click.option("--source", is_flag=True, help="Print only the workflow's source code.")
@click.option(
    "--children",
    "-c",
    "children",
    is_flag=True,
    help="Show only the workflow's child jobs (its tasks), as the hosted dt does.",
)
@click.option(
    "--build-log",
    "-b",
    "build_log",
    type=click.Choice(["stdout", "stderr"]),
    default=None,
    help="Print the version's build log (the hosted dt's image build).",
)
@common_options
def get_command(
    name: str,
    version: int | str | None,
    run_limit: int,
    source: bool,
    children: bool,
    build_log: str | None,
    env: str,
    as_json: bool,
) -> None:
    """Show a workflow: its definition (tasks, dependencies, resources, schedule), its
    versions and its recent runs. NAME is the display name or the slug.

    \b
    Examples:
      dt job get daily_sales_report
      dt job get "Complex Pipeline" --version 2 -e prod
      dt job get complex-pipeline -c
      dt job get complex-pipeline --source
      dt job get complex-pipeline --json
    """
    wf = _api.open_workflow(name, env)
    definition = dict(wf.definition(version=_api.resolve_version(wf, version)))
    if build_log:
        log = (definition.get("build_log") or {}).get(build_log)
        if log is None:
            raise CliError(
                f"Version {definition.get('job_version')} of {_api.display_name(wf)!r} has no "
                "build log: no container image is built for a version here. A run prepares its "
                "Python environment when it starts, and a failure to do so is the run's error "
                f"(`dt job runs {_api.slug_of(wf)} -e {env}`)."
            )
        click.echo(log, nl=not str(log).endswith("\n"))
        return
    if children:
        tasks = list(definition.get("tasks") or [])
        if as_json:
            emit_json(tasks)
            return
        _tasks_table(Printer(), tasks, title=None)
        return
    if source:
        # every file of the version's image, each under a header with its path
        files = wf.source_files(definition.get("job_version"))
        if as_json:
            emit_json(files)
            return
        for i, (path, text) in enumerate(sorted(files.items())):
            click.echo(("\n" if i else "") + f"# ---- {path}")
            click.echo(text, nl=not text.endswith("\n"))
        return
    versions = wf.versions()
    recent = wf.runs(limit=run_limit, refresh=True) if run_limit else []
    if as_json:
        emit_json({**definition, "versions": versions, "recent_runs": recent})
        return

    out = Printer()
    latest = versions[-1]["job_version"] if versions else definition.get("job_version")
    tasks = list(definition.get("tasks") or [])
    out.heading(
        f"{definition.get('name')}  ({definition.get('slug')}, {definition.get('environment', env)})"
    )
    out.fields(
        [
            (
                "version",
                f"{definition.get('job_version')} of {latest}, created "
                f"{fmt_time(definition.get('created_at'), suffix=True)}",
            ),
            (
                "schedule",
                schedule_text(definition.get("schedule"), definition.get("schedule_description"))
                if definition.get("schedule")
                else "none (runs when started)",
            ),
            ("tasks", len(tasks)),
        ]
    )
    out.blank()
    _tasks_table(out, tasks, title="Tasks")
    out.blank()
    _versions_table(out, versions, title="Versions")
    if run_limit:
        out.blank()
        out.table(
            RUN_COLUMNS, [run_row(r) for r in recent], title="Recent runs", empty="No runs yet."
        )


def _tasks_table(out: Printer, tasks: list[dict], title: str | None) -> None:
    names = {t.get("id"): t.get("name") for t in tasks}
    show_constants = any(t.get("constants") for t in tasks)
    columns = [Column("id", "right"), Column("name"), Column("function"), Column("depends on")]
    if show_constants:
        columns.append(Column("constants"))
    columns += [Column("resources"), Column("retries", "right"), Column("timeout", "right")]
    rows = []
    for t in tasks:
        deps = ", ".join(str(names.get(d, d)) for d in (t.get("dependencies") or [])) or "-"
        function = t.get("function") or "-"
        if t.get("module") and t.get("module") != "__main__":
            function = f"{t['module']}.{function}"
        row = [t.get("id"), t.get("name"), function, deps]
        if show_constants:
            row.append(fmt_value(t.get("constants")))
        row += [fmt_value(t.get("resources")), t.get("retries") or 0, fmt_value(t.get("timeout"))]
        rows.append(row)
    out.table(columns, rows, title=title, empty="No tasks.")


# ---------------------------------------------------------------- runs


#: Fields of `dt job runs -f/-s`, as the hosted dt names them (times: POSIX seconds).
RUN_FIELDS = {
    "name": "text",
    "display_name": "text",
    "state": "text",
    "type": "text",
    "environment": "text",
    "run_id": "numeric",
    "version": "numeric",
    "trigger": "text",
    "submit_time": "numeric",
    "start_time": "numeric",
    "scheduled_time": "numeric",
    "end_time": "numeric",
}


def run_record(run: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": run.get("slug"),
        "display_name": run.get("workflow"),
        "state": run.get("state"),
        "type": "batch",
        "environment": run.get("environment"),
        "run_id": run.get("run_id"),
        "version": run.get("job_version"),
        "trigger": run.get("trigger"),
        "submit_time": _timestamp(run.get("created_at")),
        "start_time": _timestamp(run.get("start_time")),
        "scheduled_time": _timestamp(run.get("scheduled_time")),
        "end_time": _timestamp(run.get("end_time")),
    }


@job.command("runs", short_help="List runs: of a workflow, or all.", context_settings=CONTEXT_SETTINGS)
@click.argument("name", required=False)
@click.option(
    "--since",
    type=TimeBound(),
    default=None,
    help="Runs that started at or after this time (2026-04-09, 2026-04-09T06:00 UTC, today, "
    "6h, 2d).",
)
@click.option(
    "--until",
    type=TimeBound(),
    default=None,
    help="Runs that started at or before this time (same forms as --since).",
)
@click.option(
    "--state",
    type=click.Choice(STATES, case_sensitive=False),
    default=None,
    help="Only runs in this state.",
)
@click.option(
    "--filter",
    "-f",
    "filters",
    multiple=True,
    metavar="EXPR",
    help="The hosted dt's filter, e.g. \"state = failed and name starts_with daily\" (fields: "
    + ", ".join(sorted(RUN_FIELDS))
    + "). Repeat to combine.",
)
@click.option(
    "--sort",
    "-s",
    "sort",
    default=None,
    metavar="FIELDS",
    help="Sort by these fields, `-` for descending (default: newest first).",
)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="At most this many runs, newest first (0: all).",
)
@click.option(
    "--run-id",
    "-i",
    "run_id",
    type=int,
    default=None,
    help="Show this run's tasks instead: state, attempts, duration, peak memory, CPU, host.",
)
@common_options
@_api.reads_only()
def runs_command(
    name: str | None,
    since: datetime | None,
    until: datetime | None,
    state: str | None,
    filters: tuple[str, ...],
    sort: str | None,
    limit: int,
    run_id: int | None,
    env: str,
    as_json: bool,
) -> None:
    """List the runs of a workflow, or of every workflow of the environment without NAME,
    newest first; with --run-id, one run's tasks and what each used.

    \b
    Examples:
      dt job runs daily_sales_report
      dt job runs -f "state = failed"
      dt job runs -f "name = daily-sales-report and state = failed" -s "-start_time"
      dt job runs daily_sales_report --since 2026-04-01 --until 2026-04-09T18:00
      dt job runs daily_sales_report --since 1d --state failed --limit 5 --json
      dt job runs daily_sales_report -i 42
    """
    if run_id is not None:
        if name is None:
            raise click.UsageError("--run-id needs the workflow's NAME.")
        _run_tasks(_api.open_workflow(name, env), run_id, as_json)
        return
    from datatailr.core.query import compile_filter, parse_sort, sort_records

    checks = [compile_filter(text, RUN_FIELDS) for text in filters]
    parse_sort(sort, RUN_FIELDS)
    whole = bool(checks or sort)  # filtering or sorting by more than the store does: read all
    wanted = state.lower() if state else None
    handles = (
        [_api.open_workflow(name, env)]
        if name
        else [_api.open_workflow(w["slug"], env) for w in _api.batch().list_workflows(env)]
    )
    runs: list[Mapping[str, Any]] = []
    for wf in handles:
        runs.extend(
            wf.runs(start_time=since, end_time=until, refresh=True,
                    limit=None if whole or not limit else limit, state=wanted)
        )
    runs.sort(key=lambda r: -int(r["run_id"]))
    if checks:
        runs = [r for r in runs if all(check(run_record(r)) for check in checks)]
    if sort:
        by_id = {int(r["run_id"]): r for r in runs}
        ordered = sort_records([run_record(r) for r in runs], sort, RUN_FIELDS)
        runs = [by_id[int(r["run_id"])] for r in ordered]
    total = len(runs)
    if limit:
        runs = runs[:limit]
    if as_json:
        emit_json(runs)
        return
    if limit and len(runs) == limit and not whole:  # read before anything is printed
        total = sum(wf.count_runs(start_time=since, end_time=until, state=wanted)
                    for wf in handles)
    out = Printer()
    columns = RUN_COLUMNS if name else [Column("workflow", no_wrap=True), *RUN_COLUMNS]
    rows = [run_row(r) if name else [r.get("workflow"), *run_row(r)] for r in runs]
    what = f"of {_api.display_name(handles[0])!r} " if name else ""
    out.table(columns, rows, empty=f"No runs {what}in {env} match.")
    if limit and len(runs) == limit and total > limit:
        which = "first" if sort else "newest"
        note(f"Showing the {which} {limit} of {total} runs (--limit N for more, 0 for all).")


# ---------------------------------------------------------------- run / rerun / stop


def _report_started(run: Any, verb: str, wait: bool, timeout: float | None, as_json: bool) -> None:
    """Print a run that was just started; with --wait, wait and fail unless it completed."""
    wf = run.workflow
    name = _api.display_name(wf)
    if not as_json:
        note(f"{verb} run {run.run_id} of {name!r} in {_api.env_of(wf)}.")
    state = None
    if wait:
        state = run.wait(timeout=timeout)
    details = run.run_details()
    if as_json:
        emit_json(details)
    else:
        out = Printer()
        out.table(RUN_COLUMNS, [run_row(details)])
    if wait:
        state = details.get("state") or state
        if state not in FINISHED_STATES:
            raise CliError(f"Run {run.run_id} is still {state} after {timeout:g}s (--timeout).")
        if state != "completed":
            failed = [
                t.get("name")
                for t in details.get("tasks") or []
                if t.get("state") in ("failed", "failed_after")
            ]
            which = f": {', '.join(map(str, failed))} failed" if failed else ""
            raise CliError(
                f"Run {run.run_id} of {name!r} ended {state}{which}; read its errors with "
                f"`dt log read {_api.slug_of(wf)} -i {run.run_id} -r -e {_api.env_of(wf)}`."
            )


_wait_option = click.option(
    "--wait",
    "-w",
    is_flag=True,
    help="Wait until the run has finished; exit 1 unless it completed.",
)
_timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="With --wait: give up waiting after this long (the run goes on).",
)


@job.command("run", short_help="Start a run of a workflow now.", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@_wait_option
@_timeout_option
@common_options
def run_command(name: str, wait: bool, timeout: float | None, env: str, as_json: bool) -> None:
    """Start a run of a deployed workflow now (its latest version, on the local agent).

    \b
    Examples:
      dt job run daily_sales_report
      dt job run daily_sales_report -e prod --wait
    """
    wf = _api.open_workflow(name, env)
    _report_started(wf.start(), "Started", wait, timeout, as_json)


@job.command(
    "rerun",
    short_help="Rerun a run (only what did not complete, or --full).",
    context_settings=CONTEXT_SETTINGS,
)
@click.argument("run_id", type=int)
@click.option(
    "--version",
    "-v",
    "version",
    type=VersionType(),
    default=None,
    help="Run the code of this version, a number or `latest` (default: the version the run used).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Run every task again (default: reuse the results of tasks that completed).",
)
@_wait_option
@_timeout_option
@common_options
def rerun_command(
    run_id: int,
    version: int | str | None,
    full: bool,
    wait: bool,
    timeout: float | None,
    env: str,
    as_json: bool,
) -> None:
    """Rerun a run: by default only the tasks that did not complete; the others' stored
    results feed them. RUN_ID is the run's number (see `dt job runs NAME`).

    \b
    Examples:
      dt job rerun 42
      dt job rerun 42 --full --version 3 --wait
    """
    wf = _api.workflow_for_run(run_id, env)
    run = wf.rerun(run_id, version=_api.resolve_version(wf, version), full=full)
    verb = f"Started {'full ' if full else ''}rerun of run {run_id} as"
    _report_started(run, verb, wait, timeout, as_json)


#: The states of a run that `dt job stop NAME` stops.
ACTIVE_STATES = ["pending", "running"]


@job.command(
    "stop",
    short_help="Stop a run by its id, or the running runs of a workflow.",
    context_settings=CONTEXT_SETTINGS,
)
@click.argument("run_id", metavar="RUN_ID|NAME")
@click.option("--wait", "-w", is_flag=True, help="Wait until the runs have stopped.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30,
    show_default=True,
    metavar="SECONDS",
    help="With --wait: give up waiting after this long.",
)
@common_options
def stop_command(
    run_id: int | str, wait: bool, timeout: float, env: str, as_json: bool
) -> None:
    """Stop a run: a pending run at once; a running one's tasks are ended by the process that
    runs it, and tasks not yet started will not start. Given a workflow's NAME instead of a run
    id, stop every pending or running run of it, as the hosted `dt job stop NAME` does.

    \b
    Examples:
      dt job stop 42
      dt job stop daily_sales_report
      dt job stop 42 -e prod --wait --json
    """
    if isinstance(run_id, int) or str(run_id).isdigit():
        wf = _api.workflow_for_run(int(run_id), env)
        run_ids = [int(run_id)]
        if not wf.stop(run_ids[0]):
            state = wf.run_details(run_ids[0]).get("state")
            raise CliError(
                f"Run {run_id} of {_api.display_name(wf)!r} is not running: it is {state}."
            )
    else:
        wf = _api.open_workflow(str(run_id), env)
        active = wf.runs(refresh=True, state=ACTIVE_STATES)
        run_ids = [int(r["run_id"]) for r in active if wf.stop(int(r["run_id"]))]
        if not run_ids:
            raise CliError(
                f"{_api.display_name(wf)!r} has no pending or running runs in {env}: nothing "
                f"to stop (`dt job runs {_api.slug_of(wf)} -e {env}` lists its runs)."
            )
    if wait:
        for one in run_ids:
            _api.batch().Run(wf, one).wait(timeout=timeout)
    details = [without_tasks(wf.run_details(one)) for one in run_ids]
    if as_json:
        emit_json(details[0] if isinstance(run_id, int) or str(run_id).isdigit() else details)
        return
    for one, d in zip(run_ids, details):
        asked = "Stopped" if d.get("state") in FINISHED_STATES else "Asked to stop"
        note(f"{asked} run {one} of {_api.display_name(wf)!r} in {_api.env_of(wf)}.")
    Printer().table(RUN_COLUMNS, [run_row(d) for d in details])


# ---------------------------------------------------------------- versions / promote / rm


@job.command(
    "versions", short_help="List the versions of a workflow.", context_settings=CONTEXT_SETTINGS
)
@click.argument("name")
@common_options
def versions_command(name: str, env: str, as_json: bool) -> None:
    """List the saved versions of a workflow, oldest first.

    \b
    Examples:
      dt job versions daily_sales_report
      dt job versions daily_sales_report -e prod --json
    """
    wf = _api.open_workflow(name, env)
    versions = wf.versions()
    if as_json:
        emit_json(versions)
        return
    _versions_table(Printer(), versions)


def _versions_table(out: Printer, versions: list[dict], title: str | None = None) -> None:
    out.table(
        [
            Column("version", "right"),
            Column("created" + UTC_HEADER, no_wrap=True),
            Column("tasks", "right"),
            Column("schedule"),
        ],
        [
            [v.get("job_version"), fmt_time(v.get("created_at")), v.get("task_count"),
             v.get("schedule") or "-"]
            for v in versions
        ],
        title=title,
        empty="No versions.",
    )


@job.command(
    "promote",
    short_help="Promote a version to the next environment (dev -> pre -> prod).",
    context_settings=CONTEXT_SETTINGS,
)
@click.argument("name")
@click.argument("version", type=VersionType(), required=False)
@click.argument(
    "from_environment",
    metavar="[ENV]",
    required=False,
    type=click.Choice(ENVIRONMENTS, case_sensitive=False),
)
@click.option(
    "--to",
    "to_environment",
    type=click.Choice(ENVIRONMENTS, case_sensitive=False),
    default=None,
    help="The environment to promote to (default: the one after ENV: dev -> pre -> prod).",
)
@common_options
def promote_command(
    name: str,
    version: int | str | None,
    from_environment: str | None,
    to_environment: str | None,
    env: str,
    as_json: bool,
) -> None:
    """Promote VERSION (a number or `latest`, the default) of a workflow from ENV (default:
    --env, else dev) to the next environment, as the hosted dt does: dev -> pre -> prod; --to
    names the target. It becomes the target's next version.

    \b
    Examples:
      dt job promote daily_sales_report 3 dev
      dt job promote daily_sales_report latest pre
      dt job promote daily_sales_report 3 dev --to prod
    """
    source = (from_environment or env).lower()
    wf = _api.open_workflow(name, source)
    version = _api.resolve_version(wf, version if version is not None else "latest")
    new_version = wf.promote(source, version, to=to_environment.lower() if to_environment else None)
    order = list(ENVIRONMENTS)
    target = to_environment.lower() if to_environment else order[order.index(source) + 1]
    if as_json:
        emit_json(
            {
                "name": _api.display_name(wf),
                "slug": getattr(wf, "slug", None),
                "environment": source,
                "job_version": version,
                "to_environment": target,
                "new_job_version": new_version,
            }
        )
        return
    click.echo(
        f"Promoted {_api.display_name(wf)!r} version {version} from {source} to "
        f"{target}: version {new_version} there."
    )


@job.command(
    "rm", short_help="Remove a workflow, or one version of it.", context_settings=CONTEXT_SETTINGS
)
@click.argument("name")
@click.option("--version", "-v", "version", type=int, default=None,
              help="Remove only this version: the one before it becomes current (a rollback).")
@click.option("--purge", is_flag=True,
              help="Delete the workflow with its versions and whole history for good.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@common_options
def rm_command(name: str, version: int | None, purge: bool, yes: bool, env: str,
               as_json: bool) -> None:
    """Remove a workflow from an environment (it is no longer listed or scheduled there), or
    one version of it. Undo with `dt job restore`; `--purge` deletes for good.

    \b
    Examples:
      dt job rm old_report
      dt job rm my_report -v 3          # roll back to the version before 3
      dt job rm old_report -e pre --yes --purge
    """
    wf = _api.open_workflow(name, env)
    display = _api.display_name(wf)
    what = (f"version {version} of {display!r}" if version is not None
            else f"workflow {display!r}")
    if not yes:
        verb = "Delete for good" if purge else "Remove"
        click.confirm(f"{verb} {what} from {env}?", abort=True, err=True)
    wf.remove(version=version, purge=purge)
    if as_json:
        emit_json(
            {
                "name": display,
                "slug": getattr(wf, "slug", None),
                "environment": env,
                "job_version": version,
                "removed": True,
                "purged": purge,
            }
        )
        return
    if purge:
        click.echo(f"Deleted {display!r} from {env}, with its whole history.")
    elif version is not None:
        current = wf.versions()
        live = [v["job_version"] for v in current if not v.get("removed")]
        now = f"version {live[-1]} is current" if live else "no version is left to run"
        click.echo(f"Removed version {version} of {display!r} in {env}: {now}. "
                   f"Undo with: dt job restore {wf.slug} -v {version} -e {env}")
    else:
        click.echo(f"Removed {display!r} from {env}. Undo with: dt job restore {wf.slug} -e {env}")


@job.command(
    "restore", short_help="Undo dt job rm.", context_settings=CONTEXT_SETTINGS
)
@click.argument("name")
@click.option("--version", "-v", "version", type=int, default=None,
              help="Restore this removed version (it is current again if it is the newest).")
@common_options
def restore_command(name: str, version: int | None, env: str, as_json: bool) -> None:
    """Bring back a removed workflow, or a removed version of it.

    \b
    Examples:
      dt job restore old_report
      dt job restore my_report -v 3
    """
    wf = _api.batch().Workflow(name, environment=env, get_existing=False)
    wf.restore(version=version)
    if as_json:
        emit_json({"name": wf.name, "slug": wf.slug, "environment": env,
                   "job_version": version, "restored": True})
        return
    what = f"version {version} of {wf.name!r}" if version is not None else repr(wf.name)
    click.echo(f"Restored {what} in {env}.")


# ---------------------------------------------------------------- services and apps
# `dt job start/stop/restart NAME` for services and apps, and what `dt job ls` shows of them.


def _jobs_api() -> Any:
    """``datatailr.scheduler.job`` (Service, App, ExcelAddin, list_jobs, open_job)."""
    import datatailr.scheduler.job as module

    return module


def long_running_jobs(env: str) -> dict[str, dict[str, Any]]:
    """slug -> the public listing of each service, app and Excel add-in (state, URL, health)."""
    return {j["slug"]: j for j in _jobs_api().list_jobs(environment=env)}


#: the columns `dt job ls` adds when an environment has services, apps or Excel add-ins
KIND_COLUMNS = [Column("type", no_wrap=True), Column("url", no_wrap=True)]


def job_kind_cells(entry: Mapping[str, Any], jobs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The `type` and `url` cells of one `dt job ls` row (workflows: type only)."""
    found = jobs.get(str(entry.get("slug")))
    if found is None:
        return ["workflow", "-"]
    url = found.get("url") if found.get("state") == "running" else None
    health = found.get("health")
    return [str(found.get("job_type")),
            f"{url} ({health})" if url and health else (url or "-")]


def _service_table(entries: Sequence[Mapping[str, Any]]) -> None:
    Printer().table(
        [Column("name", no_wrap=True), Column("type"), Column("version", "right"),
         Column("state"), Column("url", no_wrap=True), Column("health"), Column("pid", "right"),
         Column("last start")],
        [[e.get("name"), e.get("job_type"), e.get("running_version") or e.get("job_version"),
          state_cell(e.get("state")), e.get("url") or "-", e.get("health") or "-",
          e.get("pid") or "-", fmt_time(e.get("last_start")) if e.get("last_start") else "-"]
         for e in entries],
        empty="Nothing.",
    )


def _open_long_running(name: str, env: str) -> Any:
    return _jobs_api().open_job(name, env)


def _listing_of(handle: Any, env: str) -> list[dict[str, Any]]:
    return [j for j in _jobs_api().list_jobs(environment=env) if j["slug"] == handle.slug]


@job.command("start", short_help="Start a service or app (a workflow: a run now).",
             context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--version", "-v", "version", type=int, default=None,
              help="Start this version (default: the latest).")
@click.option("--wait", "-w", is_flag=True, help="Wait until it answers HTTP on its port.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60, show_default=True,
              metavar="SECONDS", help="With --wait: give up waiting after this long.")
@common_options
def start_job_command(name: str, version: int | None, wait: bool, timeout: float, env: str,
                      as_json: bool) -> None:
    """Start a service or app on the local agent (replacing its running process, if any); for
    a workflow, start a run now as `dt job run` does.

    \b
    Examples:
      dt job start my-service
      dt job start my-dashboard -e prod --version 3 --wait
    """
    if _jobs_api().job_type_of(name, env) == "workflow":
        ctx = click.get_current_context()
        ctx.invoke(run_command, name=name, wait=wait, timeout=timeout if wait else None,
                   env=env, as_json=as_json)
        return
    handle = _open_long_running(name, env)
    handle.start(version=version, quiet=True)
    if wait:
        handle.wait_until_healthy(timeout=timeout)
    listing = _listing_of(handle, env)
    if as_json:
        emit_json(listing[0] if listing else {})
        return
    _service_table(listing)


@job.command("restart", short_help="Restart a service or app in a new process.",
             context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--wait", "-w", is_flag=True, help="Wait until it answers HTTP on its port.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60, show_default=True,
              metavar="SECONDS", help="With --wait: give up waiting after this long.")
@common_options
def restart_job_command(name: str, wait: bool, timeout: float, env: str, as_json: bool) -> None:
    """Start the running version of a service or app again in a new process.

    \b
    Examples:
      dt job restart my-service --wait
    """
    handle = _open_long_running(name, env)
    handle.restart(quiet=True)
    if wait:
        handle.wait_until_healthy(timeout=timeout)
    listing = _listing_of(handle, env)
    if as_json:
        emit_json(listing[0] if listing else {})
        return
    _service_table(listing)


_stop_run_command = stop_command


@job.command("stop", short_help="Stop a service or app by name, or a run by its id.",
             context_settings=CONTEXT_SETTINGS)
@click.argument("name_or_run_id")
@click.option("--wait", "-w", is_flag=True, help="Wait until the run has stopped.")
@click.option("--timeout", type=click.FloatRange(min=0), default=30, show_default=True,
              metavar="SECONDS", help="With --wait: give up waiting after this long.")
@common_options
def stop_job_command(name_or_run_id: str, wait: bool, timeout: float, env: str,
                     as_json: bool) -> None:
    """Stop a service or app (its whole process group; it stays down until started); a run of
    a workflow given by its run id; or the running runs of a workflow given by its name.

    \b
    Examples:
      dt job stop my-service
      dt job stop daily_sales_report
      dt job stop 42 --wait
    """
    if name_or_run_id.isdigit() or _jobs_api().job_type_of(name_or_run_id, env) == "workflow":
        ctx = click.get_current_context()
        ctx.invoke(_stop_run_command,
                   run_id=int(name_or_run_id) if name_or_run_id.isdigit() else name_or_run_id,
                   wait=wait, timeout=timeout, env=env, as_json=as_json)
        return
    handle = _open_long_running(name_or_run_id, env)
    _ok, message = handle.stop(wait=True, timeout=timeout)
    listing = _listing_of(handle, env)
    if as_json:
        emit_json(listing[0] if listing else {})
        return
    note(message)
    _service_table(listing)


@job.command(
    "diff", short_help="What changed between two versions.", context_settings=CONTEXT_SETTINGS
)
@click.argument("name")
@click.argument("a", type=int)
@click.argument("b", type=int)
@common_options
def diff_command(name: str, a: int, b: int, env: str, as_json: bool) -> None:
    """A unified diff from version A to version B: every file of their images and their
    definitions (tasks, options, schedule, environment). Nothing printed when they are equal.

    \b
    Examples:
      dt job diff daily_sales_report 1 2
      dt job diff daily_sales_report 3 4 -e prod
    """
    wf = _api.open_workflow(name, env)
    text = wf.diff(a, b)
    if as_json:
        emit_json({"name": _api.display_name(wf), "environment": env, "a": a, "b": b,
                   "diff": text})
        return
    if text:
        click.echo(text, nl=not text.endswith("\n"))


def _run_tasks(wf: Any, run_id: int, as_json: bool) -> None:
    """One run's tasks with where they ran and what they used (peak memory, CPU seconds)."""
    details = wf.run_details(run_id)
    tasks = list(details.get("tasks") or [])
    if as_json:
        emit_json(tasks)
        return

    def duration(t: Mapping[str, Any]) -> float | None:
        start, end = t.get("start_time"), t.get("end_time")
        return (end - start).total_seconds() if start and end else None

    def memory(value: Any) -> str:
        return "-" if value is None else f"{value / 2**20:.1f} MB"

    Printer().table(
        [Column("id", "right"), Column("name", no_wrap=True), Column("state"),
         Column("attempts", "right"), Column("duration", "right"), Column("peak memory", "right"),
         Column("cpu", "right"), Column("host", no_wrap=True)],
        [[t.get("id"), t.get("name"), state_cell(t.get("state")), t.get("attempts"),
          fmt_duration(duration(t)), memory(t.get("peak_rss")),
          "-" if t.get("cpu_seconds") is None else f"{t['cpu_seconds']:.2f} s",
          t.get("worker") or t.get("host") or "-"] for t in tasks])
