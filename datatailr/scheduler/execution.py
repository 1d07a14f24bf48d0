"""Saving versions and executing runs: where core, store and engine meet.

``save_version`` freezes a traced DAG into an immutable version (its image: source bundle,
per-task fingerprints, the environment it was made in, see ``datatailr.image``); ``new_run``
records a run; ``reuse_plan`` decides what a partial rerun may reuse (unchanged fingerprints,
closed over dependencies); ``execute`` drives a recorded run to its end in this process (a
local run, or the agent's runner process) with the run context in its tasks' environment, the
recorder and, when asked, progress and live logs as listeners.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from datatailr.core.dag import Dag
from datatailr.engine.controller import RunPlan, execute_run
from datatailr.engine.local import LocalExecutor
from datatailr.engine.worker import system_values
from datatailr.errors import NotFoundError
from datatailr.image import code as code_mod
from datatailr.image.fingerprint import task_fingerprint
from datatailr.scheduler.platform import Platform
from datatailr.store.recorder import Recorder
from datatailr.store.results import INLINE_MAX, has_result
from datatailr.store.sql import owner_tag


def save_version(platform: Platform, *, name: str, slug: str, environment: str, dag: Dag,
                 options: dict, source: str, schedule: dict | None,
                 reuse_identical: bool, body: Any = None) -> int:
    """Store a new version (or, with ``reuse_identical``, return the latest if it is the same)."""
    image = code_mod.freeze(dag, body)
    frozen = image.data
    tasks = dag.describe()
    code_cache: dict[int, str] = {}
    for spec, node in zip(tasks, dag.nodes, strict=True):
        spec["fingerprint"] = task_fingerprint(node.function, node.args, node.kwargs,
                                               node.env_vars, code_cache)
    definition = {
        "name": name,
        "slug": slug,
        "tasks": tasks,
        "options": options,
        "sys_path": [p for p in sys.path if p],
        "image": {"bundle_hash": image.bundle_hash, "files": image.files},
        "environment": _environment(options.get("python_requirements") or [], image),
    }
    definition_text = json.dumps(definition, sort_keys=True, default=str)
    digest = code_mod.code_hash(frozen, definition_text + json.dumps(schedule, sort_keys=True))
    meta = platform.metadata
    with meta.write() as conn:
        workflow_id = meta.ensure_workflow(conn, slug, environment, name)
        if reuse_identical:
            latest = meta.latest_version(workflow_id, conn)
            if latest is not None and latest["code_hash"] == digest:
                return int(latest["job_version"])

        def key_for(job_version: int) -> str:
            return platform.blobs.code_key(environment, slug, job_version)

        # The blob is written before the row commits: a version row never lacks its code.
        latest = meta.latest_version(workflow_id, conn)
        next_version = (latest["job_version"] if latest else 0) + 1
        platform.blobs.put_bytes(key_for(next_version), frozen)
        return meta.add_version(conn, workflow_id, definition=json.loads(definition_text),
                                source=source, code_key_for=key_for, code_hash=digest,
                                schedule=schedule, task_count=len(dag.nodes))


def _environment(requirements: list[str] | str, image: code_mod.Frozen) -> dict:
    """The interpreter and distributions the version is made with, and what it requires
    (``"auto"`` resolved now, from the imports of its frozen files)."""
    from datatailr.image import bundle as bundle_mod
    from datatailr.image import environment as env_mod

    if requirements == "auto":
        files = bundle_mod.unpack(image.bundle)
        own = [bundle_mod._module_name(p) for p in files if not p.startswith(".")]
        resolved = env_mod.infer_requirements(files.values(), own)
    else:
        resolved = list(requirements)
    return {**env_mod.record(), "requirements": resolved}


def version_requirements(version: dict) -> list[str]:
    """The requirement strings a version's runs must have (older versions: as given)."""
    definition = version["definition"]
    if "environment" in definition:
        return list(definition["environment"].get("requirements") or [])
    given = definition.get("options", {}).get("python_requirements") or []
    return [] if given == "auto" else list(given)


