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
    Column("started", no_wrap=True),
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
    "filters",
    multiple=True,
    metavar="TEXT",
    help="Keep workflows whose name contains TEXT (wildcards * ?), or name=PATTERN, or "
    "state=STATE[,STATE] (state of the last run; `none`: never ran). Repeat to combine.",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES + ("none",), case_sensitive=False),
    help="Keep workflows whose last run is in this state (repeatable).",
)
@common_options
def ls_command(filters: tuple[str, ...], states: tuple[str, ...], env: str, as_json: bool) -> None:
    """List every workflow of the environment: current version, schedule, state and time of
    the last run, and the last 10 runs as a strip (oldest left; C completed, F failed, R running...).

    \b
    Examples:
      dt job ls
      dt job ls -e prod --json
      dt job ls --filter sales --state failed
      dt job ls --filter 'name=daily*' --filter state=failed,stopped
    """
    keep = _filter_predicate(filters, states)
    workflows = [wf for wf in _api.batch().list_workflows(environment=env) if keep(wf)]
    jobs = long_running_jobs(env)
    for wf in workflows:  # services and apps say so, with their address and health
        if wf["slug"] in jobs:
            found = jobs[wf["slug"]]
            wf.update(job_type=found["job_type"], url=found["url"], health=found["health"])
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
    filtered = " matching the filter" if (filters or states) else ""
    out.table(
        [
            Column("name", no_wrap=True),
            *KIND_COLUMNS[: 2 if jobs else 0],
            Column("version", "right", no_wrap=True),
            Column("tasks", "right", no_wrap=True),
            Column("schedule", no_wrap=not wide),
            Column("state", no_wrap=True),
            Column("last run"),
            Column("history (last 10)"),
        ],
        rows,
        empty=f"No workflows{filtered} in {env}.",
    )
    legend = history_legend(
        r.get("state") for wf in workflows for r in wf.get("recent_runs") or [])
    if rows and out.rich and legend:
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
@common_options
def get_command(
    name: str, version: int | str | None, run_limit: int, source: bool, env: str, as_json: bool
) -> None:
    """Show a workflow: its definition (tasks, dependencies, resources, schedule), its
    versions and its recent runs. NAME is the display name or the slug.

    \b
    Examples:
      dt job get daily_sales_report
      dt job get "Complex Pipeline" --version 2 -e prod
      dt job get complex-pipeline --source
      dt job get complex-pipeline --json
    """
    wf = _api.open_workflow(name, env)
    definition = dict(wf.definition(version=_api.resolve_version(wf, version)))
    if source and not as_json:
        click.echo(
            definition.get("source") or "", nl=not str(definition.get("source", "")).endswith("\n")
        )
        return
    versions = wf.versions()
    recent = wf.runs(limit=run_limit, refresh=True) if run_limit else []
    if as_json:
        emit_json({**definition, "versions": versions, "recent_runs": recent})
        return

    out = Printer()
    latest = versions[-1]["job_version"] if versions else definition.get("job_version")
    tasks = list(definition.get("tasks") or [])
    names = {t.get("id"): t.get("name") for t in tasks}
    out.heading(
        f"{definition.get('name')}  ({definition.get('slug')}, {definition.get('environment', env)})"
    )
    out.fields(
        [
            (
                "version",
                f"{definition.get('job_version')} of {latest}, created {fmt_time(definition.get('created_at'))}",
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
    out.table(columns, rows, title="Tasks", empty="No tasks.")
    out.blank()
    _versions_table(out, versions, title="Versions")
    if run_limit:
        out.blank()
        out.table(
            RUN_COLUMNS, [run_row(r) for r in recent], title="Recent runs", empty="No runs yet."
        )


# ---------------------------------------------------------------- runs


@job.command("runs", short_help="List the runs of a workflow.", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option(
    "--since",
    type=TimeBound(),
    default=None,
    help="Runs that started at or after this time (2026-04-09, 2026-04-09T06:00, today, 6h, 2d).",
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
    "--limit",
    "-n",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="At most this many runs, newest first (0: all).",
)
@common_options
def runs_command(
    name: str,
    since: datetime | None,
    until: datetime | None,
    state: str | None,
    limit: int,
    env: str,
    as_json: bool,
) -> None:
    """List the runs of a workflow, newest first.

    \b
    Examples:
      dt job runs daily_sales_report
      dt job runs daily_sales_report --since 2026-04-01 --until 2026-04-09T18:00
      dt job runs daily_sales_report --since 1d --state failed --limit 5 --json
    """
    wf = _api.open_workflow(name, env)
    runs = wf.runs(
        start_time=since,
        end_time=until,
        refresh=True,
        limit=limit or None,
        state=state.lower() if state else None,
    )
    if as_json:
        emit_json(runs)
        return
    out = Printer()
    out.table(
        RUN_COLUMNS,
        [run_row(r) for r in runs],
        empty=f"No runs of {_api.display_name(wf)!r} in {env} match.",
    )
    if limit and len(runs) == limit:
        total = wf.count_runs(
            start_time=since, end_time=until, state=state.lower() if state else None
        )
        if total > limit:
            note(f"Showing the newest {limit} of {total} runs (--limit N for more, 0 for all).")


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


@job.command("stop", short_help="Stop a running run.", context_settings=CONTEXT_SETTINGS)
@click.argument("run_id", type=int)
@click.option("--wait", "-w", is_flag=True, help="Wait until the run has stopped.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30,
    show_default=True,
    metavar="SECONDS",
    help="With --wait: give up waiting after this long.",
)
@common_options
def stop_command(run_id: int, wait: bool, timeout: float, env: str, as_json: bool) -> None:
    """Stop a run: a pending run at once; a running one's tasks are ended by the process that
    runs it, and tasks not yet started will not start.

    \b
    Examples:
      dt job stop 42
      dt job stop 42 -e prod --wait --json
    """
    wf = _api.workflow_for_run(run_id, env)
    if not wf.stop(run_id):
        state = wf.run_details(run_id).get("state")
        raise CliError(f"Run {run_id} of {_api.display_name(wf)!r} is not running: it is {state}.")
    if wait:
        _api.batch().Run(wf, run_id).wait(timeout=timeout)
    details = without_tasks(wf.run_details(run_id))
    if as_json:
        emit_json(details)
        return
    asked = "Stopped" if details.get("state") in FINISHED_STATES else "Asked to stop"
    note(f"{asked} run {run_id} of {_api.display_name(wf)!r} in {_api.env_of(wf)}.")
    Printer().table(RUN_COLUMNS, [run_row(details)])


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
            Column("created", no_wrap=True),
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
    short_help="Copy a version of a workflow to another environment.",
    context_settings=CONTEXT_SETTINGS,
)
@click.argument("name")
@click.argument("version", type=VersionType())
@click.argument(
    "to_environment", metavar="ENV", type=click.Choice(ENVIRONMENTS, case_sensitive=False)
)
@common_options
def promote_command(
    name: str, version: int | str | None, to_environment: str, env: str, as_json: bool
) -> None:
    """Copy VERSION of a workflow (from --env, default dev) to ENV as a new version there.
    VERSION is a number or `latest`.

    \b
    Examples:
      dt job promote daily_sales_report 3 pre
      dt job promote daily_sales_report latest prod -e pre
    """
    to_environment = to_environment.lower()
    wf = _api.open_workflow(name, env)
    version = _api.resolve_version(wf, version)
    new_version = wf.promote(to_environment, version)
    if as_json:
        emit_json(
            {
                "name": _api.display_name(wf),
                "slug": getattr(wf, "slug", None),
                "environment": env,
                "job_version": version,
                "to_environment": to_environment,
                "new_job_version": new_version,
            }
        )
        return
    click.echo(
        f"Promoted {_api.display_name(wf)!r} version {version} from {env} to "
        f"{to_environment}: version {new_version} there."
    )


@job.command(
    "rm", short_help="Remove a workflow from an environment.", context_settings=CONTEXT_SETTINGS
)
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@common_options
def rm_command(name: str, yes: bool, env: str, as_json: bool) -> None:
    """Remove a workflow from an environment (it will no longer be listed or scheduled there).

    \b
    Examples:
      dt job rm old_report
      dt job rm old_report -e pre --yes
    """
    wf = _api.open_workflow(name, env)
    display = _api.display_name(wf)
    if not yes:
        click.confirm(f"Remove workflow {display!r} from {env}?", abort=True, err=True)
    wf.remove()
    if as_json:
        emit_json(
            {
                "name": display,
                "slug": getattr(wf, "slug", None),
                "environment": env,
                "removed": True,
            }
        )
        return
    click.echo(f"Removed {display!r} from {env}.")


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
    """Stop a service or app (its whole process group; it stays down until started), or a
    run of a workflow given by its run id.

    \b
    Examples:
      dt job stop my-service
      dt job stop 42 --wait
    """
    if name_or_run_id.isdigit():
        ctx = click.get_current_context()
        ctx.invoke(_stop_run_command, run_id=int(name_or_run_id), wait=wait, timeout=timeout,
                   env=env, as_json=as_json)
        return
    handle = _open_long_running(name_or_run_id, env)
    _ok, message = handle.stop(wait=True, timeout=timeout)
    listing = _listing_of(handle, env)
    if as_json:
        emit_json(listing[0] if listing else {})
        return
    note(message)
    _service_table(listing)
