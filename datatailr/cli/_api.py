"""The public API as the commands reach it: imported on first use, never at ``dt --help``.

Lookups only (a workflow by name or by run id, the latest run), and ``reads_only``: the
commands that only look run on the platform's read-only fast path (a plain SQLite store read
with the standard library, SQLAlchemy never imported) and, when that path cannot answer (a
migration, a run to mark ``unknown``, PostgreSQL), again on the full store; no platform logic.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from datatailr.cli._options import CliError

F = TypeVar("F", bound=Callable[..., Any])


def reads_only(when: Callable[[dict[str, Any]], bool] | None = None) -> Callable[[F], F]:
    """A command that only reads (``when(params)`` says so, for a command that sometimes
    writes or follows): run on the read-only fast path, and once more on the full store if
    that path raised ``NeedsFullStore``. Such a command must read everything before it
    prints (each one does; tests/cli/test_cli_fastread.py hands each over, with a store to
    migrate, and those that mark runs with a run to mark), so the first
    attempt has printed nothing when it hands over; the output is the full store's byte for
    byte either way."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def run(*args: Any, **params: Any) -> Any:
            if when is not None and not when(params):
                return command(*args, **params)
            from datatailr.scheduler.platform import NeedsFullStore, read_only

            try:
                with read_only():
                    return command(*args, **params)
            except NeedsFullStore:
                pass
            return command(*args, **params)

        return run  # type: ignore[return-value]

    return decorate


def batch() -> Any:
    """``datatailr.scheduler.batch`` (Workflow, list_workflows, Run)."""
    import datatailr.scheduler.batch as module

    return module


def open_workflow(name: str, env: str, version: int | None = None) -> Any:
    """The handle on a stored workflow; the API's error names what exists when it does not."""
    workflow_cls = batch().Workflow
    if version is None:
        return workflow_cls(name, environment=env, get_existing=True)
    return workflow_cls(name, environment=env, get_existing=True, version=version)


def resolve_version(wf: Any, version: int | str | None) -> int | None:
    """A --version value for the API: `latest` becomes the newest version's number."""
    if version == "latest":
        versions = wf.versions()
        return int(versions[-1]["job_version"]) if versions else None
    return version if version is None else int(version)


def workflow_for_run(run_id: int, env: str) -> Any:
    """The workflow a (globally numbered) run belongs to."""
    return batch().Workflow.for_run(run_id, environment=env)


def latest_run_id(wf: Any) -> int:
    """The newest run of ``wf``; an error naming the workflow when it never ran."""
    runs = wf.runs(limit=1, refresh=True)
    if not runs:
        raise CliError(
            f"Workflow {display_name(wf)!r} has no runs in {env_of(wf)} yet: "
            f"start one with `dt job run {slug_of(wf)!s} -e {env_of(wf)}`."
        )
    return int(runs[0]["run_id"])


def display_name(wf: Any) -> str:
    return str(getattr(wf, "name", None) or getattr(wf, "slug", "?"))


def slug_of(wf: Any) -> str:
    slug = getattr(wf, "slug", None)
    if slug:
        return str(slug)
    name = display_name(wf)
    return repr(name) if " " in name else name


def env_of(wf: Any) -> str:
    return str(getattr(wf, "environment", "dev"))
