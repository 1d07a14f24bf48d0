"""Long-running jobs: ``Service``, ``App`` and ``ExcelAddin``, their handles and ``list_jobs``.

The hosted SDK's import path (``datatailr.scheduler.job``) and signatures. A definition is
saved as an immutable version beside the workflows (same tables, same numbering): its code is
frozen by value - the source files of the entrypoint's package, or the pickled function when it
has no file - so editing the file later changes nothing that was deployed. ``.run()`` saves a
version and asks the local agent to start it; the agent's supervisor (``services.py``) runs it,
restarts it when it exits and records every process start as a run. An ExcelAddin is saved,
versioned and listed; starting one needs the hosted platform's Excel runtime.
"""

from __future__ import annotations

import ast
import getpass
import hashlib
import importlib.util
import inspect
import json
import os
import sys
import time
import types
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, ClassVar

from datatailr.core.environment import Environment, resolve_environment
from datatailr.core.names import slugify
from datatailr.core.resources import Resources
from datatailr.errors import HostedOnlyError, InvalidArgumentError, NotFoundError
from datatailr.scheduler.services import START_CLAIM

__all__ = ["FRAMEWORKS", "JOB_TYPES", "App", "ExcelAddin", "Job", "Service", "list_jobs"]

#: job types of the long-running jobs (workflows are "workflow")
JOB_TYPES = ("service", "app", "excel_addin")
#: frameworks an App starts through, and the modules each one needs installed (the
#: framework, and the server that serves it)
FRAMEWORKS = {"streamlit": ("streamlit",), "dash": ("dash", "gunicorn"),
              "flask": ("flask", "gunicorn"), "fastapi": ("fastapi", "uvicorn"),
              "panel": ("panel",), "voila": ("voila",), "jupyter": ("notebook",)}
#: what to detect a framework from when App(framework=None): a top-level import of the module
_DETECT_ORDER = ("streamlit", "flask", "fastapi", "dash", "panel")
#: limits of a frozen code tree (an entrypoint inside a huge folder is a mistake to point at)
MAX_CODE_FILES = 5000
MAX_CODE_BYTES = 64 * 2**20
_SKIP_DIRS = {"__pycache__", "node_modules", "venv", ".venv", "env", "build", "dist",
              "site-packages"}
_NEXT_ENV = {"dev": "pre", "pre": "prod"}


class ExcelRuntimeError(HostedOnlyError):
    """An Excel add-in was asked to start; that needs the hosted platform's Excel runtime."""


def _platform() -> Any:
    from datatailr.scheduler.platform import current_platform

    return current_platform()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


def _ts(value: datetime | None, what: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidArgumentError(f"{what}={value!r}: give a datetime (or None).")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


# -- freezing the entrypoint ---------------------------------------------------------------


def _module_file(module_name: str) -> str | None:
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None) if module is not None else None
    if path is None:
        spec = importlib.util.find_spec(module_name)
        path = spec.origin if spec is not None and spec.has_location else None
    return str(path) if path else None


def _entry_reference(entrypoint: Any) -> dict:
    """What the entrypoint is: {"module", "function", "file", "notebook", "callable"}."""
    path: str | None
    if isinstance(entrypoint, str):
        if entrypoint.endswith(".ipynb"):
            path = os.path.abspath(os.path.expanduser(entrypoint))
            if not os.path.isfile(path):
                raise InvalidArgumentError(f"entrypoint={entrypoint!r}: no such notebook file.")
            return {"module": None, "function": None, "file": path,
                    "notebook": os.path.basename(path), "callable": None}
        module_name, _, function = entrypoint.partition(":")
        try:
            path = _module_file(module_name)
        except (ImportError, ValueError):
            path = None
        if path is None:
            raise InvalidArgumentError(
                f"entrypoint={entrypoint!r}: no importable module {module_name!r} here; give "
                f"the function (or module) itself, or 'package.module:function'.")
        return {"module": module_name, "function": function or None, "file": path,
                "notebook": None, "callable": None}
    if isinstance(entrypoint, types.ModuleType):
        path = getattr(entrypoint, "__file__", None)
        name = entrypoint.__name__
        if name == "__main__" and path:
            name = os.path.splitext(os.path.basename(path))[0]
        return {"module": name, "function": None, "file": path, "notebook": None,
                "callable": None}
    if callable(entrypoint):
        module_name = getattr(entrypoint, "__module__", None) or "__main__"
        qualname = getattr(entrypoint, "__qualname__", getattr(entrypoint, "__name__", ""))
        module = sys.modules.get(module_name)
        path = getattr(module, "__file__", None)
        importable = bool(path) and "<" not in qualname and "." not in qualname
        if module_name == "__main__" and importable:
            # `python service.py`: the script is frozen and imported under its file's name, so
            # its `if __name__ == "__main__":` block does not deploy again.
            module_name = os.path.splitext(os.path.basename(str(path)))[0]
        return {"module": module_name if importable else None,
                "function": qualname if importable else None,
                "file": str(path) if importable else None, "notebook": None,
                "callable": None if importable else entrypoint}
    raise InvalidArgumentError(
        f"entrypoint={entrypoint!r}: give a function (services), a module or function (apps), "
        f"or a notebook path (.ipynb)."
    )


