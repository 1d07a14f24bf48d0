"""``dt agent start|stop|status``: the local agent that fires schedules and runs deployed work.

Thin wrappers over ``datatailr.scheduler.agent`` (``agent_status``, ``start_agent``,
``stop_agent``). There is one agent per DATATAILR_HOME, serving every environment; --env is
accepted for symmetry with the other commands.
"""

from __future__ import annotations

from typing import Any

import click

from datatailr.cli._options import CONTEXT_SETTINGS, common_options
from datatailr.cli._render import Printer, emit_json, note


def _agent_api() -> Any:
    import datatailr.scheduler.agent as module

    return module


@click.group(context_settings=CONTEXT_SETTINGS, short_help="The local agent: start, stop, status.")
def agent() -> None:
    """The local agent: one per DATATAILR_HOME; it starts deployed and scheduled runs.

    \b
    Examples:
      dt agent status
      dt agent start --background
      dt agent stop
    """


def _show_status(status: dict) -> None:
    running = bool(status.get("running"))
    fields = [
        ("agent", "running" if running else "not running"),
        ("pid", status.get("pid")),
        ("started at", status.get("started_at")),
        ("log file", status.get("log_file")),
        ("home", status.get("home")),
    ]
    Printer().fields([(k, v) for k, v in fields if v is not None])


@agent.command(
    "status",
    short_help="Is the agent running? Its pid and log file.",
    context_settings=CONTEXT_SETTINGS,
)
@common_options
def status_command(env: str, as_json: bool) -> None:
    """Say whether the agent of this DATATAILR_HOME is running, its pid and log file.

    \b
    Examples:
      dt agent status
      dt agent status --json
    """
    status = _agent_api().agent_status()
    if as_json:
        emit_json(status)
        return
    _show_status(status)


@agent.command(
    "start",
    short_help="Run the agent (foreground, or --background).",
    context_settings=CONTEXT_SETTINGS,
)
@click.option(
    "--background",
    "-b",
    is_flag=True,
    help="Start it detached, writing to its log file, and return at once.",
)
@common_options
def start_command(background: bool, env: str, as_json: bool) -> None:
    """Run the agent: in the foreground until Ctrl-C (or SIGTERM), or with --background as a
    detached process. Does nothing but report when an agent already runs.

    \b
    Examples:
      dt agent start
      dt agent start --background
    """
    api = _agent_api()
    before = api.agent_status()
    if before.get("running"):
        if as_json:
            emit_json(before)
        else:
            note(f"The agent is already running (pid {before.get('pid')}).")
            _show_status(before)
        return
    if not background and not as_json:
        note("Running the agent in the foreground; Ctrl-C stops it.")
    status = api.start_agent(background=background)
    if as_json:
        emit_json(status)
        return
    if background:
        note(f"Started the agent (pid {status.get('pid')}); its log is {status.get('log_file')}.")
        _show_status(status)
    else:
        note("The agent stopped.")


@agent.command("stop", short_help="Stop the agent.", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=10,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for it to end.",
)
@common_options
def stop_command(timeout: float, env: str, as_json: bool) -> None:
    """Stop the agent of this DATATAILR_HOME (runs in progress are left to finish or are
    marked by the next agent, as the agent decides).

    \b
    Examples:
      dt agent stop
      dt agent stop --timeout 30 --json
    """
    api = _agent_api()
    stopped = bool(api.stop_agent(timeout=timeout))
    if as_json:
        emit_json({"stopped": stopped, **api.agent_status()})
        return
    note("Stopped the agent." if stopped else "No agent was running.")
