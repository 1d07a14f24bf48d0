"""The public API of workflows: ``@workflow``, the ``Workflow`` handle, ``Run``, ``list_workflows``.

The vendor SDK's import path (``datatailr.scheduler.batch.Workflow``). Composes core
(tracing), store (history) and engine (execution); UIs build on these names only.
Times in everything returned are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from datatailr.core import dag as dag_mod
from datatailr.core import validate
from datatailr.core.dag import Task  # noqa: F401 - the hosted SDK's import path
from datatailr.core.durations import parse_duration
from datatailr.core.environment import Environment, resolve_environment
from datatailr.core.names import display_name_from_function, slugify
from datatailr.core.resources import Resources
from datatailr.core.schedule import Schedule
from datatailr.core.states import ALL_STATES as STATES
from datatailr.core.states import FINISHED_STATES
from datatailr.errors import (  # noqa: F401 - the hosted SDK's import paths of these errors
    CodePackageMismatchError,
    CyclicDependencyError,
    DuplicateJobNameError,
    InvalidArgumentError,
    MissingDagError,
    NotFoundError,
    RunFailedError,
    StorageError,
)

__all__ = ["FINISHED_STATES", "STATES", "InstantRunHandle", "Run", "Workflow", "WorkflowFunction",
           "list_workflows", "workflow"]

# -- conversions ---------------------------------------------------------------------------


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


def _ts(value: datetime | None, what: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidArgumentError(f"{what}={value!r}: give a datetime (or None).")
    if value.tzinfo is None:  # naive datetimes are read as UTC, the store's clock
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _run_dict(row: dict, workflow: dict, _from: Any = datetime.fromtimestamp,
              _utc: Any = timezone.utc) -> dict:
    # The hot loop of every history read (10,000 rows: 40,000 times): conversions inline.
    get = row.get
    start, end, scheduled = get("start_time"), get("end_time"), get("scheduled_time")
    return {
        "run_id": int(row["run_id"]),
        "workflow": workflow["name"],
        "slug": workflow["slug"],
        "environment": workflow["environment"],
        "state": row["state"],
        "job_version": int(row["job_version"]),
        "start_time": None if start is None else _from(start, _utc),
        "end_time": None if end is None else _from(end, _utc),
        "created_at": _from(row["created_at"], _utc),
        "duration": (end - start) if start is not None and end is not None else None,
        "original_run_id": get("original_run_id"),
        "rerun_of": get("rerun_of"),
        "full": bool(get("full")),
        "trigger": get("trigger"),
        "scheduled_time": None if scheduled is None else _from(scheduled, _utc),
    }


def _reconcile(rows: list[dict]) -> None:
    """A run shown as running that nobody executes any more is ``unknown``: its process on
    this machine is gone (or is this process, which no longer runs it), or its heartbeat is
    stale (its machine, wherever it is, stopped recording it). Nothing stays running after its
    process ends, whether or not an agent is there to notice. The row is fixed in the store
    when that is possible at once; the read never waits for it."""
    if not any(row.get("state") == "running" for row in rows):
        return  # nothing to look at: no imports (a cold `dt` read stays off SQLAlchemy)
    import os
    import socket

    from datatailr.scheduler.agent import pid_alive
    from datatailr.store.recorder import IN_FLIGHT, STALE_AFTER_SECONDS

    host = None
    now = time.time()
    for row in rows:
        if row.get("state") != "running":
            continue
        host = host or socket.gethostname()
        why = None
        if row.get("host") == host and row.get("pid"):
            if row["pid"] == os.getpid() and row["run_id"] not in IN_FLIGHT:
                why = "This process stopped recording it."
            elif not pid_alive(row["pid"]):
                why = "The process running it died."
        beat = row.get("heartbeat")
        if why is None and beat is not None and now - beat > STALE_AFTER_SECONDS:
            why = (f"Its heartbeat stopped at {_dt(beat)} (on {row.get('host')}): the process "
                   f"or machine running it is gone.")
        if why is None:
            continue
        meta = _platform().metadata
        if meta.try_mark_abandoned(row["run_id"], "unknown", why):
            row.update(meta.get_run(row["run_id"]) or {})
        else:
            row.update(state="unknown", error=why)


def _platform():
    from datatailr.scheduler.platform import current_platform

    return current_platform()


# -- @workflow -----------------------------------------------------------------------------

_CALL_OPTIONS = ("local_run", "save_only", "to_json", "environment", "raise_on_failure",
                 "progress", "instant_run")
#: Call-time keywords of the hosted SDK that mean something on a container platform only:
#: recorded with the version like the decorator's.
_VENDOR_CALL_OPTIONS = ("image", "run_as", "acl", "python_version", "build_script_pre",
                        "build_script_post", "build_secret_keys", "budget", "instant_run_mode",
                        "instant_run_embed", "instant_run_workstation_image")


def _module_frame() -> Any:
    """The frame of the user's code that called the workflow (outside this module)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back  # type: ignore[assignment]
    return frame


def _called_during_import() -> bool:
    """Is the call top-level code of a module being imported (not a script run, not a
    function)? ``from my_workflow import pipeline`` on a file that deploys at top level."""
    frame = _module_frame()
    return (frame is not None and frame.f_code.co_name == "<module>"
            and frame.f_globals.get("__name__") not in ("__main__", None)
            and "__file__" in frame.f_globals)


def _inside_cli_command() -> bool:
    """Called by a ``dt`` command? It prints its own lines (stdout stays JSON with --json)."""
    click = sys.modules.get("click")
    return click is not None and click.get_current_context(silent=True) is not None


def _importing_module() -> str:
    frame = _module_frame()
    return str(frame.f_globals.get("__name__")) if frame is not None else "?"


