"""The root ``dt`` group and the one place where errors become an exit status.

Every error the API raises on purpose (``DatatailrError``, ``ValueError``) becomes one
``Error: ...`` line on stderr and exit status 1; usage errors stay click's (status 2). A
traceback is shown only with ``dt --debug`` (or ``--debug`` on a command, or
``DATATAILR_DEBUG=1``). Ctrl-C ends a command quietly with status 130.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from typing import Any

import click

from datatailr.cli._options import CONTEXT_SETTINGS, DEBUG_KEY, CliError, is_debug


def one_line(exc: BaseException) -> str:
    """The error message on one line (API messages may list valid names on several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines) or type(exc).__name__


#: The command groups, imported only when named (``dt job ls`` loads cli/job.py and nothing of
#: the other groups); ``dt --help`` imports them all for their one-line help.
LAZY_COMMANDS = {
    "job": ("datatailr.cli.job", "job"),
    "log": ("datatailr.cli.log", "log"),
    "result": ("datatailr.cli.result", "result"),
    "agent": ("datatailr.cli.agent", "agent"),
    "blob": ("datatailr.cli.blob", "blob"),
    "kv": ("datatailr.cli.kv", "kv"),
    "secret": ("datatailr.cli.secret", "secret"),
    "ui": ("datatailr.cli.ui", "ui"),
}


class _LazyCommands(dict):
    """``main.commands``: a group is imported when it is looked up by name; listing or
    iterating (``dt --help``, completion) imports them all, so the mapping is always whole."""

    def _load(self, name: str) -> None:
        if name in LAZY_COMMANDS and not dict.__contains__(self, name):
            import importlib

            module, attr = LAZY_COMMANDS[name]
            dict.__setitem__(self, name, getattr(importlib.import_module(module), attr))

    def _load_all(self) -> None:
        for name in LAZY_COMMANDS:
            self._load(name)

    def __getitem__(self, name: str) -> click.Command:
        self._load(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self._load(name)
        return dict.get(self, name, default)

    def __contains__(self, name: object) -> bool:
        return name in LAZY_COMMANDS or dict.__contains__(self, name)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._load_all()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._load_all()
        return dict.keys(self)

    def values(self) -> Any:
        self._load_all()
        return dict.values(self)

    def items(self) -> Any:
        self._load_all()
        return dict.items(self)


class DtGroup(click.Group):
    """The root group: runs the command tree and translates what escapes from it."""


    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            if is_debug(ctx):
                raise
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except OSError as exc:
            if exc.errno == errno.EPIPE or is_debug(ctx):
                raise  # click handles a closed pipe (`dt job runs x | head`) quietly
            raise CliError(one_line(exc)) from None
        except Exception as exc:
            if is_debug(ctx):
                raise
            from datatailr.errors import DatatailrError

            if isinstance(exc, (DatatailrError, ValueError)):
                raise CliError(one_line(exc)) from None
            # A bug, not a user error: say so, and how to see where.
            raise CliError(
                f"{type(exc).__name__}: {one_line(exc)} (run `dt --debug ...` for the traceback)"
            ) from None


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value or os.environ.get("DATATAILR_DEBUG", "").lower() in ("1", "true", "yes"):
        ctx.meta[DEBUG_KEY] = True
    return value


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("datatailr-local-first")
    except PackageNotFoundError:  # run from a source tree that was never installed
        number = "unknown (not installed)"
    click.echo(f"dt {number}")
    ctx.exit()


@click.group("dt", cls=DtGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show the full traceback when a command fails (also: DATATAILR_DEBUG=1).",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def main() -> None:
    """Operate datatailr workflows from a shell: list them, look at runs, logs and results,
    start, rerun, stop, promote and remove them, and run the local agent; blobs, KV entries
    and secrets too.

    Every command takes --env/-e dev|pre|prod (default: $DATATAILR_JOB_ENVIRONMENT, else dev)
    and --json for machine-readable output. The store is the one in $DATATAILR_HOME
    (default ~/.datatailr).

    \b
    Examples:
      dt job ls
      dt job get daily_sales_report
      dt log read daily_sales_report
      dt --debug job runs daily_sales_report --json
    """


main.commands = _LazyCommands(main.commands)