def _walk_tree(folder: str) -> list[str]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                continue
            out.append(os.path.join(root, name))
    return out


def _code_root(module_name: str, path: str) -> tuple[str, str]:
    """(the folder the module's top-level name is found in, the top-level file or folder)."""
    parts = module_name.split(".")
    folder = os.path.dirname(os.path.abspath(path))
    depth = len(parts) - 1 + (os.path.basename(path) == "__init__.py")
    for _ in range(depth):
        folder = os.path.dirname(folder)
    top = os.path.join(folder, parts[0])
    return folder, top if os.path.isdir(top) else os.path.abspath(path)


def _snapshot(reference: dict) -> tuple[str, dict[str, bytes]]:
    """The entrypoint's code by value: its top-level package (or its file, with the user's
    modules loaded from the same folder), as {relative path: bytes} under a root folder."""
    if reference["notebook"]:
        root = os.path.dirname(reference["file"])
        tops = [reference["file"]]
    else:
        root, top = _code_root(reference["module"], reference["file"])
        tops = [top]
        from datatailr.pickling import is_users_module

        for name, module in list(sys.modules.items()):
            if "." in name or not is_users_module(module):
                continue
            file = getattr(module, "__file__", None) or ""
            mod_root, mod_top = _code_root(name, file) if file else ("", "")
            if mod_root == root and mod_top not in tops:
                tops.append(mod_top)
    files: dict[str, bytes] = {}
    total = 0
    for top in tops:
        for path in (_walk_tree(top) if os.path.isdir(top) else [top]):
            rel = os.path.relpath(path, root)
            if rel in files:
                continue
            with open(path, "rb") as f:
                data = f.read()
            total += len(data)
            files[rel] = data
            if len(files) > MAX_CODE_FILES or total > MAX_CODE_BYTES:
                raise InvalidArgumentError(
                    f"The entrypoint's code under {top!r} has more than {MAX_CODE_FILES} files "
                    f"or {MAX_CODE_BYTES // 2**20} MB: put the job's code in a package folder "
                    f"of its own and point the entrypoint there."
                )
    return root, files


def freeze_entrypoint(entrypoint: Any) -> tuple[bytes, dict]:
    """The frozen code of a job (bytes for the code blob) and what the definition records."""
    from datatailr.pickling import dumps_by_value

    reference = _entry_reference(entrypoint)
    payload: dict[str, Any] = {"format": 1, "module": reference["module"],
                               "function": reference["function"],
                               "notebook": reference["notebook"], "files": {}, "callable": None}
    info: dict[str, Any] = {"module": reference["module"], "function": reference["function"],
                            "notebook": reference["notebook"]}
    if reference["callable"] is not None:
        # defined in a notebook cell or nested: no file to freeze, so the function itself
        function = reference["callable"]
        try:
            payload["callable"] = dumps_by_value(function, [function])
        except Exception as exc:
            raise InvalidArgumentError(
                f"The entrypoint {function!r} has no source file and cannot be pickled "
                f"({type(exc).__name__}: {exc}): define it at the top level of a module."
            ) from None
        info.update(root=None, files=0, by_value="function")
    else:
        root, files = _snapshot(reference)
        payload["files"] = files
        info.update(root=root, files=len(files), by_value="source")
    return dumps_by_value(payload, []), info


def _detect_framework(path: str | None) -> str | None:
    if not path or not path.endswith(".py") or not os.path.isfile(path):
        return None
    try:
        tree = ast.parse(open(path, encoding="utf-8").read())
    except (SyntaxError, UnicodeDecodeError):
        return None
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return next((f for f in _DETECT_ORDER if f in found), None)


def _source_text(reference: dict, files: int) -> str:
    path = reference.get("file")
    if path and os.path.isfile(path) and not path.endswith(".ipynb"):
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    function = reference.get("callable")
    if function is not None:
        try:
            return inspect.getsource(function)
        except (OSError, TypeError):
            pass
    return f"# source not available ({files} files frozen)\n"


# -- the job classes -----------------------------------------------------------------------