class WorkflowFunction:
    """What ``@workflow`` returns. Calling it deploys; ``local_run=True`` runs it here and now."""

    def __init__(self, body: Callable, *, name: str | None, schedule: Any,
                 resources: Resources | None, env_vars: dict | None, fail_after: Any,
                 expire_after: Any, python_requirements: Any, platform_options: dict,
                 queue: str = "default", max_concurrent_runs: int | None = None) -> None:
        if not callable(body):
            raise InvalidArgumentError(f"@workflow decorates a function, not {body!r}.")
        self.body = body
        self.name = name if name is not None else display_name_from_function(body.__name__)
        if not isinstance(self.name, str) or not slugify(self.name):
            raise InvalidArgumentError(
                f"@workflow(name={name!r}): a workflow needs a name with at least one letter or "
                f"digit, e.g. @workflow(name='daily_sales_report')."
            )
        self.slug = slugify(self.name)
        self.schedule = Schedule.parse(schedule)
        if resources is not None and not isinstance(resources, Resources):
            raise InvalidArgumentError(
                f"@workflow(resources={resources!r}): give Resources(memory=..., cpu=...).")
        #: what the decorator was given (None: the default, which is shown but not enforced)
        self._given_resources = resources
        self.resources = resources or Resources("100m", 1)
        if env_vars is not None and not isinstance(env_vars, dict):
            raise InvalidArgumentError(f"@workflow(env_vars={env_vars!r}): give a dict.")
        self.env_vars = {str(k): str(v) for k, v in (env_vars or {}).items()}
        self.fail_after = parse_duration(fail_after, "fail_after")
        self.expire_after = parse_duration(expire_after, "expire_after")
        #: the agents' queue that runs it, and how many of its runs may be in flight at once
        self.queue = validate.queue(queue)
        self.max_concurrent_runs = validate.max_concurrent_runs(max_concurrent_runs)
        from datatailr.image.environment import read_requirements

        image_requirements = getattr(platform_options.get("image"), "python_requirements", None)
        if not python_requirements and image_requirements:
            python_requirements = image_requirements  # image=Image(python_requirements=...)
        self._requirements_spec = python_requirements
        #: the requirement strings, or "auto" (inferred from the frozen code when it is saved)
        self.python_requirements: list[str] | str = read_requirements(python_requirements)
        self.platform_options = platform_options
        functools.update_wrapper(self, body)

    def __repr__(self) -> str:
        return f"<workflow {self.name!r}>"

    def trace(self, *args: Any, **kwargs: Any) -> dag_mod.Dag:
        """The DAG of the body, without running or saving anything."""
        return dag_mod.trace(self.body, args, kwargs)

    def check_requirements(self) -> None:
        """For a run here: the requirements must be met by this Python (``"auto"`` pins
        what is installed here, so it always is)."""
        if isinstance(self.python_requirements, list) and self.python_requirements:
            from datatailr.image.environment import check_here

            check_here(self.python_requirements, self.name)

    def _options(self) -> dict:
        return {
            "resources": self.resources.to_dict(),
            "resources_given": self._given_resources is not None,
            "env_vars": self.env_vars,
            "fail_after": self.fail_after,
            "expire_after": self.expire_after,
            "python_requirements": self.python_requirements,
            "queue": self.queue,
            "max_concurrent_runs": self.max_concurrent_runs,
            "platform": {k: repr(v) if not isinstance(v, str | int | float | bool | None) else v
                         for k, v in self.platform_options.items()},
        }

    def definition(self, dag: dag_mod.Dag) -> dict:
        return {
            "name": self.name,
            "slug": self.slug,
            "schedule": self.schedule.to_dict() if self.schedule else None,
            "tasks": dag.describe(),
            **self._options(),
        }

    def with_overrides(self, **overrides: Any) -> WorkflowFunction:
        """A copy with call-time settings (``schedule=``, ``resources=``, ``env_vars=``,
        ``fail_after=``, ``expire_after=``, ``python_requirements=``, platform options)
        replacing the decorator's; None keeps the decorator's value."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        settings = {
            "schedule": self.schedule, "resources": self._given_resources,
            "env_vars": self.env_vars, "fail_after": self.fail_after,
            "expire_after": self.expire_after, "python_requirements": self._requirements_spec,
            "queue": self.queue, "max_concurrent_runs": self.max_concurrent_runs,
        }
        platform_options = dict(self.platform_options)
        for key, value in given.items():
            if key in settings:
                settings[key] = value
            else:
                platform_options[key] = value
        return WorkflowFunction(self.body, name=self.name, platform_options=platform_options,
                                **settings)

    def __call__(self, *args: Any, local_run: bool = False, save_only: bool = False,
                 to_json: bool = False, environment: Environment | str | None = None,
                 raise_on_failure: bool = False, progress: bool = True,
                 instant_run: bool = False, schedule: Any = None,
                 resources: Resources | None = None, env_vars: dict | None = None,
                 fail_after: Any = None, expire_after: Any = None,
                 python_requirements: Any = None, **kwargs: Any) -> Any:
        vendor_only = {k: kwargs.pop(k) for k in list(kwargs) if k in _VENDOR_CALL_OPTIONS}
        effective = self.with_overrides(
            schedule=schedule, resources=resources, env_vars=env_vars, fail_after=fail_after,
            expire_after=expire_after, python_requirements=python_requirements, **vendor_only)
        if effective is not self:
            return effective(*args, local_run=local_run, save_only=save_only, to_json=to_json,
                             environment=environment, raise_on_failure=raise_on_failure,
                             progress=progress, instant_run=instant_run, **kwargs)
        env = resolve_environment(environment)
        if local_run and self.schedule is not None:
            raise InvalidArgumentError(
                f"Workflow {self.name!r} has a schedule ({self.schedule}): local_run=True runs "
                f"once, now. Deploy it (call without local_run) to run on the schedule, or "
                f"remove schedule= to test it locally."
            )
        if local_run and instant_run:
            raise InvalidArgumentError(
                f"{self.name!r}: local_run=True runs here, instant_run=True on the agent; "
                f"give one of them.")
        deploying = not (local_run or to_json)
        if deploying and _called_during_import():
            if os.environ.get("DATATAILR_JOB_TYPE") == "batch":
                return None  # a task imported the module that deploys: never deploy again
            print(f"Warning: {self.name!r} is being deployed while a module is being imported "
                  f"(a top-level call in {_importing_module()!r}); guard the call with "
                  f"`if __name__ == \"__main__\":` to deploy only when the file is run.",
                  file=sys.stderr)
        dag = self.trace(*args, **kwargs)
        if to_json:
            return json.dumps(self.definition(dag), indent=2, default=str)
        if local_run:
            self.check_requirements()
        platform = _platform()
        job_version = self._save(platform, dag, env, reuse_identical=local_run or instant_run)
        handle = Workflow(self.name, environment=env)
        if local_run:
            return self._run_here(platform, handle, dag, job_version, progress, raise_on_failure)
        if save_only:
            print(f"Saved {self.name!r} version {job_version} in {env.value}.")
            return handle
        from datatailr.scheduler.agent import describe_agent, ensure_agent, warn_if_unserved

        agent = ensure_agent(self.queue)
        if instant_run:
            run = handle.start(version=job_version, _quiet=True)
            print(f"Instant run {run.run_id} of {self.name!r} version {job_version} queued on "
                  f"{describe_agent(agent)}.")
            warn_if_unserved(agent)
            return InstantRunHandle(handle, run.run_id)
        if self.schedule is not None:
            print(f"Deployed {self.name!r} version {job_version} to {env.value}: "
                  f"{describe_agent(agent)} runs it on its schedule, "
                  f"{self.schedule.describe()!r} ({self.schedule}).")
            warn_if_unserved(agent)
            return handle
        # The run starts the version this deploy saved, whatever else deploys meanwhile.
        run = handle.start(version=job_version, _quiet=True)
        print(f"Deployed {self.name!r} version {job_version} to {env.value}: run {run.run_id} "
              f"queued on {describe_agent(agent)}. "
              f"Follow it with: dt log read {self.slug} -e {env.value} -i {run.run_id}")
        warn_if_unserved(agent)
        return run

    def _save(self, platform: Any, dag: dag_mod.Dag, env: Environment,
              reuse_identical: bool) -> int:
        from datatailr.image import code as code_mod
        from datatailr.scheduler.execution import save_version

        return save_version(
            platform, name=self.name, slug=self.slug, environment=env.value, dag=dag,
            options=self._options(), source=code_mod.source_text(dag, self.body),
            schedule=self.schedule.to_dict() if self.schedule else None,
            reuse_identical=reuse_identical, body=self.body,
        )

    def rerun(self, run_id: int, *args: Any, local_run: bool = False, full: bool = False,
              environment: Environment | str | None = None, progress: bool = True,
              raise_on_failure: bool = False, **kwargs: Any) -> Run:
        """Fix a task, then resume: save the current code as a version (the latest one when
        nothing changed) and re-run ``run_id`` with it - partially, reusing every completed
        task whose code and inputs are unchanged. ``local_run=True`` runs it here and now;
        otherwise it is queued on the agent."""
        env = resolve_environment(environment)
        handle = Workflow(self.name, environment=env)
        original, _ = handle._run(run_id)
        if original["state"] not in FINISHED_STATES:
            raise InvalidArgumentError(
                f"Run {original['run_id']} is still {original['state']}; stop it first "
                f"(Workflow(...).stop({original['run_id']})) or wait for it to end.")
        dag = self.trace(*args, **kwargs)
        if local_run:
            self.check_requirements()
        platform = _platform()
        job_version = self._save(platform, dag, env, reuse_identical=True)
        if not local_run:
            return handle.rerun(original["run_id"], version=job_version, full=full)
        return self._run_here(platform, handle, dag, job_version, progress, raise_on_failure,
                              rerun_of=original, full=full)

    def _run_here(self, platform: Any, handle: Workflow, dag: dag_mod.Dag, job_version: int,
                  progress: bool, raise_on_failure: bool, rerun_of: dict | None = None,
                  full: bool = False) -> Run:
        from datatailr.scheduler.execution import execute, new_run, run_options
        from datatailr.scheduler.progress import LiveLogEcho, make_progress

        workflow_id = handle._row()["workflow_id"]
        run_id = new_run(platform, workflow_id=workflow_id, job_version=job_version,
                         task_names=dag.names, trigger="local", claimed=True,
                         original_run_id=(rerun_of.get("original_run_id") or rerun_of["run_id"])
                         if rerun_of else None,
                         rerun_of=rerun_of["run_id"] if rerun_of else None, full=full,
                         options=run_options(self._options()))
        listeners: list[Any] = []
        if progress:
            echo = LiveLogEcho(dag, run_id, platform.blobs.local_log_path,
                               redact=_secret_values(platform, handle.environment.value))
            listeners.append(make_progress(dag, self.name, echo=echo))
        execute(platform, run_id, dag, workflow_name=self.name, listeners=listeners)
        run = Run(handle, run_id)
        if raise_on_failure and run.state != "completed":
            raise RunFailedError(f"Run {run_id} of {self.name!r} {run.state}: {run.error}")
        return run


def workflow(name: Any = None, schedule: Any = None, resources: Resources | None = None,
             env_vars: dict | None = None, fail_after: Any = None, expire_after: Any = None,
             python_requirements: Any = "", queue: str = "default",
             max_concurrent_runs: int | None = None, **platform_options: Any) -> Any:
    """Turn a function whose body calls tasks into a workflow.

    ``@workflow``, ``@workflow()``, ``@workflow("Complex Pipeline")`` or
    ``@workflow(name=..., schedule=Schedule(...), fail_after="1h", ...)``. ``queue`` names
    the agents that run it when deployed (``dt agent start --queue NAME``);
    ``max_concurrent_runs`` holds later runs pending while that many are in flight. Options that only
    mean something on a container platform (image, build scripts, acl ...) are recorded.
    """
    def make(body: Callable, given_name: Any = name) -> WorkflowFunction:
        return WorkflowFunction(body, name=given_name, schedule=schedule, resources=resources,
                                env_vars=env_vars, fail_after=fail_after,
                                expire_after=expire_after,
                                python_requirements=python_requirements,
                                platform_options=platform_options, queue=queue,
                                max_concurrent_runs=max_concurrent_runs)

    if callable(name) and not isinstance(name, str):
        return make(name, None)
    if name is not None and not isinstance(name, str):
        raise InvalidArgumentError(f"@workflow(name={name!r}): the name must be a string.")
    return make


# -- the Workflow handle -------------------------------------------------------------------


class Workflow:
    """A handle on a deployed (or locally run) workflow and its history in one environment."""

    def __init__(self, name: str, environment: Environment | str | None = None,
                 get_existing: bool = True, version: int | None = None, **_vendor: Any) -> None:
        if not isinstance(name, str) or not slugify(name):
            raise InvalidArgumentError(f"Workflow(name={name!r}): give the workflow's name.")
        self.environment = resolve_environment(environment)
        self.slug = slugify(name)
        self._name = name
        self._version = version
        self._runs_cache: list[dict] | None = None
        self._runs_cache_key: tuple | None = None
        if get_existing:
            row = self._row()
            self._name = row["name"]
            if version is not None:
                self._version_row(version)

    def __repr__(self) -> str:
        return f"Workflow(name={self.name!r}, environment={self.environment.value!r})"

    # -- lookups --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    def _row(self) -> dict:
        platform = _platform()
        row = platform.metadata.find_workflow(self.slug, self.environment.value)
        if row is None:
            existing = platform.metadata.all_slugs(self.environment.value)
            others = [e.value for e in Environment if e != self.environment
                      and platform.metadata.find_workflow(self.slug, e.value)]
            hint = f" It exists in: {', '.join(others)}." if others else ""
            if platform.metadata.find_workflow(self.slug, self.environment.value,
                                               include_removed=True):
                hint += (f" It was removed; bring it back with "
                        f"Workflow({self._name!r}, get_existing=False).restore() or "
                        f"`dt job restore {self.slug} -e {self.environment.value}`.")
            raise NotFoundError(
                f"No workflow {self._name!r} in environment {self.environment.value!r}.{hint} "
                f"Workflows there: {', '.join(existing) if existing else '(none yet)'}."
            )
        return row

    def _require_workflow(self) -> None:
        """Runs of a workflow only: a service, app or add-in is started by its own handle."""
        kind = self._row().get("job_type", "workflow")
        if kind != "workflow":
            cls = {"service": "Service", "app": "App", "excel_addin": "ExcelAddin"}.get(kind, kind)
            raise InvalidArgumentError(
                f"{self.name!r} in {self.environment.value} is a {kind.replace('_', ' ')}, not a "
                f"workflow: start or restart it with `dt job start {self.slug}` or its {cls} "
                f"handle.")

    def _version_row(self, job_version: int | None = None) -> dict:
        platform = _platform()
        workflow_id = self._row()["workflow_id"]
        job_version = job_version if job_version is not None else self._version
        if job_version is None:
            row = platform.metadata.latest_version(workflow_id)
        else:
            job_version = validate.identifier(job_version, "version")
            row = platform.metadata.get_version(workflow_id, job_version)
        if row is None:
            known = [v["job_version"] for v in platform.metadata.list_versions(workflow_id)]
            raise NotFoundError(
                f"Workflow {self.name!r} has no version {job_version} in "
                f"{self.environment.value!r}; versions: {known or '(none)'}."
            )
        return row

    def run(self, run_id: int) -> Run:
        """A handle on one run of this workflow."""
        run, _ = self._run(run_id)
        return Run(self, run["run_id"])

    @classmethod
    def for_run(cls, run_id: int, environment: Environment | str | None = None) -> Workflow:
        """The workflow a run belongs to (run ids are unique across workflows)."""
        platform = _platform()
        run = platform.metadata.get_run(validate.identifier(run_id, "run_id"))
        if run is None:
            raise NotFoundError(f"No run with run_id {run_id}.")
        row = platform.metadata.workflow_by_id(run["workflow_id"])
        assert row is not None
        if environment is not None and Environment.parse(environment).value != row["environment"]:
            raise NotFoundError(
                f"Run {run_id} belongs to {row['name']!r} in environment "
                f"{row['environment']!r}, not {Environment.parse(environment).value!r}."
            )
        return cls(row["name"], environment=row["environment"])

    @property
    def job_version(self) -> int:
        return int(self._version_row()["job_version"])

    def definition(self, version: int | None = None) -> dict:
        row = self._version_row(version)
        schedule = Schedule.parse(row["schedule"]) if row["schedule"] else None
        d = row["definition"]
        return {
            "name": self.name,
            "slug": self.slug,
            "environment": self.environment.value,
            "job_version": int(row["job_version"]),
            "created_at": _dt(row["created_at"]),
            "schedule": str(schedule) if schedule else None,
            "schedule_description": schedule.describe() if schedule else None,
            "tasks": d["tasks"],
            "options": d.get("options", {}),
            "python_environment": d.get("environment"),
            "image": d.get("image"),
            "source": row["source"],
        }

    def source_files(self, version: int | None = None) -> dict[str, str]:
        """Every file of the user's code frozen in a version (default: the handle's version,
        else the latest): path inside the image -> text. A notebook's cells show as
        ``.datatailr/notebook.py``; versions saved before images had bundles show their task
        functions' source as ``.datatailr/source.py``."""
        from datatailr.image import code as code_mod

        row = self._version_row(version)
        data = _platform().blobs.get_bytes(row["code_key"])
        if data is None:
            raise NotFoundError(
                f"The code of version {row['job_version']} of {self.name!r} is missing from "
                f"the storage (key {row['code_key']!r}).")
        files = code_mod.source_files(data)
        return files or {".datatailr/source.py": row["source"] or ""}

    def diff(self, a: int, b: int) -> str:
        """A unified diff from version ``a`` to version ``b``: every file of their images and
        their definitions (tasks, options, schedule, environment) as JSON. Empty when equal."""
        import difflib

        out: list[str] = []
        files_a, files_b = self.source_files(a), self.source_files(b)
        for path in sorted(set(files_a) | set(files_b)):
            old, new = files_a.get(path), files_b.get(path)
            if old == new:
                continue
            out.extend(difflib.unified_diff(
                (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True),
                fromfile=f"v{a}/{path}" if old is not None else "/dev/null",
                tofile=f"v{b}/{path}" if new is not None else "/dev/null"))
        def_a, def_b = (json.dumps(_comparable(self.definition(v)), indent=2, sort_keys=True,
                                   default=str) + "\n" for v in (a, b))
        out.extend(difflib.unified_diff(def_a.splitlines(keepends=True),
                                        def_b.splitlines(keepends=True),
                                        fromfile=f"v{a}/definition.json",
                                        tofile=f"v{b}/definition.json"))
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)

    def versions(self) -> list[dict]:
        platform = _platform()
        out = []
        for v in platform.metadata.list_versions(self._row()["workflow_id"]):
            schedule = Schedule.parse(v["schedule"]) if v["schedule"] else None
            out.append({"job_version": int(v["job_version"]), "created_at": _dt(v["created_at"]),
                        "task_count": int(v["task_count"]),
                        "schedule": str(schedule) if schedule else None,
                        "removed": v.get("removed_at") is not None})
        return out

    # -- history --------------------------------------------------------------------------
    def runs(self, start_time: datetime | None = None, end_time: datetime | None = None,
             refresh: bool = False, *, limit: int | None = None, offset: int = 0,
             state: str | list[str] | None = None, trigger: str | list[str] | None = None,
             job_version: int | list[int] | None = None,
             rerun_of: int | None = None) -> list[dict]:
        """Runs newest first; bounds filter on start_time, inclusive. ``state``, ``trigger``
        (local, deploy, manual, schedule, rerun) and ``job_version`` take one value or a list;
        ``rerun_of`` keeps the reruns of that run. Cached per instance for the same arguments
        until ``refresh=True``."""
        validate.flag(refresh, "refresh")
        limit = validate.count(limit, "limit")
        offset = validate.count(offset, "offset", allow_none=False) or 0
        state = validate.states(state)
        if rerun_of is not None:
            rerun_of = validate.identifier(rerun_of, "rerun_of")
        # repr: a list is not hashable; a bad value never reaches the cache (the store refuses it)
        key = (start_time, end_time, limit, offset, repr(state), repr(trigger),
               repr(job_version), rerun_of)
        if not refresh and self._runs_cache is not None and self._runs_cache_key == key:
            return list(self._runs_cache)
        row = self._row()
        rows = _platform().metadata.list_runs(
            row["workflow_id"], start=_ts(start_time, "start_time"),
            end=_ts(end_time, "end_time"), state=state, limit=limit, offset=offset,
            trigger=trigger, job_version=job_version, rerun_of=rerun_of)
        _reconcile(rows)
        result = [_run_dict(r, row) for r in rows]
        self._runs_cache, self._runs_cache_key = result, key
        return list(result)

    def count_runs(self, start_time: datetime | None = None, end_time: datetime | None = None,
                   state: str | list[str] | None = None, *,
                   trigger: str | list[str] | None = None,
                   job_version: int | list[int] | None = None,
                   rerun_of: int | None = None) -> int:
        """How many runs ``runs()`` would list with the same filters and no limit."""
        state = validate.states(state)
        if rerun_of is not None:
            rerun_of = validate.identifier(rerun_of, "rerun_of")
        return _platform().metadata.count_runs(
            self._row()["workflow_id"], start=_ts(start_time, "start_time"),
            end=_ts(end_time, "end_time"), state=state, trigger=trigger,
            job_version=job_version, rerun_of=rerun_of)

    def _run(self, run_id: int) -> tuple[dict, dict]:
        run_id = validate.identifier(run_id, "run_id")
        row = self._row()
        run = _platform().metadata.get_run(run_id)
        if run is not None:
            _reconcile([run])
        if run is None or run["workflow_id"] != row["workflow_id"]:
            recent = [r["run_id"] for r in _platform().metadata.list_runs(
                row["workflow_id"], limit=10)]
            raise NotFoundError(
                f"Workflow {self.name!r} ({self.environment.value}) has no run {run_id}; "
                f"its latest runs: {recent or '(none)'}."
            )
        return run, row

    def run_details(self, run_id: int) -> dict:
        run, row = self._run(run_id)
        platform = _platform()
        version = platform.metadata.get_version(row["workflow_id"], run["job_version"])
        specs = {t["id"]: t for t in (version["definition"]["tasks"] if version else [])}
        default_resources = (version["definition"].get("options", {}).get("resources")
                             if version else None)
        details = _run_dict(run, row)
        details["error"] = run.get("error")
        tasks = []
        for t in platform.metadata.task_runs(run["run_id"]):
            spec = specs.get(t["task_id"], {})
            reused = t["result_run_id"] is not None and t["result_run_id"] != run["run_id"]
            tasks.append({
                "id": int(t["task_id"]),
                "name": t["name"],
                "state": t["state"],
                "dependencies": list(spec.get("dependencies", [])),
                "start_time": _dt(t["start_time"]),
                "end_time": _dt(t["end_time"]),
                "resources": spec.get("resources") or default_resources,
                "attempts": int(t["attempts"] or 0),
                "error": t["error"],
                "result_from_run_id": t["result_run_id"] if reused else None,
                # where the attempt ran and what it used (None where not known)
                "host": t.get("host"),
                "pid": t.get("pid"),
                "worker": t.get("worker"),
                "peak_rss": t.get("peak_rss"),
                "cpu_seconds": t.get("cpu_seconds"),
            })
        details["tasks"] = tasks
        return details

    def _task(self, run: dict, task_name: str | None, task_id: int | None) -> dict:
        if task_id is not None:
            task_id = validate.identifier(task_id, "task_id")
        elif task_name is not None and not isinstance(task_name, str):
            raise InvalidArgumentError(f"task_name={task_name!r}: give the task's name as a "
                                       f"string (or task_id=N).")
        tasks = _platform().metadata.task_runs(run["run_id"])
        if task_id is not None:
            for t in tasks:
                if t["task_id"] == task_id:
                    return t
            raise NotFoundError(
                f"Run {run['run_id']} of {self.name!r} has no task id {task_id}; task ids: "
                f"{[t['task_id'] for t in tasks]}."
            )
        if task_name is None:
            raise InvalidArgumentError("Give task_name=... or task_id=....")
        for t in tasks:
            if t["name"] == task_name:
                return t
        raise NotFoundError(
            f"Run {run['run_id']} of {self.name!r} has no task {task_name!r}; its tasks: "
            f"{', '.join(t['name'] for t in tasks)}."
        )

    def logs(self, run_id: int, task_name: str | None = None, stderr: bool = False,
             lines: int = 5000, task_id: int | None = None,
             attempt: int | None = None) -> str:
        """A task's stdout (or stderr), its last ``lines`` lines (None: all). Every attempt
        of a retried task is in it, oldest first; ``attempt=N`` reads attempt N's alone. A
        task reused by a partial rerun shows the logs of the run that computed it."""
        validate.flag(stderr, "stderr")
        validate.count(lines, "lines")  # None: the whole log
        run, _ = self._run(run_id)
        t = self._task(run, task_name, task_id)
        where_run, where_task = run["run_id"], t["task_id"]
        made = t
        if t["result_run_id"] is not None and t["result_run_id"] != run["run_id"]:
            where_run, where_task = t["result_run_id"], t["result_task_id"]  # reused: its logs
            made = _platform().metadata.task_run(where_run, where_task) or t
        if attempt is not None:
            attempt = validate.identifier(attempt, "attempt")
            if not 1 <= attempt <= max(made["attempts"], 1):
                raise InvalidArgumentError(
                    f"attempt={attempt}: task {t['name']!r} of run {where_run} made "
                    f"{made['attempts']} attempt{'s' if made['attempts'] != 1 else ''}; give "
                    f"attempt=1 to {max(made['attempts'], 1)}, or none for all of them.")
        return _platform().blobs.read_log(where_run, where_task,
                                          "stderr" if stderr else "stdout", lines,
                                          attempt=attempt)

    def result(self, run_id: int, task_name: str | None = None,
               task_id: int | None = None) -> Any:
        run, _ = self._run(run_id)
        t = self._task(run, task_name, task_id)
        if t["state"] != "completed" or t["result_run_id"] is None:
            return None  # running, raised, expired, never ran: nothing is stored
        from datatailr.store.results import load_result

        platform = _platform()
        blobs = platform.blobs
        try:
            return load_result(platform.metadata, blobs, t["result_run_id"], t["result_task_id"])
        except KeyError:
            where = blobs.path(blobs.result_key(t["result_run_id"], t["result_task_id"]))
            came = ("" if t["result_run_id"] == run["run_id"]
                    else f" (reused from run {t['result_run_id']})")
            raise StorageError(
                f"The result of task {t['name']!r} of run {run['run_id']}{came} is missing from "
                f"storage: {where}. It completed, so it was stored; the file was removed or "
                f"the storage changed. Rerun the task: "
                f"Workflow({self.name!r}).rerun({run['run_id']}, full=True)."
            ) from None

    # -- operations -----------------------------------------------------------------------
    def start(self, version: int | None = None, *, quiet: bool = False,
              _quiet: bool = False) -> Run:
        """Start a run now, on the local agent: of ``version``, else of the handle's version
        (``Workflow(..., version=N)``), else of the latest. Prints which version it starts."""
        from datatailr.scheduler.agent import describe_agent, ensure_agent, warn_if_unserved
        from datatailr.scheduler.execution import new_run

        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise InvalidArgumentError(f"version={version!r}: give an integer version.")
        self._require_workflow()
        row = self._version_row(version)
        names = [t["name"] for t in row["definition"]["tasks"]]
        options = _run_options(row)
        run_id = new_run(_platform(), workflow_id=self._row()["workflow_id"],
                         job_version=int(row["job_version"]), task_names=names,
                         trigger="deploy" if _quiet else "manual", claimed=False,
                         options=options)
        agent = ensure_agent(options["queue"])
        if not (quiet or _quiet or _inside_cli_command()):
            print(f"Started {self.name!r} version {row['job_version']} in "
                  f"{self.environment.value}: run {run_id} queued on "
                  f"{describe_agent(agent)}.")
            warn_if_unserved(agent)
        self._runs_cache = None
        return Run(self, run_id)

    def rerun(self, run_id: int, version: int | None = None, full: bool = False, *,
              local_run: bool = False, progress: bool = True) -> Run:
        """A new run of ``run_id`` with the code of ``version`` (default: the latest, so "fix,
        redeploy, rerun" runs the fix). Partial unless ``full``: a task that completed is
        reused when its code and constant inputs are the same in both versions and everything
        upstream of it is reused too. Queued on the agent; ``local_run=True`` runs it here and
        now (in a process of its own that imports the version's frozen files) and returns
        when it has ended."""
        from datatailr.scheduler.execution import new_run

        self._require_workflow()
        run, row = self._run(run_id)
        if version is not None:
            if isinstance(version, bool) or not isinstance(version, int):
                raise InvalidArgumentError(f"version={version!r}: give an integer version.")
        target = self._version_row(version)
        if run["state"] not in FINISHED_STATES:
            raise InvalidArgumentError(
                f"Run {run['run_id']} is still {run['state']}; stop it first "
                f"(Workflow(...).stop({run['run_id']})) or wait for it to end."
            )
        names = [t["name"] for t in target["definition"]["tasks"]]
        new_id = new_run(_platform(), workflow_id=row["workflow_id"],
                         job_version=int(target["job_version"]), task_names=names,
                         trigger="local" if local_run else "rerun", claimed=local_run,
                         original_run_id=run.get("original_run_id") or run["run_id"],
                         rerun_of=run["run_id"], full=bool(full),
                         options=_run_options(target))
        self._runs_cache = None
        if local_run:
            from datatailr.scheduler.runner import run_here

            run_here(new_id, progress=progress)
        else:
            from datatailr.scheduler.agent import ensure_agent, warn_if_unserved

            warn_if_unserved(ensure_agent(_run_options(target)["queue"]))
        return Run(self, new_id)

    def stop(self, run_id: int) -> bool:
        run, _ = self._run(run_id)
        return _platform().metadata.request_stop(run["run_id"])

    def remove(self, version: int | None = None, *, purge: bool = False) -> None:
        """Remove the workflow from this environment (it is no longer listed, found or
        scheduled), or only ``version`` (the one before it becomes the latest: a rollback).
        A soft removal, undone by ``restore()``; ``purge=True`` deletes the workflow with its
        versions and its whole history for good."""
        platform = _platform()
        row = self._row()
        if purge:
            if version is not None:
                raise InvalidArgumentError("purge=True deletes the whole workflow: give no "
                                           "version, or remove the version without purge.")
            gone = platform.metadata.remove_workflow(row["workflow_id"])
            for run_id in gone["run_ids"]:
                platform.blobs.delete_run(run_id)
            for key in gone["code_keys"]:
                platform.blobs.delete(key)
            return
        if version is None:
            platform.metadata.set_removed(row["workflow_id"], None, True)
            return
        target = self._version_row(version)
        if not platform.metadata.set_removed(row["workflow_id"], int(target["job_version"]),
                                             True):
            raise InvalidArgumentError(f"Version {version} of {self.name!r} is removed already.")
        self._runs_cache = None

    def restore(self, version: int | None = None) -> None:
        """Undo ``remove()``: the workflow is back, or ``version`` is current again."""
        meta = _platform().metadata
        row = meta.find_workflow(self.slug, self.environment.value, include_removed=True)
        if row is None:
            self._row()  # raises, naming what exists
            return
        if version is None:
            if not meta.set_removed(row["workflow_id"], None, False):
                raise InvalidArgumentError(
                    f"{row['name']!r} is not removed in {self.environment.value}; to make an "
                    f"earlier version current, remove the later ones (remove(version=N)).")
            self._name = row["name"]
            return
        job_version = validate.identifier(version, "version")
        if meta.get_version(row["workflow_id"], job_version) is None:
            known = [v["job_version"] for v in meta.list_versions(row["workflow_id"])]
            raise NotFoundError(f"{row['name']!r} has no version {version}; versions: {known}.")
        if not meta.set_removed(row["workflow_id"], job_version, False):
            raise InvalidArgumentError(f"Version {version} of {row['name']!r} is not removed.")

    def promote(self, from_environment: Environment | str | None = None,
                version: int | None = None, *, to: Environment | str | None = None) -> int:
        """Promote a version as the hosted platform does: from ``from_environment`` (default:
        this handle's) to the next environment, dev -> pre -> prod, or to ``to``. ``version``
        defaults to the source's latest. The version is copied to the target as its next
        version there, whose number is returned."""
        order = [Environment.DEV, Environment.PRE, Environment.PROD]
        source_env = self.environment if from_environment is None else Environment.parse(
            from_environment)
        if to is None:
            if source_env is Environment.PROD:
                raise InvalidArgumentError(
                    f"{self.name!r}: prod is the last environment, there is none after it to "
                    "promote to. promote()'s first argument is the environment to promote "
                    "from (dev -> pre -> prod), as on the hosted platform: to copy a version "
                    "from dev straight to prod write promote('dev', to='prod').")
            target_env = order[order.index(source_env) + 1]
        else:
            target_env = Environment.parse(to)
            if order.index(target_env) <= order.index(source_env):
                raise InvalidArgumentError(
                    f"Cannot promote {self.name!r} from {source_env.value} to "
                    f"{target_env.value}: promotion goes forward, dev -> pre -> prod; name "
                    "a later environment with to=.")
        source = self if source_env == self.environment else Workflow(
            self.slug, environment=source_env)
        row = source._version_row(version)
        platform = _platform()
        meta = platform.metadata
        code = platform.blobs.get_bytes(row["code_key"])
        if code is None:
            raise NotFoundError(f"The code of version {row['job_version']} is missing.")
        with meta.write() as conn:
            workflow_id = meta.ensure_workflow(conn, source.slug, target_env.value, source.name)

            def key_for(job_version: int) -> str:
                return platform.blobs.code_key(target_env.value, source.slug, job_version)

            latest = meta.latest_version(workflow_id, conn)
            next_version = (latest["job_version"] if latest else 0) + 1
            platform.blobs.put_bytes(key_for(next_version), code)
            new_version = meta.add_version(
                conn, workflow_id, definition={**row["definition"],
                                               "promoted_from": {
                                                   "environment": source.environment.value,
                                                   "job_version": row["job_version"]}},
                source=row["source"], code_key_for=key_for, code_hash=row["code_hash"],
                schedule=row["schedule"], task_count=row["task_count"])
        if row["schedule"]:
            from datatailr.scheduler.agent import ensure_agent, warn_if_unserved

            warn_if_unserved(ensure_agent(_run_options(row)["queue"]))
        return new_version


