"""The root ``dt`` group and the one place where errors become an exit status.

Every error the API raises on purpose (``DatatailrError``, ``ValueError``) becomes one
``Error: ...`` line on stderr and exit status 1; usage errors stay click's (status 2). A
traceback is shown only with ``dt --debug`` (or ``--debug`` on a command, or
``DATATAILR_DEBUG=1``). Ctrl-C ends a command quietly with status 130.
"""

from __future__ import annotations

import errno
import os

import click

from datatailr.cli import agent as _agent
from datatailr.cli import blob as _blob
from datatailr.cli import job as _job
from datatailr.cli import kv as _kv
from datatailr.cli import log as _log
from datatailr.cli import result as _result
from datatailr.cli import secret as _secret
from datatailr.cli._options import CONTEXT_SETTINGS, DEBUG_KEY, CliError, is_debug


def one_line(exc: BaseException) -> str:
    """The error message on one line (API messages may list valid names on several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines) or type(exc).__name__


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


main.add_command(_job.job)
main.add_command(_log.log)
main.add_command(_result.result)
main.add_command(_agent.agent)
main.add_command(_blob.blob)
main.add_command(_kv.kv)
main.add_command(_secret.secret)
main.add_command(__import__("datatailr.cli.ui", fromlist=["ui"]).ui)
