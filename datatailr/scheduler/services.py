"""Supervising services and apps beside the agent, and the process that runs one.

The agent calls ``tick(agent, now)`` every turn and ``recover(agent)`` at start. The
supervisor keeps every deployed service or app that was started (and not stopped) running: it
starts a process per start request, on a free port of 127.0.0.1 (the previous start's when it
is free), in a clean environment built from the version; when the process exits it records
how, and starts a new one after an exponential backoff (``BACKOFF_FIRST`` doubling up to
``BACKOFF_CAP``; a process that lived ``STABLE_SECONDS`` resets it). Each process start is one
run with one task (the job itself), its stdout/stderr stored as that task's logs. Stopping ends
the process's whole group (TERM, then KILL after ``STOP_GRACE``).

Everything it decides follows from the store: the latest run of a job says whether it should
be up (pending or running: yes; stopped: no; ended otherwise: restart), so an agent that comes
back adopts processes that are still alive and restarts the others.

``python -m datatailr.scheduler.services SPEC.json`` is the process itself: it puts the frozen
code first on the path and calls the service's entrypoint with the port, or starts the app's
framework on 127.0.0.1:port.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from datatailr.errors import NotFoundError

BACKOFF_FIRST = 1.0
BACKOFF_CAP = 60.0
STABLE_SECONDS = 30.0
STOP_GRACE = 5.0
SCAN_SECONDS = 0.5
#: task id of the one task of a service/app run (the job itself)
TASK_ID = 0
#: the queue and the claim of service/app runs: the workflow run queue never takes them
START_CLAIM = "services"
#: the caller's variables a job's process inherits (the clean base of a run's environment), with the platform's
#: DATATAILR_* settings (DATATAILR_SECRETS_BACKEND, ...) but not another job's context
BASE_VARIABLES = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR")
_CONTEXT_PREFIXES = ("DATATAILR_JOB_", "DATATAILR_BATCH_", "DATATAILR_USER",
                     "DATATAILR_SERVICE_", "DATATAILR_FRAMEWORK", "DATATAILR_INSTANT_RUN")


def _platform() -> Any:
    from datatailr.scheduler.platform import current_platform

    return current_platform()


# -- ports and health ----------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as servers bind: a port whose old connections linger in TIME_WAIT is free
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", int(port)))
        except OSError:
            return False
    return True


def reserve_port(preferred: int | None = None) -> int:
    """``preferred`` when it is free on 127.0.0.1, else a port the system says is free."""
    if preferred and port_free(preferred):
        return int(preferred)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health_check(url: str, timeout: float = 1.0) -> str:
    """GET ``<url>health`` (the hosted convention: a /health route answering OK); a job
    without one is judged by ``<url>`` itself. "healthy" (2xx/3xx), "unhealthy" (an HTTP error
    status) or "unreachable" (nothing answers)."""
    import urllib.error
    import urllib.request

    def status(path: str) -> int | None:
        try:
            with urllib.request.urlopen(url.rstrip("/") + path, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError, ValueError):
            return None

    code = status("/health")
    if code == 404:
        code = status("/")
    if code is None:
        return "unreachable"
    return "healthy" if code < 400 else "unhealthy"


# -- logs ----------------------------------------------------------------------------------


def _spool_dir() -> Path:
    from datatailr.config import load_config

    return load_config().agent_dir / "services" / "logs"


def read_log(run_id: int, stream: str = "stdout", lines: int | None = 5000) -> str:
    """What a process start wrote to ``stream``: the stored log, or, while a process writes
    to remote storage, the spool file on this machine."""
    platform = _platform()
    text = platform.blobs.read_log(run_id, TASK_ID, stream, lines)
    if text or platform.blobs.local:
        return text
    spool = _spool_dir() / f"{run_id}.{'err' if stream == 'stderr' else 'out'}"
    if spool.exists():
        from datatailr.store.blobs import _tail

        return _tail(str(spool), lines)
    return text


# -- stopping from anywhere ----------------------------------------------------------------


def _kill_group(pid: int | None, sig: int) -> None:
    if pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


def stop_runs(run_ids: list[int], wait: bool = True, timeout: float = 20.0) -> None:
    """Ask for these runs to stop; with an agent its supervisor ends them, without one (or
    when it is slow) their process groups on this machine are ended here."""
    from datatailr.scheduler.agent import agent_status, pid_alive

    meta = _platform().metadata
    for run_id in run_ids:
        meta.request_stop(run_id)
    if not wait:
        return
    host = socket.gethostname()
    deadline = time.monotonic() + timeout
    signalled: set[int] = set()
    while True:
        active = [r for r in (meta.get_run(i) for i in run_ids)
                  if r is not None and r["state"] in ("pending", "running")]
        if not active:
            return
        agent_up = agent_status()["running"]
        for run in active:
            mine = run.get("host") == host and run.get("pid")
            if mine and not agent_up and not pid_alive(run["pid"]):
                _record_end(meta, run["run_id"], "stopped", None, end=time.time())
            elif mine and (not agent_up or time.monotonic() > deadline - timeout / 2):
                sig = signal.SIGKILL if run["run_id"] in signalled else signal.SIGTERM
                _kill_group(run["pid"], sig)
                signalled.add(run["run_id"])
        if time.monotonic() > deadline:
            states = {r["run_id"]: r["state"] for r in active}
            raise TimeoutError(f"Runs {states} did not stop within {timeout:g} s.")
        time.sleep(0.1)


def _record_end(meta: Any, run_id: int, state: str, error: str | None, *, end: float,
                result: bool = False) -> None:
    task: dict[str, Any] = {"state": state, "end_time": end, "error": error,
                            "b_run_id": run_id, "b_task_id": TASK_ID}
    if result:
        task.update(result_run_id=run_id, result_task_id=TASK_ID)
    with meta.write() as conn:
        meta.apply(conn, [("run", {"run_id": run_id, "state": state, "end_time": end,
                                   "error": error}),
                          ("task", task)])


# -- the supervisor ------------------------------------------------------------------------


@dataclasses.dataclass
class _Process:
    run_id: int
    workflow_id: int
    pid: int
    started: float
    popen: subprocess.Popen | None  # None: adopted from an earlier agent
    spool: tuple[str, str] | None = None  # remote storage: where the logs are written first
    stopping: float | None = None  # monotonic time TERM was sent
    reason: str | None = None


class Supervisor:
    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.platform = agent.platform
        self.meta = agent.platform.metadata
        self.host = socket.gethostname()
        self.processes: dict[int, _Process] = {}  # run id -> its process
        self._last_scan = 0.0
        self._folder = self.platform.config.agent_dir / "services"

    def log(self, text: str) -> None:
        self.agent.log(text)

    # -- turns ----------------------------------------------------------------------------
    def recover(self) -> None:
        """Adopt the processes of running service/app runs that outlived the last agent."""
        from datatailr.scheduler.agent import pid_alive

        jobs = {j["workflow_id"] for j in self._jobs()}
        for run in self.meta.runs_in_states(["running"]):
            if run["workflow_id"] in jobs and run.get("host") == self.host \
                    and pid_alive(run.get("pid")):
                self.processes[run["run_id"]] = _Process(
                    run["run_id"], run["workflow_id"], int(run["pid"]),
                    run.get("start_time") or time.time(), None)
                self.log(f"run {run['run_id']}: adopted its running process {run['pid']}")

    def tick(self, now: float) -> None:
        self.reap()
        if now - self._last_scan >= SCAN_SECONDS or now < self._last_scan:
            self._last_scan = now
            for job in self._jobs():
                try:
                    self.supervise(job, now)
                except Exception as exc:  # one broken job never stops the others
                    self.log(f"{job['slug']} ({job['environment']}): {type(exc).__name__}: "
                             f"{exc}")

    def _jobs(self) -> list[dict]:
        from datatailr.core.environment import Environment
        from datatailr.scheduler.job import _job_type_of

        out = []
        for env in Environment:
            for row in self.meta.list_workflows(env.value):
                kind = _job_type_of(self.meta, row)
                if kind in ("service", "app"):
                    out.append({**row, "job_type": kind})
        return out

    def reap(self) -> None:
        from datatailr.scheduler.agent import pid_alive

        for run_id, proc in list(self.processes.items()):
            code = proc.popen.poll() if proc.popen is not None else (
                None if pid_alive(proc.pid) else "gone")
            if code is None:
                if proc.stopping is not None and time.monotonic() - proc.stopping > STOP_GRACE:
                    _kill_group(proc.pid, signal.SIGKILL)
                continue
            del self.processes[run_id]
            _kill_group(proc.pid, signal.SIGKILL)  # what the process left in its group
            self._finished(proc, None if code == "gone" else int(code))

    def _finished(self, proc: _Process, code: int | None) -> None:
        run = self.meta.get_run(proc.run_id)
        if proc.spool is not None:
            self._upload(proc)
        if run is None:
            return  # removed meanwhile
        end = time.time()
        result = False
        if proc.stopping is not None or run.get("stop_requested"):
            state, error = "stopped", proc.reason
        elif code is None:
            state, error = "unknown", ("Its process ended; its exit status was not seen (it was"
                                       " started by an earlier agent).")
        elif code == 0:
            state, error = "completed", "The entrypoint returned (exit code 0)."
            result = self.platform.blobs.has_result(proc.run_id, TASK_ID)
        else:
            if code < 0:
                name = signal.Signals(-code).name if -code in signal.valid_signals() else "?"
                error = f"The process was killed by signal {-code} ({name})."
            else:
                error = f"The process exited with code {code}; its stderr says why."
            state = "failed"
        # A reader that saw the pid gone before this reap may have written "unknown" (its
        # guess); what was seen here - the exit status or our own stop - is the truth.
        if run["state"] in ("pending", "running") or (
                run["state"] == "unknown" and (code is not None or proc.stopping is not None)):
            _record_end(self.meta, proc.run_id, state, error,
                        end=run.get("end_time") or end if run["state"] == "unknown" else end,
                        result=result)
        self.log(f"run {proc.run_id}: process {proc.pid} ended: {state}"
                 f"{' (' + error + ')' if error else ''}")

    def _upload(self, proc: _Process) -> None:
        assert proc.spool is not None
        for stream, path in zip(("stdout", "stderr"), proc.spool, strict=True):
            with contextlib.suppress(FileNotFoundError):
                data = Path(path).read_bytes()
                self.platform.blobs.put_bytes(
                    self.platform.blobs.log_key(proc.run_id, TASK_ID, stream), data)
                os.unlink(path)

    # -- one job --------------------------------------------------------------------------
    def supervise(self, job: dict, now: float) -> None:
        # Only the runs of the services queue: a run queued some other way (a workflow start
        # by mistake) is the run queue's business and never stops or starts a process here.
        active = [r for r in self.meta.list_runs(job["workflow_id"],
                                                 state=["pending", "running"])
                  if r.get("queue") == START_CLAIM]
        latest = [r for r in self.meta.list_runs(job["workflow_id"], limit=20)
                  if r.get("queue") == START_CLAIM][:1]
        if not latest:
            return
        newest = latest[0]
        for run in active:
            proc = self.processes.get(run["run_id"])
            if run["state"] == "running" and proc is None and run.get("host") == self.host:
                from datatailr.scheduler.agent import pid_alive

                if not pid_alive(run.get("pid")):
                    _record_end(self.meta, run["run_id"], "unknown",
                                "Its process died while no agent watched it.", end=time.time())
                continue
            if proc is None:
                continue
            if run.get("stop_requested"):
                self._terminate(proc, None)
            elif run["run_id"] != newest["run_id"]:
                self._terminate(proc, f"Replaced by run {newest['run_id']}.")
        if newest["state"] == "pending":
            if any(p.workflow_id == job["workflow_id"] for p in self.processes.values()):
                return  # the one it replaces is still stopping
            if newest.get("claimed_by") == START_CLAIM:
                self.launch(job, newest)
            return
        if newest["state"] in ("running", "stopped") or newest.get("stop_requested"):
            return
        if newest.get("pid") is None:
            return  # it never got a process (its launch failed): restarting cannot help
        due = (newest.get("end_time") or now) + self.backoff(job["workflow_id"])
        if now >= due:
            self.restart(job, newest)

    def backoff(self, workflow_id: int) -> float:
        """Seconds before the next start: doubling with every quick exit in a row."""
        quick = 0
        for run in self.meta.list_runs(workflow_id, limit=12):
            if run.get("queue") != START_CLAIM:
                continue
            start, end = run.get("start_time"), run.get("end_time")
            if run["state"] == "stopped" or start is None or end is None \
                    or end - start >= STABLE_SECONDS:
                break
            quick += 1
        return min(BACKOFF_FIRST * 2 ** max(quick - 1, 0), BACKOFF_CAP)

    def restart(self, job: dict, previous: dict) -> None:
        options = self.meta.get_run(previous["run_id"])["options"] or {}
        version = self.meta.latest_version(job["workflow_id"])
        assert version is not None
        # the version that was running, not a newer one saved meanwhile (that needs a start)
        run_id = self.meta.create_run(
            workflow_id=job["workflow_id"], job_version=int(previous["job_version"]),
            trigger="restart", task_names=[job["name"]], claimed_by=START_CLAIM,
            original_run_id=previous.get("original_run_id") or previous["run_id"],
            rerun_of=previous["run_id"], options={"port": options.get("port")},
            user=previous.get("user"), queue=START_CLAIM)
        self.log(f"{job['slug']} ({job['environment']}): run {previous['run_id']} "
                 f"{previous['state']}; restarting as run {run_id}")
        self.launch(job, self.meta.get_run(run_id) or {})

    def _terminate(self, proc: _Process, reason: str | None) -> None:
        if proc.stopping is None:
            proc.stopping = time.monotonic()
            proc.reason = reason
            _kill_group(proc.pid, signal.SIGTERM)

    # -- starting a process ---------------------------------------------------------------
    def launch(self, job: dict, run: dict) -> None:
        from datatailr.store.sql import owner_tag

        run_id = int(run["run_id"])
        run = self.meta.get_run(run_id) or run  # with its options (the port it asked for)
        try:
            version = self.meta.get_version(job["workflow_id"], run["job_version"])
            if version is None:
                raise NotFoundError(f"version {run['job_version']} is gone")
            spec = self._spec(job, version, run)
        except Exception as exc:
            now = time.time()
            self.meta.update_run(run_id, start_time=now, claimed_by=owner_tag())
            _record_end(self.meta, run_id, "failed", f"The process could not start: {exc}",
                        end=now)
            self.log(f"run {run_id}: could not start: {exc}")
            return
        spec_path = self._folder / "runs" / f"{run_id}.json"
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(spec))
        out, err, spool = self._log_paths(run_id)
        with open(out, "ab") as fo, open(err, "ab") as fe:
            popen = subprocess.Popen(
                [sys.executable, "-m", "datatailr.scheduler.services", str(spec_path)],
                stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, start_new_session=True,
                close_fds=True, cwd=spec["code_dir"], env=spec["env"])
        now = time.time()
        url = f"http://127.0.0.1:{spec['port']}/"
        options = {**(self.meta.get_run(run_id) or {}).get("options", {}),
                   "port": spec["port"], "url": url}
        values: dict[str, Any] = {"state": "running", "start_time": now, "pid": popen.pid,
                                  "host": self.host, "claimed_by": owner_tag(),
                                  "options": json.dumps(options)}
        if "url" in {c.name for c in self._runs_columns()}:
            values["url"] = url
        with self.meta.write() as conn:
            self.meta.apply(conn, [("run", {"run_id": run_id, **values}),
                                   ("task", {"state": "running", "start_time": now,
                                             "pid": popen.pid, "attempts": 1,
                                             "b_run_id": run_id, "b_task_id": TASK_ID})])
        self.processes[run_id] = _Process(run_id, job["workflow_id"], popen.pid, now, popen,
                                          spool)
        self.log(f"{job['slug']} ({job['environment']}): run {run_id} started, pid "
                 f"{popen.pid}, {url}")

    @staticmethod
    def _runs_columns() -> Any:
        from datatailr.store.metadata import runs

        return runs.c

    def _log_paths(self, run_id: int) -> tuple[str, str, tuple[str, str] | None]:
        blobs = self.platform.blobs
        if blobs.local:
            out = blobs.local_log_path(run_id, TASK_ID, "stdout")
            err = blobs.local_log_path(run_id, TASK_ID, "stderr")
            assert out is not None and err is not None
            os.makedirs(os.path.dirname(out), exist_ok=True)
            return out, err, None
        folder = self._folder / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        spool = (str(folder / f"{run_id}.out"), str(folder / f"{run_id}.err"))
        return spool[0], spool[1], spool

    def _spec(self, job: dict, version: dict, run: dict) -> dict:
        definition = version["definition"]
        framework = definition.get("framework")
        if job["job_type"] == "app":
            import importlib.util

            from datatailr.scheduler.job import FRAMEWORKS

            needed = FRAMEWORKS.get(framework or "", (framework or "",))
            missing = [m for m in needed if importlib.util.find_spec(m) is None]
            if missing:
                raise NotFoundError(
                    f"the app's framework {framework!r} needs {' and '.join(missing)}, not "
                    f"installed where the agent runs ({sys.executable}): "
                    f"pip install {' '.join(missing)}")
        code_dir = self._extract(job, version)
        options = run.get("options") or {}
        port = reserve_port(options.get("port"))
        payload = self._payload(version)
        env = process_environment(
            self.platform.config, definition.get("options", {}).get("env_vars", {}),
            code_dir=code_dir, context={
                "DATATAILR_JOB_NAME": job["slug"],
                "DATATAILR_JOB_ENVIRONMENT": job["environment"],
                "DATATAILR_JOB_VERSION": str(version["job_version"]),
                "DATATAILR_JOB_TYPE": job["job_type"],
                "DATATAILR_USER": getpass.getuser(),
                "DATATAILR_SERVICE_PORT": str(port),
                "PORT": str(port),
            })
        return {
            "run_id": int(run["run_id"]), "job_type": job["job_type"], "framework": framework,
            "module": payload.get("module"), "function": payload.get("function"),
            "notebook": payload.get("notebook"),
            "callable": str(Path(code_dir) / ".entrypoint.pkl")
            if payload.get("callable") else None,
            "code_dir": code_dir, "port": port, "blobs": self.platform.blobs.__getstate__(),
            "sys_path": definition.get("sys_path", []), "env": env,
        }

    def _payload(self, version: dict) -> dict:
        data = self.platform.blobs.get_bytes(version["code_key"])
        if data is None:
            raise NotFoundError(f"the code of version {version['job_version']} is missing "
                                f"(key {version['code_key']!r})")
        return dict(pickle.loads(data))

    def _extract(self, job: dict, version: dict) -> str:
        """The version's frozen files as a folder of their own (written once: a version
        never changes)."""
        folder = (self._folder / "code" / job["environment"] / job["slug"]
                  / f"v{version['job_version']}-{version['code_hash'][:12]}")
        if folder.is_dir():
            return str(folder)
        payload = self._payload(version)
        tmp = folder.with_name(folder.name + f".part-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for rel, data in payload.get("files", {}).items():
            target = (tmp / rel).resolve()
            if not str(target).startswith(str(tmp.resolve())):
                raise NotFoundError(f"a frozen file escapes its folder: {rel!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if payload.get("callable"):
            (tmp / ".entrypoint.pkl").write_bytes(payload["callable"])
        try:
            tmp.rename(folder)
        except OSError:  # extracted meanwhile by another turn: same bytes
            shutil.rmtree(tmp, ignore_errors=True)
        return str(folder)


def process_environment(config: Any, env_vars: dict, *, code_dir: str, context: dict) -> dict:
    """A job process's variables: a clean base, the platform's settings, the version's
    env_vars, then the run context - never the rest of whoever started the agent."""
    env = {k: v for k, v in os.environ.items()
           if k in BASE_VARIABLES or k.startswith("LC_")
           or (k.startswith("DATATAILR_") and not k.startswith(_CONTEXT_PREFIXES))}
    env.setdefault("PATH", os.defpath)
    env.update({
        "DATATAILR_HOME": str(config.home), "DATATAILR_DB_URL": config.db_url,
        "DATATAILR_STORAGE_URL": config.storage_url, "DATATAILR_EXECUTOR": config.executor,
        "DATATAILR_MAX_WORKERS": str(config.max_workers), "PYTHONUNBUFFERED": "1",
    })
    # the frozen code first, then wherever this datatailr is imported from when that is not
    # the interpreter's own site-packages
    import datatailr

    paths = [code_dir]
    package_parent = str(Path(datatailr.__file__).resolve().parent.parent)
    import sysconfig

    if package_parent not in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        paths.append(package_parent)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update({str(k): str(v) for k, v in env_vars.items()})
    env.update(context)
    return env


# -- the agent's hooks ---------------------------------------------------------------------


def supervisor_of(agent: Any) -> Supervisor:
    sup = getattr(agent, "_services_supervisor", None)
    if sup is None:
        sup = Supervisor(agent)
        agent._services_supervisor = sup
    return sup


def tick(agent: Any, now: float) -> None:
    supervisor_of(agent).tick(now)


def recover(agent: Any) -> None:
    supervisor_of(agent).recover()


# -- the process of one start --------------------------------------------------------------


def _framework_argv(spec: dict, script: str | None) -> tuple[str, list[str]]:
    """(module to run as __main__, its argv) of an app's framework on 127.0.0.1:port."""
    port, module = str(spec["port"]), spec["module"]
    framework = spec["framework"]
    if framework == "streamlit":
        return "streamlit", ["streamlit", "run", str(script), "--server.address", "127.0.0.1",
                             "--server.port", port, "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"]
    if framework in ("flask", "dash"):
        target = f"{module}:{'server' if framework == 'dash' else 'app'}"
        return "gunicorn", ["gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                            "--no-control-socket", target]
    if framework == "fastapi":
        return "uvicorn", ["uvicorn", f"{module}:app", "--host", "127.0.0.1", "--port", port]
    if framework == "panel":
        return "panel", ["panel", "serve", str(script), "--address", "127.0.0.1", "--port", port,
                         "--allow-websocket-origin", f"127.0.0.1:{port}"]
    if framework == "voila":
        return "voila", ["voila", "--no-browser", "--Voila.ip", "127.0.0.1", "--port", port,
                         str(spec["notebook"])]
    if framework == "jupyter":
        return "notebook", ["jupyter-notebook", "--ip", "127.0.0.1", "--port", port,
                            "--no-browser", f"--ServerApp.default_url=notebooks/"
                            f"{spec['notebook']}"]
    raise SystemExit(f"Unsupported app framework {framework!r}.")


def main(argv: list[str]) -> int:
    import importlib
    import runpy

    spec = json.loads(Path(argv[0]).read_text())
    code_dir = spec["code_dir"]
    sys.path[:] = [code_dir] + [p for p in sys.path if p and p != code_dir]
    for entry in spec.get("sys_path", []):  # as workflows do: the deploying process's path
        if entry not in sys.path and os.path.exists(entry):
            sys.path.append(entry)
    if spec["job_type"] == "app":
        script = None
        if spec.get("module"):
            found = importlib.util.find_spec(spec["module"])
            script = found.origin if found is not None else None
        if spec["framework"] == "dash" and spec.get("module"):
            module = importlib.import_module(spec["module"])
            if getattr(module, "server", None) is None:
                raise SystemExit(f"The Dash app {spec['module']!r} must expose its Flask "
                                 f"server as `server = app.server`.")
        name, sys.argv = _framework_argv(spec, script)
        runpy.run_module(name, run_name="__main__", alter_sys=True)
        return 0
    if spec.get("callable"):
        with open(spec["callable"], "rb") as f:
            entrypoint = pickle.load(f)
    else:
        module = importlib.import_module(spec["module"])
        entrypoint = getattr(module, spec["function"])
    value = entrypoint(int(spec["port"]))
    if value is not None:
        from datatailr.store.blobs import BlobStore

        blobs = BlobStore.__new__(BlobStore)
        blobs.__setstate__(spec["blobs"])
        blobs.save_result(spec["run_id"], TASK_ID, value)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
