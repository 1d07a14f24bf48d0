"""The public API of workflows: ``@workflow``, the ``Workflow`` handle, ``Run``, ``list_workflows``.

The vendor SDK's import path (``datatailr.scheduler.batch.Workflow``). Composes core
(tracing), store (history) and engine (execution); UIs build on these names only.
Times in everything returned are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from datatailr.core import dag as dag_mod
from datatailr.core.durations import parse_duration
from datatailr.core.environment import Environment, resolve_environment
from datatailr.core.names import display_name_from_function, slugify
from datatailr.core.resources import Resources
from datatailr.core.schedule import Schedule
from datatailr.core.states import ALL_STATES as STATES
from datatailr.core.states import FINISHED_STATES
from datatailr.errors import InvalidArgumentError, NotFoundError, RunFailedError, StorageError

__all__ = ["FINISHED_STATES", "STATES", "Run", "Workflow", "WorkflowFunction", "list_workflows",
           "workflow"]

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


def _run_dict(row: dict, workflow: dict) -> dict:
    start, end = row.get("start_time"), row.get("end_time")
    return {
        "run_id": int(row["run_id"]),
        "workflow": workflow["name"],
        "slug": workflow["slug"],
        "environment": workflow["environment"],
        "state": row["state"],
        "job_version": int(row["job_version"]),
        "start_time": _dt(start),
        "end_time": _dt(end),
        "created_at": _dt(row["created_at"]),
        "duration": (end - start) if start is not None and end is not None else None,
        "original_run_id": row.get("original_run_id"),
        "rerun_of": row.get("rerun_of"),
        "full": bool(row.get("full")),
        "trigger": row.get("trigger"),
        "scheduled_time": _dt(row.get("scheduled_time")),
    }


def _reconcile(rows: list[dict]) -> None:
    """A run shown as running that nobody executes any more is ``unknown``: its process on
    this machine is gone (or is this process, which no longer runs it), or its heartbeat is
    stale (its machine, wherever it is, stopped recording it). Nothing stays running after its
    process ends, whether or not an agent is there to notice. The row is fixed in the store
    when that is possible at once; the read never waits for it."""
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
                 "progress")


class WorkflowFunction:
    """What ``@workflow`` returns. Calling it deploys; ``local_run=True`` runs it here and now."""

    def __init__(self, body: Callable, *, name: str | None, schedule: Any,
                 resources: Resources | None, env_vars: dict | None, fail_after: Any,
                 expire_after: Any, python_requirements: Any, platform_options: dict) -> None:
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
        self.resources = resources or Resources("100m", 1)
        if env_vars is not None and not isinstance(env_vars, dict):
            raise InvalidArgumentError(f"@workflow(env_vars={env_vars!r}): give a dict.")
        self.env_vars = {str(k): str(v) for k, v in (env_vars or {}).items()}
        self.fail_after = parse_duration(fail_after, "fail_after")
        self.expire_after = parse_duration(expire_after, "expire_after")
        if isinstance(python_requirements, str):
            python_requirements = [r for r in python_requirements.split() if r]
        self.python_requirements = list(python_requirements or [])
        self.platform_options = platform_options
        functools.update_wrapper(self, body)

    def __repr__(self) -> str:
        return f"<workflow {self.name!r}>"

    def trace(self, *args: Any, **kwargs: Any) -> dag_mod.Dag:
        """The DAG of the body, without running or saving anything."""
        return dag_mod.trace(self.body, args, kwargs)

    def _options(self) -> dict:
        return {
            "resources": self.resources.to_dict(),
            "env_vars": self.env_vars,
            "fail_after": self.fail_after,
            "expire_after": self.expire_after,
            "python_requirements": self.python_requirements,
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

    def __call__(self, *args: Any, local_run: bool = False, save_only: bool = False,
                 to_json: bool = False, environment: Environment | str | None = None,
                 raise_on_failure: bool = False, progress: bool = True, **kwargs: Any) -> Any:
        env = resolve_environment(environment)
        if local_run and self.schedule is not None:
            raise InvalidArgumentError(
                f"Workflow {self.name!r} has a schedule ({self.schedule}): local_run=True runs "
                f"once, now. Deploy it (call without local_run) to run on the schedule, or "
                f"remove schedule= to test it locally."
            )
        dag = self.trace(*args, **kwargs)
        if to_json:
            return json.dumps(self.definition(dag), indent=2, default=str)
        from datatailr.scheduler import code as code_mod
        from datatailr.scheduler.execution import save_version

        platform = _platform()
        job_version = save_version(
            platform, name=self.name, slug=self.slug, environment=env.value, dag=dag,
            options=self._options(), source=code_mod.source_text(dag, self.body),
            schedule=self.schedule.to_dict() if self.schedule else None,
            reuse_identical=local_run,
        )
        handle = Workflow(self.name, environment=env)
        if local_run:
            return self._run_here(platform, handle, dag, job_version, progress, raise_on_failure)
        if save_only:
            print(f"Saved {self.name!r} version {job_version} in {env.value}.")
            return handle
        from datatailr.scheduler.agent import ensure_agent

        agent = ensure_agent()
        if self.schedule is not None:
            print(f"Deployed {self.name!r} version {job_version} to {env.value}: the local "
                  f"agent (pid {agent['pid']}) runs it on its schedule, "
                  f"{self.schedule.describe()!r} ({self.schedule}).")
            return handle
        run = handle.start(_quiet=True)
        print(f"Deployed {self.name!r} version {job_version} to {env.value}: run {run.run_id} "
              f"queued on the local agent (pid {agent['pid']}). "
              f"Follow it with: dt log read {self.slug} -e {env.value} -i {run.run_id}")
        return run

    def _run_here(self, platform: Any, handle: Workflow, dag: dag_mod.Dag, job_version: int,
                  progress: bool, raise_on_failure: bool) -> Run:
        from datatailr.scheduler.execution import execute, new_run
        from datatailr.scheduler.progress import LiveLogEcho, make_progress

        workflow_id = handle._row()["workflow_id"]
        run_id = new_run(platform, workflow_id=workflow_id, job_version=job_version,
                         task_names=dag.names, trigger="local", claimed=True,
                         options={"fail_after": self.fail_after, "env_vars": self.env_vars})
        listeners: list[Any] = []
        if progress:
            echo = LiveLogEcho(dag, run_id, platform.blobs.local_log_path)
            listeners.append(make_progress(dag, self.name, echo=echo))
        execute(platform, run_id, dag, workflow_name=self.name, listeners=listeners)
        run = Run(handle, run_id)
        if raise_on_failure and run.state != "completed":
            raise RunFailedError(f"Run {run_id} of {self.name!r} {run.state}: {run.error}")
        return run


def workflow(name: Any = None, schedule: Any = None, resources: Resources | None = None,
             env_vars: dict | None = None, fail_after: Any = None, expire_after: Any = None,
             python_requirements: Any = "", **platform_options: Any) -> Any:
    """Turn a function whose body calls tasks into a workflow.

    ``@workflow``, ``@workflow()``, ``@workflow("Complex Pipeline")`` or
    ``@workflow(name=..., schedule=Schedule(...), fail_after="1h", ...)``. Options that only
    mean something on a container platform (image, build scripts, acl ...) are recorded.
    """
    def make(body: Callable, given_name: Any = name) -> WorkflowFunction:
        return WorkflowFunction(body, name=given_name, schedule=schedule, resources=resources,
                                env_vars=env_vars, fail_after=fail_after,
                                expire_after=expire_after,
                                python_requirements=python_requirements,
                                platform_options=platform_options)

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
            raise NotFoundError(
                f"No workflow {self._name!r} in environment {self.environment.value!r}.{hint} "
                f"Workflows there: {', '.join(existing) if existing else '(none yet)'}."
            )
        return row

    def _version_row(self, job_version: int | None = None) -> dict:
        platform = _platform()
        workflow_id = self._row()["workflow_id"]
        job_version = job_version if job_version is not None else self._version
        if job_version is None:
            row = platform.metadata.latest_version(workflow_id)
        else:
            row = platform.metadata.get_version(workflow_id, int(job_version))
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
        run = platform.metadata.get_run(int(run_id))
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
            "source": row["source"],
        }

    def versions(self) -> list[dict]:
        platform = _platform()
        out = []
        for v in platform.metadata.list_versions(self._row()["workflow_id"]):
            schedule = Schedule.parse(v["schedule"]) if v["schedule"] else None
            out.append({"job_version": int(v["job_version"]), "created_at": _dt(v["created_at"]),
                        "task_count": int(v["task_count"]),
                        "schedule": str(schedule) if schedule else None})
        return out

    # -- history --------------------------------------------------------------------------
    def runs(self, start_time: datetime | None = None, end_time: datetime | None = None,
             refresh: bool = False, *, limit: int | None = None, offset: int = 0,
             state: str | list[str] | None = None) -> list[dict]:
        """Runs newest first; bounds filter on start_time, inclusive. Cached per instance
        for the same arguments until ``refresh=True``."""
        key = (start_time, end_time, limit, offset,
               tuple(state) if isinstance(state, list) else state)
        if not refresh and self._runs_cache is not None and self._runs_cache_key == key:
            return list(self._runs_cache)
        row = self._row()
        rows = _platform().metadata.list_runs(
            row["workflow_id"], start=_ts(start_time, "start_time"),
            end=_ts(end_time, "end_time"), state=state, limit=limit, offset=offset)
        _reconcile(rows)
        result = [_run_dict(r, row) for r in rows]
        self._runs_cache, self._runs_cache_key = result, key
        return list(result)

    def count_runs(self, start_time: datetime | None = None, end_time: datetime | None = None,
                   state: str | list[str] | None = None) -> int:
        return _platform().metadata.count_runs(
            self._row()["workflow_id"], start=_ts(start_time, "start_time"),
            end=_ts(end_time, "end_time"), state=state)

    def _run(self, run_id: int) -> tuple[dict, dict]:
        row = self._row()
        try:
            run_id = int(run_id)
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"run_id={run_id!r}: give the integer id of a run.") from None
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
            })
        details["tasks"] = tasks
        return details

    def _task(self, run: dict, task_name: str | None, task_id: int | None) -> dict:
        tasks = _platform().metadata.task_runs(run["run_id"])
        if task_id is not None:
            for t in tasks:
                if t["task_id"] == int(task_id):
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
             lines: int = 5000, task_id: int | None = None) -> str:
        run, _ = self._run(run_id)
        t = self._task(run, task_name, task_id)
        where_run, where_task = run["run_id"], t["task_id"]
        if t["result_run_id"] is not None and t["result_run_id"] != run["run_id"]:
            where_run, where_task = t["result_run_id"], t["result_task_id"]  # reused: its logs
        return _platform().blobs.read_log(where_run, where_task,
                                          "stderr" if stderr else "stdout", lines)

    def result(self, run_id: int, task_name: str | None = None,
               task_id: int | None = None) -> Any:
        run, _ = self._run(run_id)
        t = self._task(run, task_name, task_id)
        if t["state"] != "completed" or t["result_run_id"] is None:
            return None  # running, raised, expired, never ran: nothing is stored
        blobs = _platform().blobs
        try:
            return blobs.load_result(t["result_run_id"], t["result_task_id"])
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
    def start(self, _quiet: bool = False) -> Run:
        """Start a run of the latest version now, on the local agent."""
        from datatailr.scheduler.agent import ensure_agent
        from datatailr.scheduler.execution import new_run

        version = self._version_row()
        names = [t["name"] for t in version["definition"]["tasks"]]
        run_id = new_run(_platform(), workflow_id=self._row()["workflow_id"],
                         job_version=int(version["job_version"]), task_names=names,
                         trigger="deploy" if _quiet else "manual", claimed=False,
                         options=_run_options(version))
        ensure_agent()
        return Run(self, run_id)

    def rerun(self, run_id: int, version: int | None = None, full: bool = False) -> Run:
        """A new run of ``run_id``: partial by default (completed tasks are reused)."""
        from datatailr.scheduler.agent import ensure_agent
        from datatailr.scheduler.execution import new_run

        run, row = self._run(run_id)
        if version is not None:
            if isinstance(version, bool) or not isinstance(version, int):
                raise InvalidArgumentError(f"version={version!r}: give an integer version.")
        target = self._version_row(version if version is not None else run["job_version"])
        if run["state"] not in FINISHED_STATES:
            raise InvalidArgumentError(
                f"Run {run['run_id']} is still {run['state']}; stop it first "
                f"(Workflow(...).stop({run['run_id']})) or wait for it to end."
            )
        names = [t["name"] for t in target["definition"]["tasks"]]
        new_id = new_run(_platform(), workflow_id=row["workflow_id"],
                         job_version=int(target["job_version"]), task_names=names,
                         trigger="rerun", claimed=False,
                         original_run_id=run.get("original_run_id") or run["run_id"],
                         rerun_of=run["run_id"], full=bool(full),
                         options=_run_options(target))
        ensure_agent()
        self._runs_cache = None
        return Run(self, new_id)

    def stop(self, run_id: int) -> bool:
        run, _ = self._run(run_id)
        return _platform().metadata.request_stop(run["run_id"])

    def remove(self) -> None:
        """Delete the workflow, its versions and its whole history in this environment."""
        platform = _platform()
        gone = platform.metadata.remove_workflow(self._row()["workflow_id"])
        for run_id in gone["run_ids"]:
            platform.blobs.delete_run(run_id)
        for key in gone["code_keys"]:
            platform.blobs.delete(key)

    def promote(self, to_environment: Environment | str, version: int | None = None) -> int:
        """Copy a version (default: the latest) to another environment as its next version."""
        target_env = Environment.parse(to_environment)
        if target_env == self.environment:
            raise InvalidArgumentError(
                f"{self.name!r} is already in {target_env.value}: promote to another environment.")
        row = self._version_row(version)
        platform = _platform()
        meta = platform.metadata
        code = platform.blobs.get_bytes(row["code_key"])
        if code is None:
            raise NotFoundError(f"The code of version {row['job_version']} is missing.")
        with meta.write() as conn:
            workflow_id = meta.ensure_workflow(conn, self.slug, target_env.value, self.name)

            def key_for(job_version: int) -> str:
                return platform.blobs.code_key(target_env.value, self.slug, job_version)

            latest = meta.latest_version(workflow_id, conn)
            next_version = (latest["job_version"] if latest else 0) + 1
            platform.blobs.put_bytes(key_for(next_version), code)
            new_version = meta.add_version(
                conn, workflow_id, definition={**row["definition"],
                                               "promoted_from": {
                                                   "environment": self.environment.value,
                                                   "job_version": row["job_version"]}},
                source=row["source"], code_key_for=key_for, code_hash=row["code_hash"],
                schedule=row["schedule"], task_count=row["task_count"])
        if row["schedule"]:
            from datatailr.scheduler.agent import ensure_agent

            ensure_agent()
        return new_version


def _run_options(version: dict) -> dict:
    options = version["definition"].get("options", {})
    return {"fail_after": options.get("fail_after"), "env_vars": options.get("env_vars", {})}


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
             task_id: int | None = None) -> str:
        return self.workflow.logs(self.run_id, task_name=task_name, stderr=stderr, lines=lines,
                                  task_id=task_id)

    def __repr__(self) -> str:
        row = self._row()
        text = (f"<Run {self.run_id} of {self.workflow.name!r} ({self.workflow.environment.value})"
                f": {row['state']}")
        if row["state"] == "failed":
            failed = self.failed_tasks
            text += f" (failed task{'s' if len(failed) != 1 else ''}: {', '.join(failed)})"
        return text + ">"


# -- the environment overview --------------------------------------------------------------


def list_workflows(environment: Environment | str | None = None) -> list[dict]:
    """Every workflow of an environment with its latest version, schedule and recent runs."""
    env = resolve_environment(environment)
    platform = _platform()
    meta = platform.metadata
    now = time.time()
    day0 = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0,
                                                             microsecond=0).timestamp() - 6 * 86400
    out = []
    for row in meta.list_workflows(env.value):
        version = meta.latest_version(row["workflow_id"])
        if version is None:
            continue
        schedule = Schedule.parse(version["schedule"]) if version["schedule"] else None
        recent = [_run_dict(r, row) for r in meta.list_runs(row["workflow_id"], limit=10)]
        activity = [[0] * 24 for _ in range(7)]
        for started in meta.runs_started_since(row["workflow_id"], day0):
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