def load_dag(platform: Platform, version: dict) -> Dag:
    data = platform.blobs.get_bytes(version["code_key"])
    if data is None:
        raise NotFoundError(
            f"The code of version {version['job_version']} is missing from "
            f"{platform.blobs.url!r} (key {version['code_key']!r})."
        )
    for entry in reversed(version["definition"].get("sys_path", [])):
        if entry not in sys.path and os.path.exists(entry):
            sys.path.append(entry)
    return code_mod.thaw(data)


def run_options(options: dict) -> dict:
    """What a run takes from its version's options (stored with the run)."""
    return {"fail_after": options.get("fail_after"), "env_vars": options.get("env_vars", {}),
            "resources": options.get("resources"),
            "resources_given": bool(options.get("resources_given")),
            "queue": options.get("queue") or "default",
            "max_concurrent_runs": options.get("max_concurrent_runs")}


def new_run(platform: Platform, *, workflow_id: int, job_version: int, task_names: Sequence[str],
            trigger: str, claimed: bool, original_run_id: int | None = None,
            rerun_of: int | None = None, full: bool = False,
            scheduled_time: float | None = None, options: dict | None = None) -> int:
    """Record a queued run, on the queue its ``options`` name; ``claimed`` when this process
    runs it itself (a local run), so no agent picks it up."""
    return platform.metadata.create_run(
        workflow_id=workflow_id, job_version=job_version, trigger=trigger,
        task_names=task_names, original_run_id=original_run_id, rerun_of=rerun_of,
        full=full, scheduled_time=scheduled_time, options=options,
        claimed_by=owner_tag() if claimed else None,
        queue=(options or {}).get("queue") or "default")


def reuse_plan(platform: Platform, run: dict, dag: Dag,
               definition: dict | None = None) -> dict[int, tuple[int, int]]:
    """For a partial rerun: task id -> (run id, task id) of the stored result, for every task
    that completed in the run being re-run and whose fingerprint (code and constant inputs)
    is the same in the version that runs now. Matched by task name, so a fixed newer version
    (whose ids may differ) reuses what it can; then closed over dependencies."""
    if run.get("rerun_of") is None or run.get("full"):
        return {}
    meta = platform.metadata
    previous_run = meta.get_run(run["rerun_of"])
    previous = meta.task_runs(run["rerun_of"])
    completed = {t["name"]: (t["result_run_id"], t["result_task_id"]) for t in previous
                 if t["state"] == "completed" and t["result_run_id"] is not None}
    same_version = previous_run is not None and previous_run["job_version"] == run["job_version"]
    before: dict[str, str | None] = {}
    now: dict[str, str | None] = {}
    if not same_version and previous_run is not None:
        old = meta.get_version(previous_run["workflow_id"], previous_run["job_version"])
        before = {t["name"]: t.get("fingerprint")
                  for t in (old["definition"]["tasks"] if old else [])}
        if definition is None:
            current = meta.get_version(run["workflow_id"], run["job_version"])
            definition = current["definition"] if current else {"tasks": []}
        now = {t["name"]: t.get("fingerprint") for t in definition["tasks"]}
    plan = {}
    for node in dag.nodes:
        where = completed.get(node.name)
        if where is None:
            continue
        if not same_version and (now.get(node.name) is None
                                 or now.get(node.name) != before.get(node.name)):
            continue  # its code or constant inputs changed (or cannot be compared)
        if has_result(meta, platform.blobs, *where):
            plan[node.id] = where
    return _close_over_dependencies(dag, plan)