class Job:
    """A long-running job (Service, App, ExcelAddin): its definition and the handle on its
    versions and process starts in one environment."""

    job_type: ClassVar[str] = ""

    def __init__(self, name: str, entrypoint: Callable | str | types.ModuleType | None = None,
                 environment: Environment | str | None = None, image: Any = None,
                 run_as: Any = None, resources: Resources | None = None, acl: Any = None,
                 python_version: str = "3.12", python_requirements: str | list[str] = "",
                 build_script_pre: str = "", build_script_post: str = "",
                 build_secret_keys: list[str] | None = None,
                 env_vars: dict[str, str | int | float | bool] | None = None,
                 get_existing: bool = False, version: str | int | None = None,
                 app_section: str = "", budget: Any = None, framework: str | None = None) -> None:
        kind = type(self).__name__
        if not isinstance(name, str) or not slugify(name):
            raise InvalidArgumentError(
                f"{kind}(name={name!r}): give a name with at least one letter or digit.")
        self.name = name
        self.slug = slugify(name)
        self.environment = resolve_environment(environment)
        self.version: int | None = None
        self._stored: dict | None = None  # the definition of a loaded (get_existing) job
        self._runs_cache: list[dict] | None = None
        self._runs_cache_key: tuple | None = None
        if version is not None and not get_existing:
            raise InvalidArgumentError(
                f"{kind}(version={version!r}) loads a stored version: add get_existing=True.")
        if get_existing:
            row = self._version_row(None if version is None else _version_number(version))
            self._load(row)
            return
        if entrypoint is None:
            raise InvalidArgumentError(
                f"{kind}({name!r}) needs entrypoint=...: the function (or, for an App, the "
                f"module) that starts it.")
        if resources is not None and not isinstance(resources, Resources):
            raise InvalidArgumentError(
                f"{kind}(resources={resources!r}): give Resources(memory=..., cpu=...).")
        if env_vars is not None and not isinstance(env_vars, dict):
            raise InvalidArgumentError(f"{kind}(env_vars={env_vars!r}): give a dict.")
        _entry_reference(entrypoint)  # a bad entrypoint fails here, not at deploy
        self.entrypoint = entrypoint
        self.framework = framework
        self.resources = resources or Resources()
        self.env_vars = {str(k): str(v) for k, v in (env_vars or {}).items()}
        if isinstance(python_requirements, str):
            python_requirements = [r for r in python_requirements.split() if r]
        self.python_requirements = list(python_requirements or [])
        self.app_section = app_section
        # Meaningful only where jobs run in containers: recorded with the version.
        self.platform_options = {
            "image": image, "run_as": run_as, "acl": acl, "python_version": python_version,
            "build_script_pre": build_script_pre, "build_script_post": build_script_post,
            "build_secret_keys": list(build_secret_keys or []), "app_section": app_section,
            "budget": budget}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, "
                f"environment={self.environment.value!r})")

    # -- stored rows ----------------------------------------------------------------------
    def _row(self) -> dict:
        meta = _platform().metadata
        row = meta.find_workflow(self.slug, self.environment.value)
        if row is None or _job_type_of(meta, row) != self.job_type:
            kind = type(self).__name__
            others = [j["name"] for j in list_jobs(self.environment, job_type=self.job_type)]
            what = (f"; {row['name']!r} there is a {_job_type_of(meta, row)}" if row else "")
            raise NotFoundError(
                f"No {kind} {self.name!r} in environment {self.environment.value!r}{what}. "
                f"{kind}s there: {', '.join(others) if others else '(none yet)'}."
            )
        return row

    def _version_row(self, job_version: int | None = None) -> dict:
        meta = _platform().metadata
        workflow_id = self._row()["workflow_id"]
        row = (meta.latest_version(workflow_id) if job_version is None
               else meta.get_version(workflow_id, int(job_version)))
        if row is None:
            known = [v["job_version"] for v in meta.list_versions(workflow_id)]
            raise NotFoundError(
                f"{type(self).__name__} {self.name!r} has no version {job_version} in "
                f"{self.environment.value!r}; versions: {known or '(none)'}.")
        return row

    def _load(self, row: dict) -> None:
        d = self._stored = row["definition"]
        options = d.get("options", {})
        self.name = d.get("name", self.name)
        self.version = int(row["job_version"])
        self.entrypoint = d.get("entrypoint")
        self.framework = d.get("framework")
        self.resources = Resources(**options["resources"]) if options.get("resources") \
            else Resources()
        self.env_vars = dict(options.get("env_vars", {}))
        self.python_requirements = list(options.get("python_requirements", []))
        self.app_section = options.get("platform", {}).get("app_section", "")
        self.platform_options = dict(options.get("platform", {}))

    # -- the definition -------------------------------------------------------------------
    def _check_startable(self) -> None:
        """Raise when this kind of job cannot run here (ExcelAddin)."""

    def definition(self, info: dict | None = None) -> dict:
        info = info or {}
        entry = (f"{info.get('module')}:{info.get('function') or ''}".rstrip(":")
                 if info.get("module") else info.get("notebook") or "<function>")
        return {
            "name": self.name,
            "slug": self.slug,
            "job_type": self.job_type,
            "entrypoint": entry,
            "framework": self.framework,
            "code": info,
            "tasks": [{"id": 0, "name": self.name, "function": info.get("function"),
                       "module": info.get("module"), "dependencies": [],
                       "resources": self.resources.to_dict()}],
            "options": {
                "resources": self.resources.to_dict(),
                "env_vars": self.env_vars,
                "python_requirements": self.python_requirements,
                "platform": {k: v if isinstance(v, str | int | float | bool | list | None)
                             else repr(v) for k, v in self.platform_options.items()},
            },
            "sys_path": [p for p in sys.path if p],
        }

    def to_json(self) -> str:
        """The definition as JSON (a loaded job's stored one)."""
        if self._stored is not None:
            return json.dumps(self._stored, indent=2, default=str)
        reference = _entry_reference(self.entrypoint)
        info = {k: reference.get(k) for k in ("module", "function", "notebook")}
        return json.dumps(self.definition(info), indent=2, default=str)

    # -- deploying ------------------------------------------------------------------------
    def save(self) -> tuple[bool, str]:
        """Save the definition as a new version (the code frozen now); nothing starts."""
        if self._stored is not None:
            raise InvalidArgumentError(
                f"{self!r} was loaded with get_existing=True: it runs the stored version; "
                f"build a new {type(self).__name__}(...) with its entrypoint to save another.")
        frozen, info = freeze_entrypoint(self.entrypoint)
        reference = _entry_reference(self.entrypoint)
        definition = self.definition(info)
        text = json.dumps(definition, sort_keys=True, default=str)
        digest = hashlib.sha256(frozen + text.encode()).hexdigest()
        platform = _platform()
        meta = platform.metadata
        env = self.environment.value
        with meta.write() as conn:
            workflow_id = _ensure_job(meta, conn, self.slug, env, self.name, self.job_type)
            latest = meta.latest_version(workflow_id, conn)

            def key_for(job_version: int) -> str:
                return platform.blobs.code_key(env, self.slug, job_version)

            next_version = (latest["job_version"] if latest else 0) + 1
            platform.blobs.put_bytes(key_for(next_version), frozen)  # before its row commits
            self.version = meta.add_version(
                conn, workflow_id, definition=json.loads(text),
                source=_source_text(reference, info.get("files", 0)), code_key_for=key_for,
                code_hash=digest, schedule=None, task_count=1)
        self._runs_cache = None
        return True, f"Saved {self.name!r} version {self.version} in {env}."

    def run(self) -> tuple[bool, str]:
        """Save a new version and start it on the local agent (replacing a running one)."""
        self._check_startable()
        self.save()
        return self.start(_trigger="deploy")

    def start(self, version: int | None = None, quiet: bool = False,
              _trigger: str = "manual") -> tuple[bool, str]:
        """Start the latest version (or ``version``) on the local agent; a running process of
        this job is replaced by it. Prints where it will answer unless ``quiet``."""
        self._check_startable()
        from datatailr.scheduler.agent import ensure_agent
        from datatailr.scheduler.services import reserve_port

        row = self._row()
        target = self._version_row(None if version is None else _version_number(version))
        meta = _platform().metadata
        previous = meta.list_runs(row["workflow_id"], limit=1)
        # the previous start's port, so the job keeps its address: a process still running
        # there is stopped before the new one starts; a finished one's port if it is free
        port = _options_of(meta, previous[0]["run_id"]).get("port") if previous else None
        if not (port and previous[0]["state"] in ("pending", "running")):
            port = reserve_port(port)
        run_id = meta.create_run(
            workflow_id=row["workflow_id"], job_version=int(target["job_version"]),
            trigger=_trigger, task_names=[self.name], claimed_by=START_CLAIM,
            options={"port": port, "url": _url(port)}, queue=START_CLAIM,
            user=getpass.getuser())
        agent = ensure_agent()
        self._runs_cache = None
        self.version = int(target["job_version"])
        message = (f"Deployed {self.name!r} version {target['job_version']} to "
                   f"{self.environment.value}: the local agent (pid {agent['pid']}) starts it "
                   f"at {_url(port)} (run {run_id}). Logs: dt log read {self.slug} "
                   f"-e {self.environment.value}")
        if not quiet:
            print(message)
        return True, message

    def restart(self, quiet: bool = False) -> tuple[bool, str]:
        """Start the running version again in a new process."""
        running = self._active_runs()
        version = running[0]["job_version"] if running else None
        return self.start(version=version, quiet=quiet, _trigger="restart")

    def _active_runs(self) -> list[dict]:
        return _platform().metadata.list_runs(self._row()["workflow_id"],
                                              state=["pending", "running"])

    def stop(self, wait: bool = True, timeout: float = 20.0) -> tuple[bool, str]:
        """Stop every running (or about to start) process of the job, whole process groups;
        it stays down until started again."""
        from datatailr.scheduler.services import stop_runs

        active = self._active_runs()
        stop_runs([r["run_id"] for r in active], wait=wait, timeout=timeout)
        self._runs_cache = None
        if not active:
            return True, f"{self.name!r} in {self.environment.value} was not running."
        ids = ", ".join(str(r["run_id"]) for r in active)
        return True, f"Stopped {self.name!r} in {self.environment.value} (run {ids})."

    def remove(self, all_versions: bool = True) -> tuple[bool, str]:
        """Stop the job and delete it, its versions and its history in this environment."""
        if not all_versions:
            raise InvalidArgumentError(
                "remove(all_versions=False): removing single versions is `dt job rm NAME -v N`;"
                " here a job is removed with all its versions.")
        self.stop()
        platform = _platform()
        gone = platform.metadata.remove_workflow(self._row()["workflow_id"])
        for run_id in gone["run_ids"]:
            platform.blobs.delete_run(run_id)
        for key in gone["code_keys"]:
            platform.blobs.delete(key)
        return True, f"Removed {self.name!r} from {self.environment.value}."

    def promote(self, from_environment: Environment | str | None = None,
                version: int | str | None = None, *,
                to: Environment | str | None = None) -> tuple[bool, str]:
        """Copy a version (default: the latest) from an environment (default: this one) to the
        next one (dev -> pre -> prod) or ``to``, as its next version there."""
        source = Environment.parse(from_environment) if from_environment else self.environment
        if to is not None:
            target = Environment.parse(to)
        elif source.value in _NEXT_ENV:
            target = Environment.parse(_NEXT_ENV[source.value])
        else:
            raise InvalidArgumentError(
                f"{self.name!r} is in prod, the last environment: name a target with "
                f"to=...")
        if target == source:
            raise InvalidArgumentError(f"{self.name!r} is already in {target.value}.")
        here = type(self)(self.name, environment=source, get_existing=True)
        row = here._version_row(None if version is None else _version_number(version))
        platform = _platform()
        meta = platform.metadata
        code = platform.blobs.get_bytes(row["code_key"])
        if code is None:
            raise NotFoundError(f"The code of version {row['job_version']} is missing.")
        with meta.write() as conn:
            workflow_id = _ensure_job(meta, conn, self.slug, target.value, self.name,
                                      self.job_type)

            def key_for(job_version: int) -> str:
                return platform.blobs.code_key(target.value, self.slug, job_version)

            latest = meta.latest_version(workflow_id, conn)
            platform.blobs.put_bytes(key_for((latest["job_version"] if latest else 0) + 1), code)
            new_version = meta.add_version(
                conn, workflow_id,
                definition={**row["definition"], "promoted_from": {
                    "environment": source.value, "job_version": row["job_version"]}},
                source=row["source"], code_key_for=key_for, code_hash=row["code_hash"],
                schedule=None, task_count=1)
        return True, (f"Promoted {self.name!r} version {row['job_version']} from {source.value} "
                      f"to {target.value}: version {new_version} there.")

    # -- history --------------------------------------------------------------------------
    def versions(self, environment: Environment | str | None = None) -> list[dict]:
        """The stored versions, oldest first: job_version, created_at, entrypoint, framework."""
        handle = self if environment is None else type(self)(
            self.name, environment=environment, get_existing=True)
        meta = _platform().metadata
        workflow_id = handle._row()["workflow_id"]
        out = []
        for v in meta.list_versions(workflow_id):
            d = meta.get_version(workflow_id, v["job_version"])["definition"]
            out.append({"job_version": int(v["job_version"]), "created_at": _dt(v["created_at"]),
                        "job_type": self.job_type, "entrypoint": d.get("entrypoint"),
                        "framework": d.get("framework"), "task_count": 1, "schedule": None})
        return out

    def runs(self, start_time: datetime | None = None, end_time: datetime | None = None,
             refresh: bool = False, *, limit: int | None = None) -> list[dict]:
        """One dict per process start, newest first (cached until ``refresh=True``)."""
        key = (start_time, end_time, limit)
        if not refresh and self._runs_cache is not None and self._runs_cache_key == key:
            return list(self._runs_cache)
        row = self._row()
        meta = _platform().metadata
        rows = meta.list_runs(row["workflow_id"], start=_ts(start_time, "start_time"),
                              end=_ts(end_time, "end_time"), limit=limit)
        result = [_run_dict(meta, r, row) for r in rows]
        self._runs_cache, self._runs_cache_key = result, key
        return list(result)

    def _run(self, run_id: int | None) -> tuple[dict, dict]:
        row = self._row()
        meta = _platform().metadata
        if run_id is None:
            latest = meta.list_runs(row["workflow_id"], limit=1)
            if not latest:
                raise NotFoundError(
                    f"{type(self).__name__} {self.name!r} ({self.environment.value}) has not "
                    f"started yet: start it with .run() or `dt job start {self.slug}`.")
            run_id = int(latest[0]["run_id"])
        try:
            run_id = int(run_id)
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"run_id={run_id!r}: give the integer id of a run.") from None
        run = meta.get_run(run_id)
        if run is None or run["workflow_id"] != row["workflow_id"]:
            recent = [r["run_id"] for r in meta.list_runs(row["workflow_id"], limit=10)]
            raise NotFoundError(
                f"{type(self).__name__} {self.name!r} ({self.environment.value}) has no run "
                f"{run_id}; its latest runs: {recent or '(none)'}.")
        return run, row

    def run_details(self, run_id: int | None = None) -> dict:
        """One process start: its run fields, pid, port, url, error, and its one task."""
        run, row = self._run(run_id)
        meta = _platform().metadata
        details = _run_dict(meta, run, row)
        details["error"] = run.get("error")
        details["pid"] = run.get("pid")
        details["tasks"] = [{
            "id": int(t["task_id"]), "name": t["name"], "state": t["state"],
            "dependencies": [], "start_time": _dt(t["start_time"]),
            "end_time": _dt(t["end_time"]), "attempts": int(t["attempts"] or 0),
            "error": t["error"], "resources": self._resources_dict(),
        } for t in meta.task_runs(run["run_id"])]
        return details

    def _resources_dict(self) -> dict:
        return self.resources.to_dict() if hasattr(self, "resources") else {}

    def logs(self, run_id: int | None = None, task_name: str | None = None,
             stderr: bool = False, lines: int = 5000, task_id: int | None = None) -> str:
        """What the process of a run (default: the latest) wrote to stdout (or stderr);
        ``task_name``/``task_id`` are informational, as the job itself is addressed."""
        run, _ = self._run(run_id)
        from datatailr.scheduler.services import read_log

        return read_log(run["run_id"], "stderr" if stderr else "stdout", lines)

    def result(self, run_id: int | None = None, task_name: str | None = None,
               task_id: int | None = None) -> Any:
        """What the entrypoint returned in a run (default: the latest), or None while it runs,
        when it raised or returned nothing."""
        run, _ = self._run(run_id)
        platform = _platform()
        [task_row] = platform.metadata.task_runs(run["run_id"])[:1] or [None]
        if task_row is None or task_row["state"] != "completed" \
                or task_row["result_run_id"] is None:
            return None
        from datatailr.store.results import load_result

        return load_result(platform.metadata, platform.blobs, task_row["result_run_id"],
                           task_row["result_task_id"], default=None)

    # -- now ------------------------------------------------------------------------------
    @property
    def state(self) -> str | None:
        """The state of the latest process start, or None before the first."""
        runs = _platform().metadata.list_runs(self._row()["workflow_id"], limit=1)
        return runs[0]["state"] if runs else None

    @property
    def url(self) -> str | None:
        """Where the job answers (or will, once started), or None before the first start."""
        meta = _platform().metadata
        runs = meta.list_runs(self._row()["workflow_id"], limit=1)
        return _options_of(meta, runs[0]["run_id"]).get("url") if runs else None

    def health(self, timeout: float = 2.0) -> str | None:
        """"healthy", "unhealthy" or "unreachable" from an HTTP GET of its port; None when it
        is not running."""
        from datatailr.scheduler.services import health_check

        if self.state != "running" or self.url is None:
            return None
        return health_check(self.url, timeout=timeout)

    def wait_until_healthy(self, timeout: float = 60.0, poll: float = 0.2) -> str:
        """Block until the job answers HTTP on its port; returns its URL."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state
            if state == "running" and self.health(timeout=1.0) == "healthy":
                return str(self.url)
            if time.monotonic() > deadline:
                last = self.runs(refresh=True, limit=1)
                error = _platform().metadata.get_run(last[0]["run_id"])["error"] if last else ""
                raise TimeoutError(
                    f"{self.name!r} is not answering at {self.url} after {timeout:g} s (state "
                    f"{state}{'; ' + error if error else ''}); see its logs: "
                    f"dt log read {self.slug} -e {self.environment.value}")
            time.sleep(poll)

    @classmethod
    def ls(cls, environment: Environment | str | None = None,
           filter_by: str | None = None) -> list[dict]:
        """The jobs of this type (in one environment, or in all)."""
        envs = [Environment.parse(environment)] if environment is not None else list(Environment)
        out = [j for env in envs for j in list_jobs(env, job_type=cls.job_type)]
        if filter_by:
            out = [j for j in out if filter_by.lower() in j["name"].lower()]
        return out


class Service(Job):
    """A long-running process (an API, a consumer, a worker) started by calling its
    entrypoint with the port it must listen on; restarted when it exits."""

    job_type = "service"

    def __init__(self, name: str, entrypoint: Callable | None = None,
                 environment: Environment | str | None = None, image: Any = None,
                 run_as: Any = None, resources: Resources | None = None, acl: Any = None,
                 python_version: str = "3.12", python_requirements: str | list[str] = "",
                 build_script_pre: str = "", build_script_post: str = "",
                 build_secret_keys: list[str] | None = None,
                 env_vars: dict[str, str | int | float | bool] | None = None,
                 get_existing: bool = False, version: str | int | None = None,
                 budget: Any = None, app_section: str = "") -> None:
        if entrypoint is not None and not get_existing and (
                isinstance(entrypoint, types.ModuleType) or not callable(entrypoint)):
            raise InvalidArgumentError(
                f"Service(entrypoint={entrypoint!r}): give the function that starts the server;"
                f" it is called with the port, e.g. def main(port): uvicorn.run(app, port=port)."
            )
        super().__init__(name, entrypoint, environment, image, run_as, resources, acl,
                         python_version, python_requirements, build_script_pre,
                         build_script_post, build_secret_keys, env_vars, get_existing, version,
                         app_section, budget)

    def instant_run(self, instant_run_mode: str = "source",
                    image_from_workstation: str | None = None) -> tuple[bool, str]:
        """Start it now; here that is ``run()`` (the code is frozen from source either way)."""
        mode = str(instant_run_mode).lower().strip()
        if mode not in ("auto", "source", "preinstalled"):
            raise InvalidArgumentError(
                f"instant_run_mode={instant_run_mode!r}: use 'source' (or 'auto', "
                f"'preinstalled'); services cannot be sent as cloudpickle.")
        return self.run()


class App(Job):
    """A web app or dashboard started through its framework (streamlit, dash, flask, fastapi,
    panel, voila), listening on the port the platform assigns."""

    job_type = "app"

    def __init__(self, name: str, entrypoint: Callable | str | types.ModuleType | None = None,
                 environment: Environment | str | None = None, image: Any = None,
                 run_as: Any = None, resources: Resources | None = None, acl: Any = None,
                 framework: str | None = None, python_version: str = "3.12",
                 python_requirements: str | list[str] = "", build_script_pre: str = "",
                 build_script_post: str = "", build_secret_keys: list[str] | None = None,
                 env_vars: dict[str, str | int | float | bool] | None = None,
                 get_existing: bool = False, version: str | int | None = None,
                 app_section: str = "", budget: Any = None) -> None:
        if not get_existing and entrypoint is not None:
            if framework is not None and framework not in FRAMEWORKS:
                raise InvalidArgumentError(
                    f"App(framework={framework!r}): use one of {', '.join(FRAMEWORKS)}.")
            if framework is None:
                reference = _entry_reference(entrypoint)
                framework = "voila" if reference["notebook"] else _detect_framework(
                    reference["file"])
                if framework is None:
                    raise InvalidArgumentError(
                        f"App({name!r}): cannot tell the framework of {entrypoint!r} from its "
                        f"imports; pass framework= one of {', '.join(FRAMEWORKS)}.")
            env_vars = dict(env_vars or {})
            env_vars.setdefault("DATATAILR_FRAMEWORK", framework)
        super().__init__(name, entrypoint, environment, image, run_as, resources, acl,
                         python_version, python_requirements, build_script_pre,
                         build_script_post, build_secret_keys, env_vars, get_existing, version,
                         app_section, budget, framework=framework)


class ExcelAddin(Job):
    """An Excel add-in: saved, versioned and listed here; it runs only on the hosted
    platform's Excel runtime."""

    job_type = "excel_addin"

    def __init__(self, name: str, entrypoint: Callable | None = None,
                 environment: Environment | str | None = None, image: Any = None,
                 run_as: Any = None, resources: Resources | None = None, acl: Any = None,
                 python_version: str = "3.12", python_requirements: str | list[str] = "",
                 build_script_pre: str = "", build_script_post: str = "",
                 build_secret_keys: list[str] | None = None,
                 env_vars: dict[str, str | int | float | bool] | None = None,
                 get_existing: bool = False, version: str | int | None = None,
                 app_section: str = "", budget: Any = None) -> None:
        super().__init__(name, entrypoint, environment, image, run_as, resources, acl,
                         python_version, python_requirements, build_script_pre,
                         build_script_post, build_secret_keys, env_vars, get_existing, version,
                         app_section, budget)

    def _check_startable(self) -> None:
        raise ExcelRuntimeError(
            f"ExcelAddin {self.name!r} cannot start here: it needs the hosted Datatailr "
            f"platform's Excel runtime. Save it with .save() (it is versioned and listed) and "
            f"deploy it from the hosted platform.")


