"""``dt agent start|stop|status|ls``: the agents that fire schedules and run deployed work.

Thin wrappers over ``datatailr.scheduler.agent`` (``agent_status``, ``start_agent``,
``stop_agent``, ``live_agents``). There is one agent per queue and DATATAILR_HOME, serving
every environment (``--queue``, default ``default``); ``ls`` lists every agent of the store,
on any machine. --env is accepted for symmetry with the other commands.
"""

from __future__ import annotations

from typing import Any

import click

from datatailr.cli._options import CONTEXT_SETTINGS, common_options
from datatailr.cli._render import Printer, emit_json, note


def _agent_api() -> Any:
    import datatailr.scheduler.agent as module

    return module


def queue_option(multiple: bool = False) -> Any:
    return click.option(
        "--queue", "-q", "queues" if multiple else "queue", multiple=multiple,
        default=() if multiple else "default", show_default=not multiple, metavar="NAME",
        help=("A queue to serve (repeat for several; default: default). Workflows choose "
              "theirs with @workflow(queue=...)." if multiple else "The agent of this queue."))


@click.group(context_settings=CONTEXT_SETTINGS, short_help="The local agent: start, stop, status.")
def agent() -> None:
    """The local agent: one per DATATAILR_HOME; it starts deployed and scheduled runs.

    \b
    Examples:
      dt agent status
      dt agent start --background
      dt agent start --background --queue gpu
      dt agent ls
      dt agent stop
    """


def _show_status(status: dict) -> None:
    running = bool(status.get("running"))
    fields = [
        ("agent", "running" if running else "not running"),
        ("queues", ", ".join(status.get("queues") or [status.get("queue", "default")])),
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
@queue_option()
@common_options
def status_command(queue: str, env: str, as_json: bool) -> None:
    """Say whether the agent of this DATATAILR_HOME serving --queue is running, its pid and
    log file.

    \b
    Examples:
      dt agent status
      dt agent status --queue gpu --json
    """
    status = _agent_api().agent_status(queue)
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
@queue_option(multiple=True)
@common_options
def start_command(background: bool, queues: tuple[str, ...], env: str, as_json: bool) -> None:
    """Run an agent serving --queue (default: default): in the foreground until Ctrl-C (or
    SIGTERM), or with --background as a detached process. Does nothing but report when an
    agent already serves the (first) queue.

    \b
    Examples:
      dt agent start
      dt agent start --background
      dt agent start --background --queue gpu --queue default
    """
    api = _agent_api()
    queues = queues or ("default",)
    before = api.agent_status(queues[0])
    if before.get("running"):
        if as_json:
            emit_json(before)
        else:
            note(f"The agent is already running (pid {before.get('pid')}).")
            _show_status(before)
        return
    if not background and not as_json:
        note("Running the agent in the foreground; Ctrl-C stops it.")
    status = api.start_agent(background=background, queues=list(queues))
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
@queue_option()
@common_options
def stop_command(timeout: float, queue: str, env: str, as_json: bool) -> None:
    """Stop the agent of this DATATAILR_HOME serving --queue (runs in progress are left to
    finish or are marked by the next agent, as the agent decides).

    \b
    Examples:
      dt agent stop
      dt agent stop --queue gpu --timeout 30 --json
    """
    api = _agent_api()
    stopped = bool(api.stop_agent(timeout=timeout, queue=queue))
    if as_json:
        emit_json({"stopped": stopped, **api.agent_status(queue)})
        return
    note("Stopped the agent." if stopped else "No agent was running.")


@agent.command("ls", short_help="Every live agent of the store, on any machine.",
               context_settings=CONTEXT_SETTINGS)
@common_options
def ls_command(env: str, as_json: bool) -> None:
    """List the agents serving this store, on this machine or others sharing its database:
    host, pid, queues, when each started and its last heartbeat. An agent whose heartbeat
    is older than a minute is gone and not listed.

    \b
    Examples:
      dt agent ls
      dt agent ls --json
    """
    from datetime import datetime, timezone

    rows = [{**a, "started_at": datetime.fromtimestamp(a["started_at"], timezone.utc),
             "heartbeat": datetime.fromtimestamp(a["heartbeat"], timezone.utc)}
            for a in _agent_api().live_agents()]
    if as_json:
        emit_json(rows)
        return
    Printer().table(["host", "pid", "queues", "started at", "heartbeat", "home"],
                    [[a["host"], a["pid"], ", ".join(a["queues"]), a["started_at"],
                      a["heartbeat"], a["home"]] for a in rows],
                    empty="No agent serves this store.")