def _comparable(definition: dict) -> dict:
    """A definition without what differs between any two versions (their number, time)."""
    return {k: v for k, v in definition.items()
            if k not in ("job_version", "created_at", "source")}


def _secret_values(platform: Any, environment: str) -> list[str]:
    """The values of this environment's secrets, for the live echo to hide."""
    try:
        from datatailr.store.secrets import SecretStore

        store = SecretStore(platform.config.home)
        return [store.get(environment, name) for name in store.names(environment)]
    except Exception:  # no secrets store, or one that cannot be read: nothing to hide
        return []


def _run_options(version: dict) -> dict:
    from datatailr.scheduler.execution import run_options

    return run_options(version["definition"].get("options", {}))


# -- Run -----------------------------------------------------------------------------------


class Run:
    """One run: what a local run, ``start()`` and ``rerun()`` return."""

    def __init__(self, workflow: Workflow, run_id: int) -> None:
        self.workflow = workflow
        self.run_id = int(run_id)

    def _row(self) -> dict:
        row = _platform().metadata.get_run(self.run_id)
        if row is None:
            raise NotFoundError(f"Run {self.run_id} is gone from the store (was its workflow "
                                f"removed?).")
        _reconcile([row])
        return row

    @property
    def state(self) -> str:
        return str(self._row()["state"])

    @property
    def error(self) -> str | None:
        return self._row().get("error")

    @property
    def failed_tasks(self) -> list[str]:
        return [t["name"] for t in self.run_details()["tasks"] if t["state"] == "failed"]

    def wait(self, timeout: float | None = None, poll: float = 0.1) -> str:
        """Block until the run has finished; returns its state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self.state
            if state in FINISHED_STATES:
                return state
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"Run {self.run_id} is still {state} after {timeout} s.")
            time.sleep(poll)

    def run_details(self) -> dict:
        return self.workflow.run_details(self.run_id)

    def result(self, task_name: str | None = None, task_id: int | None = None) -> Any:
        return self.workflow.result(self.run_id, task_name=task_name, task_id=task_id)

    def logs(self, task_name: str | None = None, stderr: bool = False, lines: int = 5000,
             task_id: int | None = None, attempt: int | None = None) -> str:
        return self.workflow.logs(self.run_id, task_name=task_name, stderr=stderr, lines=lines,
                                  task_id=task_id, attempt=attempt)

    def __repr__(self) -> str:
        row = self._row()
        text = (f"<Run {self.run_id} of {self.workflow.name!r} ({self.workflow.environment.value})"
                f": {row['state']}")
        if row["state"] == "failed":
            failed = self.failed_tasks
            text += f" (failed task{'s' if len(failed) != 1 else ''}: {', '.join(failed)})"
        return text + ">"


class InstantRunHandle:
    """What ``pipeline(instant_run=True)`` returns: a run queued on the agent now (the
    hosted SDK's names: ``status()``, ``task_status()``, ``logs()``, ``result()``,
    ``run_details()``), plus ``wait()``."""

    def __init__(self, workflow: Workflow, run_id: int) -> None:
        self.workflow = workflow
        self.run_id = int(run_id)
        self.environment = workflow.environment
        self.job_id = workflow.slug

    def __repr__(self) -> str:
        return (f"InstantRunHandle(run_id={self.run_id}, job_id={self.job_id!r}, "
                f"workflow={self.workflow.name!r}, environment={self.environment.value!r})")

    def explorer(self) -> Any:
        """The results explorer opened on this run (an ipywidget), live while it runs."""
        from datatailr.jupyter_ext import ExplorerWidget

        return ExplorerWidget.for_run(self.workflow.name, self.environment.value, self.run_id)

    def _ipython_display_(self) -> None:
        """In a notebook, the handle shows as the explorer's single-run view."""
        from IPython.display import display

        try:
            widget = self.explorer()
        except ImportError:  # the jupyter extra is not installed: the text form
            print(repr(self))
            return
        display(widget)

    def run_details(self) -> dict:
        return self.workflow.run_details(self.run_id)

    def status(self) -> str:
        return str(self.workflow.run(self.run_id).state)

    def task_status(self, task_name: str | None = None, task_id: int | None = None) -> str:
        if task_name is None and task_id is None:
            raise InvalidArgumentError("task_status: give task_name=... or task_id=....")
        run, _ = self.workflow._run(self.run_id)
        return str(self.workflow._task(run, task_name, task_id)["state"])

    def logs(self, task_name: str | None = None, stderr: bool = False, lines: int = 5000,
             task_id: int | None = None, attempt: int | None = None) -> str:
        return self.workflow.logs(self.run_id, task_name=task_name, stderr=stderr, lines=lines,
                                  task_id=task_id, attempt=attempt)

    def result(self, task_name: str | None = None, task_id: int | None = None) -> Any:
        return self.workflow.result(self.run_id, task_name=task_name, task_id=task_id)

    def wait(self, timeout: float | None = None) -> str:
        return Run(self.workflow, self.run_id).wait(timeout=timeout)