_CLASSES: dict[str, type[Job]] = {"service": Service, "app": App, "excel_addin": ExcelAddin}


# -- store helpers -------------------------------------------------------------------------


def _version_number(version: Any) -> int:
    try:
        if isinstance(version, bool):
            raise ValueError
        return int(version)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"version={version!r}: give an integer version.") from None


def _ensure_job(meta: Any, conn: Any, slug: str, env: str, name: str, job_type: str) -> int:
    """The workflows row of a job, of its type (a workflow's name is refused by the store)."""
    return int(meta.ensure_workflow(conn, slug, env, name, job_type=job_type))


_TYPE_CACHE: dict[tuple[str, int], str] = {}


def _job_type_of(meta: Any, row: dict) -> str:
    """'workflow', 'service', 'app' or 'excel_addin' of a workflows row."""
    stored = row.get("job_type")
    if stored:
        return str(stored)
    key = (meta.url, int(row["workflow_id"]))
    if key not in _TYPE_CACHE:
        latest = meta.latest_version(row["workflow_id"])
        if latest is None:
            return "workflow"
        _TYPE_CACHE[key] = latest["definition"].get("job_type", "workflow")
    return _TYPE_CACHE[key]


def _options_of(meta: Any, run_id: int) -> dict:
    run = meta.get_run(run_id)
    return (run or {}).get("options") or {}


