"""The public API as the commands reach it: imported on first use, never at ``dt --help``.

Lookups only (a workflow by name or by run id, the latest run); no platform logic.
"""

from __future__ import annotations

from typing import Any

from datatailr.cli._options import CliError


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
