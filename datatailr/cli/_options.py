"""Options every command shares (--env/-e, --json, --debug) and the parameter types of ``dt``.

Parsing only: values are handed to the public API unchanged wherever it accepts them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DEBUG_KEY = "datatailr.debug"
ENV_VARIABLE = "DATATAILR_JOB_ENVIRONMENT"
ENVIRONMENTS = ("dev", "pre", "prod")

#: The run and task states. Used for --state choices and to know when a --follow may stop.
STATES = (
    "pending",
    "scheduled",
    "running",
    "completed",
    "failed",
    "failed_after",
    "stopped",
    "expired",
    "did_not_run",
    "unknown",
)
FINISHED_STATES = frozenset(
    {"completed", "failed", "failed_after", "stopped", "expired", "did_not_run", "unknown"}
)


class CliError(click.ClickException):
    """Printed by click as ``Error: <message>`` on stderr; exit status 1."""

    exit_code = 1


def is_debug(ctx: click.Context | None) -> bool:
    return bool(ctx is not None and ctx.meta.get(DEBUG_KEY))


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[DEBUG_KEY] = True
    return value


def common_options(func: F) -> F:
    """--env/-e, --json and a hidden --debug (so `dt job ls --debug` works like `dt --debug job ls`)."""
    func = click.option(
        "--debug", is_flag=True, hidden=True, expose_value=False, is_eager=True, callback=_set_debug
    )(func)
    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print machine-readable JSON (keys as in the Python API, times as ISO 8601).",
    )(func)
    func = click.option(
        "--env",
        "-e",
        "env",
        type=click.Choice(ENVIRONMENTS, case_sensitive=False),
        default="dev",
        envvar=ENV_VARIABLE,
        show_default=True,
        show_envvar=True,
        help="Environment to work in.",
    )(func)
    return func


class TimeBound(click.ParamType):
    """A point in time: ISO 8601 (`2026-04-09`, `2026-04-09T06:00`, with or without an offset;
    without one it is UTC, as the tables show times), `now`, `today`, `yesterday` (UTC
    midnights), or an age like `30m`, `6h`, `2d`, `1w` (that long ago). Always handed to the
    API as an aware UTC datetime."""

    name = "time"
    _AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days|w|wk|weeks?)\s*$", re.I)
    _UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return _aware_utc(value)
        text = str(value).strip()
        lowered = text.lower()
        now = datetime.now(timezone.utc)
        if lowered == "now":
            return now.astimezone(timezone.utc)
        if lowered in ("today", "yesterday"):
            midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
            if lowered == "yesterday":
                midnight -= timedelta(days=1)
            return midnight.astimezone(timezone.utc)
        age = self._AGE.match(text)
        if age:
            unit = self._UNITS[age.group(2)[0].lower()]
            return (now - timedelta(**{unit: float(age.group(1))})).astimezone(timezone.utc)
        try:
            parsed = datetime.fromisoformat(
                text.replace("Z", "+00:00") if text.endswith("Z") else text
            )
        except ValueError:
            self.fail(
                f"{text!r} is not a time: write e.g. 2026-04-09, 2026-04-09T06:00, "
                "2026-04-09T06:00+00:00, today, yesterday, 6h or 2d.",
                param,
                ctx,
            )
        return _aware_utc(parsed)


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)  # naive: UTC, as every table shows times
    return value.astimezone(timezone.utc)


LATEST = "latest"


class VersionType(click.ParamType):
    """A version number (1, 2, ...; `v2` too) or `latest`, which stays the string "latest"
    for the command to resolve (its meaning differs: the newest version, not "the default")."""

    name = "version"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | str | None:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == LATEST:
            return LATEST
        if text.startswith("v"):
            text = text[1:]
        if text.isdigit() and int(text) > 0:
            return int(text)
        self.fail(f"{value!r} is not a version: write a number like 3, or `latest`.", param, ctx)