def _close_over_dependencies(dag: Dag, plan: dict[int, tuple[int, int]]
                             ) -> dict[int, tuple[int, int]]:
    """A task is reused only if everything upstream of it is reused too; otherwise its inputs
    would be recomputed and its old result could disagree with them."""
    ok: dict[int, bool] = {}

    def reusable(task_id: int) -> bool:
        if task_id not in ok:
            ok[task_id] = task_id in plan and all(
                reusable(d) for d in dag.nodes[task_id].dependencies)
        return ok[task_id]

    return {t: r for t, r in plan.items() if reusable(t)}


def run_context(platform: Platform, run: dict, workflow_name: str) -> dict[str, str]:
    """The variables every task of a run sees, local or deployed (the hosted platform's)."""
    import getpass

    workflow = platform.metadata.workflow_by_id(run["workflow_id"]) or {}
    try:
        user = run.get("user") or getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = str(os.getuid())
    return {
        "DATATAILR_JOB_NAME": workflow_name,
        "DATATAILR_JOB_ENVIRONMENT": str(workflow.get("environment") or "dev"),
        "DATATAILR_JOB_VERSION": str(run["job_version"]),
        "DATATAILR_BATCH_RUN_ID": str(run["run_id"]),
        "DATATAILR_JOB_TYPE": "batch",
        "DATATAILR_USER": str(user),
    }


def execute(platform: Platform, run_id: int, dag: Dag, *, workflow_name: str,
            listeners: Sequence[Any] = (), env: dict | None = None) -> str:
    """Run a recorded run to its end in this process; returns its final state."""
    meta = platform.metadata
    run = meta.get_run(run_id)
    if run is None:
        raise NotFoundError(f"No run {run_id} in {platform.config.db_url!r}.")
    reuse = reuse_plan(platform, run, dag)
    kept = meta.inline_results(list(reuse.values())) if reuse else {}
    options = run.get("options") or {}
    limit = _memory_limit(options)
    extra = {"memory_limit": limit} if limit is not None and _PLAN_HAS_MEMORY_LIMIT else {}
    plan = RunPlan(
        **extra,
        run_id=run_id,
        system=system_values(workflow_name=workflow_name, run_start=time.time(),
                             scheduled_time=run.get("scheduled_time")),
        env={**options.get("env_vars", {}), **(env or {}),
             **run_context(platform, run, workflow_name)},
        reuse=reuse,
        reused_inline={t: kept[where] for t, where in reuse.items() if where in kept},
        # small results go with their rows, in the metadata store; a Dask run keeps them in
        # storage, where a recomputation after a lost worker finds them
        inline_max=INLINE_MAX if platform.config.executor == "local" else 0,
        fail_after=options.get("fail_after"),
        should_stop=lambda: meta.stop_requested(run_id),
    )
    try:
        executor = _executor(platform, dag)
    except Exception as exc:
        # e.g. the Dask scheduler is unreachable: the run ends failed, saying why, instead of
        # staying queued (or running) forever
        meta.mark_abandoned(run_id, "failed", f"The run could not start: {exc}")
        raise
    return execute_run(dag, plan, executor, [Recorder(meta), *listeners])


_PLAN_HAS_MEMORY_LIMIT = "memory_limit" in {f.name for f in dataclasses.fields(RunPlan)}


def _memory_limit(options: dict) -> int | None:
    """The workflow's memory in bytes when it was given explicitly (``resources=`` on the
    decorator or the call); the default ``Resources("100m", 1)`` is shown, never enforced."""
    resources = options.get("resources")
    if not options.get("resources_given") or not resources or not resources.get("memory"):
        return None
    from datatailr.core.resources import Resources

    return int(Resources(memory=resources["memory"], cpu=resources.get("cpu") or 1)
               .memory_bytes())


def _executor(platform: Platform, dag: Dag) -> Any:
    config = platform.config
    if config.executor != "local":
        from datatailr.engine.dask_executor import DaskExecutor

        return DaskExecutor(config.executor, dag.nodes, platform.blobs)
    return LocalExecutor(dag.nodes, platform.blobs, config.max_workers)