# -- the environment overview --------------------------------------------------------------


def list_workflows(environment: Environment | str | None = None) -> list[dict]:
    """Every workflow of an environment with its latest version, schedule and recent runs.

    The whole environment in the three queries of ``MetadataStore.workflow_overview``, which
    leaves out removed workflows and takes each one's newest version that is not removed
    (``remove(version=N)`` rolls back to the version before)."""
    env = resolve_environment(environment)
    meta = _platform().metadata
    now = time.time()
    day0 = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0,
                                                             microsecond=0).timestamp() - 6 * 86400
    out = []
    for row in meta.workflow_overview(env.value, day0, recent=10):
        version = row["version"]
        schedule = Schedule.parse(version["schedule"]) if version["schedule"] else None
        recent = [_run_dict(r, row) for r in row["recent_runs"]]
        activity = [[0] * 24 for _ in range(7)]
        for started in row["started_since"]:
            day = int((started - day0) // 86400)
            if 0 <= day < 7:
                activity[day][datetime.fromtimestamp(started, timezone.utc).hour] += 1
        out.append({
            "name": row["name"],
            "slug": row["slug"],
            "environment": env.value,
            "job_version": int(version["job_version"]),
            "task_count": int(version["task_count"]),
            "schedule": str(schedule) if schedule else None,
            "schedule_description": schedule.describe() if schedule else None,
            "state": recent[0]["state"] if recent else None,
            "last_run": recent[0] if recent else None,
            "recent_runs": recent,
            "activity": activity,
        })
    return out