def _url(port: int | None) -> str | None:
    return f"http://127.0.0.1:{port}/" if port else None


def _run_dict(meta: Any, row: dict, job: dict) -> dict:
    start, end = row.get("start_time"), row.get("end_time")
    options = row.get("options")
    if options is None:
        options = _options_of(meta, row["run_id"])
    return {
        "run_id": int(row["run_id"]),
        "name": job["name"],
        "slug": job["slug"],
        "environment": job["environment"],
        "state": row["state"],
        "job_version": int(row["job_version"]),
        "start_time": _dt(start),
        "end_time": _dt(end),
        "created_at": _dt(row["created_at"]),
        "duration": (end - start) if start is not None and end is not None else None,
        "original_run_id": row.get("original_run_id"),
        "rerun_of": row.get("rerun_of"),
        "trigger": row.get("trigger"),
        "url": row.get("url") or options.get("url"),
        "port": options.get("port"),
    }


def job_type_of(name: str, environment: Environment | str | None = None) -> str | None:
    """The type of the job called ``name`` ('workflow', 'service', 'app', 'excel_addin'), or
    None when there is none."""
    env = resolve_environment(environment)
    meta = _platform().metadata
    row = meta.find_workflow(slugify(name), env.value)
    return _job_type_of(meta, row) if row else None


