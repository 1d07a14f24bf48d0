"""The local agent: one long-running process per DATATAILR_HOME that runs what is queued.

It starts queued runs (deploys, manual starts, reruns), each in a runner process of its own
(``python -m datatailr.scheduler.runner RUN_ID``, in its own session, so a dying agent does
not take running work with it, with a clean environment rather than the agent's, and in the
run's isolated Python environment when one is built already); fires due schedules, once per due time, with one catch-up
run after downtime; ages out results past ``expire_after``; and marks runs whose process
died as ``unknown``. A file lock keeps it alone on its home. ``tick(now)`` is one turn of its
loop, so tests drive it with any clock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from datatailr.config import load_config
from datatailr.core.schedule import Schedule
from datatailr.errors import AgentError

LOOP_SECONDS = 0.2
EXPIRE_EVERY_SECONDS = 60.0
RECONCILE_EVERY_SECONDS = 2.0


def _paths() -> dict[str, Path]:
    folder = load_config().agent_dir
    return {"dir": folder, "lock": folder / "agent.lock", "info": folder / "agent.json",
            "log": folder / "agent.log", "runs": folder / "runs"}


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is dead for our purposes.
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split(")")[-1].split()[0] == "Z":
                return False
    return True


def agent_status() -> dict:
    """{"running", "pid", "started_at", "log_file", "home"} of this home's agent."""
    paths = _paths()
    info: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
        info = json.loads(paths["info"].read_text())
    running = False
    if paths["lock"].exists():
        with open(paths["lock"], "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                running = True
            else:
                fcntl.flock(f, fcntl.LOCK_UN)
    started = info.get("started_at")
    return {
        "running": running,
        "pid": info.get("pid") if running else None,
        "started_at": datetime.fromtimestamp(started, timezone.utc) if running and started else None,
        "log_file": str(paths["log"]),
        "home": str(load_config().home),
    }


def start_agent(background: bool = True, wait_seconds: float = 15.0) -> dict:
    """Start this home's agent: detached in the background, or here until SIGINT/SIGTERM."""
    status = agent_status()
    if status["running"]:
        return status
    if not background:
        Agent().serve()
        return agent_status()
    paths = _paths()
    paths["dir"].mkdir(parents=True, exist_ok=True)
    with open(paths["log"], "ab") as log:
        # Detached from the caller's terminal and pipes: `python deploy.py | tee x` returns.
        process = subprocess.Popen(
            [sys.executable, "-m", "datatailr.scheduler.agent"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, env={**os.environ, "DATATAILR_HOME": str(load_config().home)},
        )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        status = agent_status()
        if status["running"]:
            return status
        if process.poll() is not None:
            if agent_status()["running"]:  # another agent won the race: fine
                return agent_status()
            raise AgentError(
                f"The agent exited at start (code {process.returncode}); see {paths['log']}."
            )
        time.sleep(0.05)
    raise AgentError(f"The agent did not start within {wait_seconds:g} s; see {paths['log']}.")


def ensure_agent() -> dict:
    status = agent_status()
    return status if status["running"] else start_agent(background=True)


def stop_agent(timeout: float = 10.0) -> bool:
    """Stop this home's agent; False when none was running. Runs in progress go on."""
    status = agent_status()
    if not status["running"] or not status["pid"]:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(status["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not agent_status()["running"]:
            return True
        time.sleep(0.05)
    raise AgentError(f"The agent (pid {status['pid']}) did not stop within {timeout:g} s.")


class Agent:
    def __init__(self, now: Callable[[], float] = time.time,
                 spawn: Callable[[int], Any] | None = None) -> None:
        from datatailr.scheduler.platform import current_platform

        self.platform = current_platform()
        self.meta = self.platform.metadata
        self.now = now
        self.paths = _paths()
        self.host = socket.gethostname()
        self.children: dict[int, subprocess.Popen] = {}  # run id -> runner process
        self.spawn = spawn or self._spawn_runner
        self._stop = False
        self._lock_file: Any = None
        self._last_expire = 0.0
        self._last_reconcile = 0.0

    # -- lifecycle ------------------------------------------------------------------------
    def acquire(self) -> None:
        self.paths["dir"].mkdir(parents=True, exist_ok=True)
        self.paths["runs"].mkdir(parents=True, exist_ok=True)
        f = open(self.paths["lock"], "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            other = agent_status()
            raise AgentError(
                f"Another agent (pid {other['pid']}, started {other['started_at']}) holds "
                f"{self.paths['lock']}; stop it with `dt agent stop` first."
            ) from None
        self._lock_file = f
        self.paths["info"].write_text(json.dumps({
            "pid": os.getpid(), "started_at": time.time(), "host": self.host,
            "home": str(self.platform.config.home)}))

    def release(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                self._lock_file.close()
            self._lock_file = None

    def serve(self) -> None:
        self.acquire()
        self.log(f"agent started (pid {os.getpid()}, home {self.platform.config.home})")

        def on_signal(signum: int, _frame: Any) -> None:
            self._stop = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            self.recover()
            while not self._stop:
                try:
                    self.tick()
                except Exception as exc:  # the agent outlives any one bad turn
                    self.log(f"error in agent loop: {type(exc).__name__}: {exc}")
                time.sleep(LOOP_SECONDS)
        finally:
            self.log("agent stopped")
            self.release()

    def log(self, text: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{stamp} {text}", flush=True)

    # -- one turn -------------------------------------------------------------------------
    def tick(self) -> None:
        now = self.now()
        from datatailr.scheduler import services

        services.tick(self, now)  # services and apps: started, watched, restarted, stopped
        self.reap()
        self.fire_schedules(now)
        self.start_pending()
        if now - self._last_reconcile >= RECONCILE_EVERY_SECONDS:
            self._last_reconcile = now
            self.reconcile()
        if now - self._last_expire >= EXPIRE_EVERY_SECONDS:
            self._last_expire = now
            self.expire(now)

    def recover(self) -> None:
        """At start: runs whose process died are ``unknown``; claims nobody will serve are
        released so the runs are started again."""
        for run in self.meta.runs_in_states(["pending", "running"]):
            owner = run.get("claimed_by") or ""
            owner_host, _, owner_pid = owner.rpartition(":")
            if run["state"] == "running":
                if run.get("host") == self.host and not pid_alive(run.get("pid")):
                    self.meta.mark_abandoned(run["run_id"], "unknown",
                                             "The process running it died (found at agent start).")
                    self.log(f"run {run['run_id']}: its process died; marked unknown")
            elif owner and owner_host == self.host and not pid_alive(int(owner_pid or 0)):
                if run["trigger"] == "local":
                    self.meta.mark_abandoned(run["run_id"], "unknown",
                                             "The process that started it died before it ran.")
                else:
                    self.meta.release_claim(run["run_id"])
        from datatailr.scheduler import services

        services.recover(self)  # adopt service/app processes that outlived the last agent

    def reconcile(self) -> None:
        """Running runs of this host whose process is gone become ``unknown``."""
        for run in self.meta.runs_in_states(["running"]):
            if run["run_id"] in self.children:
                continue
            if run.get("host") == self.host and run.get("pid") and not pid_alive(run["pid"]):
                self.meta.mark_abandoned(run["run_id"], "unknown",
                                         "The process running it died.")
                self.log(f"run {run['run_id']}: its process {run['pid']} died; marked unknown")

    def start_pending(self) -> None:
        from datatailr.store.metadata import owner_tag

        for run in self.meta.pending_runs():
            if self.meta.claim_run(run["run_id"], owner_tag()):
                self.children[run["run_id"]] = self.spawn(run["run_id"])
                self.log(f"run {run['run_id']}: started ({run['trigger']})")

    def _spawn_runner(self, run_id: int) -> subprocess.Popen:
        """The run's own process, with the clean environment of ``run_environment``: a run's
        variables come from its version (declared env_vars, run context), never from the
        shell that happened to start this agent."""
        from datatailr.scheduler.runner import run_environment

        log_path = self.paths["runs"] / f"{run_id}.log"
        env = run_environment()
        env["DATATAILR_HOME"] = str(self.platform.config.home)
        python = self._cached_interpreter(run_id, env)
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                [python, "-m", "datatailr.scheduler.runner", str(run_id)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                close_fds=True, env=env,
            )

    def _cached_interpreter(self, run_id: int, env: dict[str, str]) -> str:
        """The run's isolated environment when it is built already (the runner starts in it
        at once); else this interpreter (the runner checks, builds and re-executes)."""
        from datatailr.image import environment as env_mod
        from datatailr.scheduler.execution import version_requirements
        from datatailr.scheduler.runner import IN_ENV_FLAG

        with contextlib.suppress(Exception):
            run = self.meta.get_run(run_id) or {}
            version = self.meta.get_version(run["workflow_id"], run["job_version"])
            requirements = version_requirements(version) if version else []
            if requirements and env_mod.unmet(requirements):
                python = env_mod.cached(requirements)
                if python is not None:
                    env.update(env_mod.activation(python, env))
                    env[IN_ENV_FLAG] = env_mod.requirements_key(requirements)
                    return python
        return sys.executable

    def reap(self) -> None:
        for run_id, process in list(self.children.items()):
            code = process.poll()
            if code is None:
                continue
            del self.children[run_id]
            run = self.meta.get_run(run_id)
            if run is not None and run["state"] in ("pending", "running"):
                why = (f"killed by signal {-code}" if code < 0 else f"exited with code {code}")
                self.meta.mark_abandoned(run_id, "unknown",
                                         f"The run's process {why} before the run ended; see "
                                         f"{self.paths['runs'] / f'{run_id}.log'}.")
                self.log(f"run {run_id}: runner {why}; marked unknown")

    def fire_schedules(self, now: float) -> list[int]:
        """Start one run per workflow whose schedule came due since it last fired."""
        from datatailr.scheduler.execution import new_run, run_options

        started = []
        for version in self.meta.scheduled_versions():
            schedule = Schedule.parse(version["schedule"])
            assert schedule is not None  # scheduled_versions() returns only these
            since = max(self.meta.last_fire(version["workflow_id"]) or 0.0,
                        version["created_at"])
            due = schedule.latest_due(datetime.fromtimestamp(since, timezone.utc),
                                      datetime.fromtimestamp(now, timezone.utc))
            if due is None:
                continue
            due_ts = due.timestamp()
            if not self.meta.record_fire(version["workflow_id"], due_ts):
                continue  # fired already (a restart within the same minute, or another agent)
            options = version["definition"].get("options", {})
            run_id = new_run(self.platform, workflow_id=version["workflow_id"],
                             job_version=version["job_version"],
                             task_names=[t["name"] for t in version["definition"]["tasks"]],
                             trigger="schedule", claimed=False, scheduled_time=due_ts,
                             options=run_options(options))
            self.meta.set_fire_run(version["workflow_id"], due_ts, run_id)
            self.log(f"{version['slug']} ({version['environment']}): schedule due at "
                     f"{due.isoformat()}; run {run_id} queued")
            started.append(run_id)
        return started

    def expire(self, now: float) -> int:
        """Delete stored results older than their workflow's ``expire_after``."""
        count = 0
        for env in ("dev", "pre", "prod"):
            for wf in self.meta.list_workflows(env):
                version = self.meta.latest_version(wf["workflow_id"])
                seconds = (version or {}).get("definition", {}).get("options", {}).get(
                    "expire_after")
                if not seconds:
                    continue
                old = self.meta.runs_finished_before(wf["workflow_id"], now - seconds)
                for run_id in old:
                    self.platform.blobs.delete(self.platform.blobs.run_keys(run_id)[0])
                self.meta.expire_task_results(old)
                count += len(old)
        return count


def main() -> int:
    try:
        Agent().serve()
    except AgentError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