def open_job(name: str, environment: Environment | str | None = None) -> Job:
    """The handle on a stored service, app or Excel add-in, whatever its type."""
    env = resolve_environment(environment)
    kind = job_type_of(name, env)
    if kind not in _CLASSES:
        meta = _platform().metadata
        jobs = [f"{r['slug']} ({_job_type_of(meta, r)})" for r in meta.list_workflows(env.value)]
        what = f"; {name!r} there is a workflow" if kind == "workflow" else ""
        raise NotFoundError(
            f"No service, app or Excel add-in {name!r} in environment {env.value!r}{what}. "
            f"Jobs there: {', '.join(jobs) if jobs else '(none yet)'}.")
    return _CLASSES[kind](name, environment=env, get_existing=True)


def list_jobs(environment: Environment | str | None = None, job_type: str | None = None,
              health: bool = True) -> list[dict]:
    """Every service, app and Excel add-in of an environment: name, job_type, framework,
    job_version (latest), state of the latest process start, url, health (an HTTP check of
    the port while running), running_version, pid, last_start, restarts."""
    if job_type is not None and job_type not in JOB_TYPES:
        raise InvalidArgumentError(f"job_type={job_type!r}: use one of {', '.join(JOB_TYPES)}.")
    env = resolve_environment(environment)
    from datatailr.scheduler.services import health_check

    meta = _platform().metadata
    out = []
    for row in meta.list_workflows(env.value):
        kind = _job_type_of(meta, row)
        if kind not in JOB_TYPES or (job_type is not None and kind != job_type):
            continue
        version = meta.latest_version(row["workflow_id"])
        if version is None:
            continue
        recent = meta.list_runs(row["workflow_id"], limit=1)
        last = _run_dict(meta, recent[0], row) if recent else None
        state = last["state"] if last else None
        out.append({
            "name": row["name"],
            "slug": row["slug"],
            "environment": env.value,
            "job_type": kind,
            "framework": version["definition"].get("framework"),
            "entrypoint": version["definition"].get("entrypoint"),
            "job_version": int(version["job_version"]),
            "state": state,
            "url": last["url"] if last else None,
            "health": (health_check(last["url"]) if health and state == "running"
                       and last and last["url"] else None),
            "running_version": last["job_version"] if state == "running" and last else None,
            "pid": recent[0].get("pid") if state == "running" else None,
            "last_start": last["start_time"] if last else None,
            "last_run": last,
            "starts": meta.count_runs(row["workflow_id"]) if last else 0,
        })
    return out
