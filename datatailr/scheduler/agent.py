"""The local agent: a long-running process that runs what is queued on the queues it serves.

It starts queued runs (deploys, manual starts, reruns) of its queues (``default`` unless
``--queue`` names others), each in a runner process of its own
(``python -m datatailr.scheduler.runner RUN_ID``, in its own session, so a dying agent does
not take running work with it, with a clean environment rather than the agent's, and in the
run's isolated Python environment when one is built already), holding back runs of a workflow
whose ``max_concurrent_runs`` are in flight; fires due schedules of its queues, once per due
time, with one catch-up run after downtime; ages out results past ``expire_after``; and marks
runs whose process died, or whose heartbeat went stale on any machine, as ``unknown``. A file
lock per queue keeps it alone on its queue in its home; the store's registry of agents (with a
heartbeat) tells deploys, on any machine sharing the store, which queues are served.
``tick(now)`` is one turn of its loop, so tests drive it with any clock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from datatailr.config import load_config
from datatailr.core import validate
from datatailr.core.schedule import Schedule
from datatailr.errors import AgentError, InvalidArgumentError

LOOP_SECONDS = 0.2
#: ``DATATAILR_AGENT_WARM=0`` turns the warm runner off (each run then starts a new
#: interpreter, as bench/bench_deploy.py measures beside it)
WARM_VARIABLE = "DATATAILR_AGENT_WARM"
#: a warm runner that died on its own is replaced at most this often
WARM_RESTART_SECONDS = 5.0
EXPIRE_EVERY_SECONDS = 60.0
RECONCILE_EVERY_SECONDS = 2.0


def _paths(queue: str = "default") -> dict[str, Path]:
    """The files of the agent serving ``queue`` in this home: its lock (held while it runs),
    info (pid, start) and log. The default queue's keep their historical names."""
    folder = load_config().agent_dir
    stem = "agent" if queue == "default" else f"agent-{queue}"
    return {"dir": folder, "lock": folder / f"{stem}.lock", "info": folder / f"{stem}.json",
            "log": folder / f"{stem}.log", "runs": folder / "runs"}


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


def agent_status(queue: str = "default") -> dict:
    """{"running", "pid", "started_at", "log_file", "home", "queue", "queues"} of the agent
    serving ``queue`` in this home (``queues``: every queue that agent serves)."""
    queue = validate.queue(queue)
    paths = _paths(queue)
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
        "log_file": info.get("log_file") or str(paths["log"]) if running else str(paths["log"]),
        "home": str(load_config().home),
        "queue": queue,
        "queues": info.get("queues", [queue]) if running else [queue],
    }


def start_agent(background: bool = True, wait_seconds: float = 15.0,
                queues: Sequence[str] | None = None) -> dict:
    """Start an agent serving ``queues`` (default: the ``default`` queue) in this home:
    detached in the background, or here until SIGINT/SIGTERM. Returns the status of its
    first queue's agent; one that runs already is left as it is."""
    queues = _queue_list(queues)
    status = agent_status(queues[0])
    if status["running"]:
        return status
    if not background:
        Agent(queues=queues).serve()
        return agent_status(queues[0])
    paths = _paths(queues[0])
    paths["dir"].mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "datatailr.scheduler.agent"]
    for queue in queues:
        argv += ["--queue", queue]
    with open(paths["log"], "ab") as log:
        # Detached from the caller's terminal and pipes: `python deploy.py | tee x` returns.
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, env={**os.environ, "DATATAILR_HOME": str(load_config().home)},
        )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        status = agent_status(queues[0])
        if status["running"]:
            return status
        if process.poll() is not None:
            if agent_status(queues[0])["running"]:  # another agent won the race: fine
                return agent_status(queues[0])
            raise AgentError(
                f"The agent exited at start (code {process.returncode}); see {paths['log']}."
            )
        time.sleep(0.05)
    raise AgentError(f"The agent did not start within {wait_seconds:g} s; see {paths['log']}.")


def shared_store() -> bool:
    """Whether this home's store is a server database (PostgreSQL) that other machines'
    agents may serve: then deploys never start an agent of their own."""
    return not load_config().db_url.startswith("sqlite")


def live_agents(queue: str | None = None) -> list[dict]:
    """The registered agents whose heartbeat is fresh, on any machine; only those serving
    ``queue`` when given."""
    from datatailr.scheduler.platform import current_platform
    from datatailr.store.recorder import STALE_AFTER_SECONDS

    now = time.time()
    return [a for a in current_platform().metadata.list_agents()
            if now - a["heartbeat"] <= STALE_AFTER_SECONDS
            and (queue is None or queue in a["queues"])]


def ensure_agent(queue: str = "default") -> dict:
    """An agent for ``queue``: this home's, started in the background when none runs; with a
    shared store, any live agent of the registry (none is started here: the team's agents
    serve the team's queues). ``running`` is False when no agent serves the queue: the run
    waits, pending, until one does (``describe_agent`` says so)."""
    queue = validate.queue(queue)
    status = agent_status(queue)
    if status["running"]:
        wake_agent(queue)
        return status
    if shared_store():
        serving = live_agents(queue)
        if serving:
            first = serving[0]
            return {**status, "running": True, "pid": first["pid"], "host": first["host"],
                    "agents": len(serving)}
        return status
    return start_agent(background=True, queues=[queue])


def wake_agent(queue: str = "default") -> None:
    """Have this home's agent of ``queue`` look at the queue now rather than at its next
    turn (it takes SIGUSR1 as that, see ``Agent.serve``). Quietly nothing when it is gone."""
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, ProcessLookupError,
                             PermissionError, TypeError, ValueError):
        info = json.loads(_paths(queue)["info"].read_text())
        if info.get("wakes_on") != "SIGUSR1" or info.get("host") != socket.gethostname():
            return
        status = agent_status(queue)  # the lock is held: the pid is the agent's, not reused
        if status["running"] and status["pid"] == info["pid"]:
            os.kill(int(info["pid"]), signal.SIGUSR1)


def describe_agent(status: dict) -> str:
    """How a deploy's message names who runs its run: "the local agent (pid 12)", "queue 'gpu'
    (the agent on host-b, pid 7)", or that no agent serves the queue."""
    queue = status.get("queue", "default")
    if not status.get("running"):
        return (f"queue {queue!r}, which no agent serves yet: start one with "
                f"`dt agent start --queue {queue}` (the run waits, pending, until one does)")
    where = (f"the agent on {status['host']}, pid {status['pid']}" if status.get("host")
             else f"the local agent, pid {status['pid']}")
    if queue == "default":
        return f"the local agent (pid {status['pid']})" if not status.get("host") else where
    return f"queue {queue!r} ({where})"


def warn_if_unserved(status: dict) -> None:
    """One line on stderr when a run was queued where no agent serves it."""
    if not status.get("running"):
        queue = status.get("queue", "default")
        print(f"Warning: no agent serves queue {queue!r}; start one with "
              f"`dt agent start --queue {queue}`.", file=sys.stderr)


def stop_agent(timeout: float = 10.0, queue: str = "default") -> bool:
    """Stop this home's agent serving ``queue``; False when none was running. Runs in
    progress go on."""
    status = agent_status(queue)
    if not status["running"] or not status["pid"]:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(status["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not agent_status(queue)["running"]:
            return True
        time.sleep(0.05)
    raise AgentError(f"The agent (pid {status['pid']}) did not stop within {timeout:g} s.")


def running_queues() -> list[str]:
    """The queues whose agent runs in this home now."""
    folder = load_config().agent_dir
    queues = ["default"] + sorted(p.stem[len("agent-"):] for p in folder.glob("agent-*.lock"))
    return [q for q in queues if agent_status(q)["running"]]


def _queue_list(queues: Sequence[str] | None) -> list[str]:
    """Validated, without repeats, in the order given; the default queue when none."""
    names = [validate.queue(q) for q in (queues or ["default"])]
    return list(dict.fromkeys(names))


class Agent:
    """One agent: serves ``queues`` (default: the ``default`` queue) of this home's store.
    The agent of the default queue also supervises services and apps and ages out results."""

    def __init__(self, now: Callable[[], float] = time.time,
                 spawn: Callable[[int], Any] | None = None,
                 queues: Sequence[str] | None = None) -> None:
        from datatailr.scheduler.platform import current_platform
        from datatailr.store.sql import owner_tag

        self.platform = current_platform()
        self.meta = self.platform.metadata
        self.now = now
        self.queues = _queue_list(queues)
        self.paths = _paths(self.queues[0])
        self.agent_id = owner_tag()
        self._last_beat = 0.0
        self._waiting: set[int] = set()  # runs held back by max_concurrent_runs (logged once)
        self.host = socket.gethostname()
        self.children: dict[int, subprocess.Popen] = {}  # run id -> runner process
        self.spawn = spawn or self._spawn_runner
        self._stop = False
        self._lock_files: list[Any] = []
        self._registered = False
        self._last_expire = 0.0
        self._last_reconcile = 0.0
        self._warm: subprocess.Popen | None = None  # a runner waiting for its run id
        self._warm_started = 0.0
        self._wake_fd: int | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def acquire(self) -> None:
        """Take the lock of every queue served (one agent per queue and home), write each
        queue's info file, and enter the store's registry of agents."""
        self.paths["dir"].mkdir(parents=True, exist_ok=True)
        self.paths["runs"].mkdir(parents=True, exist_ok=True)
        for queue in self.queues:
            paths = _paths(queue)
            f = open(paths["lock"], "a+")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                self.release()
                other = agent_status(queue)
                serving = "" if queue == "default" else f" serving queue {queue!r}"
                stop = "dt agent stop" + ("" if queue == "default" else f" --queue {queue}")
                raise AgentError(
                    f"Another agent{serving} (pid {other['pid']}, started "
                    f"{other['started_at']}) holds {paths['lock']}; stop it with `{stop}` "
                    f"first."
                ) from None
            self._lock_files.append(f)
        info = {"pid": os.getpid(), "started_at": time.time(), "host": self.host,
                "home": str(self.platform.config.home), "queues": self.queues,
                "log_file": str(self.paths["log"]), "wakes_on": "SIGUSR1"}
        for queue in self.queues:
            _paths(queue)["info"].write_text(json.dumps(info))
        self.meta.register_agent(self.agent_id, host=self.host, pid=os.getpid(),
                                 home=str(self.platform.config.home), queues=self.queues)
        self._registered = True
        self._last_beat = time.time()

    def release(self) -> None:
        if self._registered:
            self._registered = False
            with contextlib.suppress(Exception):
                self.meta.unregister_agent(self.agent_id)
        for f in self._lock_files:
            with contextlib.suppress(OSError):
                fcntl.flock(f, fcntl.LOCK_UN)
                f.close()
        self._lock_files = []

    def serve(self) -> None:
        # A deploy on this machine wakes the agent at once with SIGUSR1 (see ``wake_agent``),
        # instead of waiting for the next turn; the handler is in place before the info file
        # that tells deploys the pid.
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGUSR1, lambda _signum, _frame: None)
        self._wake_fd = wake_read
        self.acquire()
        self.log(f"agent started (pid {os.getpid()}, home {self.platform.config.home}, "
                 f"queues {', '.join(self.queues)})")

        def on_signal(signum: int, _frame: Any) -> None:
            self._stop = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            self.recover()
            self._keep_warm()
            while not self._stop:
                try:
                    self.tick()
                    self._keep_warm()
                except Exception as exc:  # the agent outlives any one bad turn
                    self.log(f"error in agent loop: {type(exc).__name__}: {exc}")
                self._sleep(LOOP_SECONDS)
        finally:
            self.log("agent stopped")
            self._end_warm()
            self.release()
            signal.set_wakeup_fd(-1)
            os.close(wake_read)
            os.close(wake_write)

    def _sleep(self, seconds: float) -> None:
        """Until the next turn, or a signal (a deploy's wake-up, SIGTERM) arrives."""
        if self._wake_fd is None:
            time.sleep(seconds)
            return
        ready, _, _ = select.select([self._wake_fd], [], [], seconds)
        if ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake_fd, 512):
                    pass

    def log(self, text: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{stamp} {text}", flush=True)

    # -- one turn -------------------------------------------------------------------------
    def tick(self) -> None:
        now = self.now()
        from datatailr.scheduler import services

        if self.serves_default:
            services.tick(self, now)  # services and apps: started, watched, restarted, stopped
        self.beat()
        self.reap()
        self.fire_schedules(now)
        self.start_pending()
        if now - self._last_reconcile >= RECONCILE_EVERY_SECONDS:
            self._last_reconcile = now
            self.reconcile()
        if self.serves_default and now - self._last_expire >= EXPIRE_EVERY_SECONDS:
            self._last_expire = now
            self.expire(now)

    @property
    def serves_default(self) -> bool:
        return "default" in self.queues

    def beat(self) -> None:
        """The registry's heartbeat, every HEARTBEAT_SECONDS (wall time); a row another
        agent removed as stale is entered again."""
        from datatailr.store.recorder import HEARTBEAT_SECONDS

        if not self._lock_files:
            return  # not serving (a test driving tick() without acquire)
        wall = time.time()
        if wall - self._last_beat < HEARTBEAT_SECONDS:
            return
        self._last_beat = wall
        if not self.meta.agent_heartbeat(self.agent_id, wall):
            self.meta.register_agent(self.agent_id, host=self.host, pid=os.getpid(),
                                     home=str(self.platform.config.home), queues=self.queues)

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
        """Running runs nobody executes any more become ``unknown``: this host's whose process
        is gone, and any host's whose heartbeat is stale (its machine died). Pending runs
        claimed by an agent whose registry heartbeat is stale go back to the queue, and the
        stale agent leaves the registry."""
        from datatailr.store.recorder import STALE_AFTER_SECONDS

        wall = time.time()
        for run in self.meta.runs_in_states(["running"]):
            if run["run_id"] in self.children:
                continue
            if run.get("host") == self.host and run.get("pid") and not pid_alive(run["pid"]):
                self.meta.mark_abandoned(run["run_id"], "unknown",
                                         "The process running it died.")
                self.log(f"run {run['run_id']}: its process {run['pid']} died; marked unknown")
            elif run.get("heartbeat") and wall - run["heartbeat"] > STALE_AFTER_SECONDS:
                stopped = datetime.fromtimestamp(run["heartbeat"], timezone.utc)
                self.meta.mark_abandoned(
                    run["run_id"], "unknown",
                    f"Its heartbeat stopped at {stopped:%Y-%m-%d %H:%M:%S} UTC (on "
                    f"{run.get('host')}): the process or machine running it is gone.")
                self.log(f"run {run['run_id']}: heartbeat stale (host {run.get('host')}); "
                         f"marked unknown")
        stale = {a["agent_id"] for a in self.meta.list_agents()
                 if wall - a["heartbeat"] > STALE_AFTER_SECONDS and a["agent_id"] != self.agent_id}
        if not stale:
            return
        for run in self.meta.runs_in_states(["pending"]):
            if run.get("claimed_by") in stale:
                self.meta.release_claim(run["run_id"])
                self.log(f"run {run['run_id']}: its agent {run['claimed_by']} is gone; "
                         f"back in queue {run.get('queue')!r}")
        for agent_id in stale:
            self.meta.unregister_agent(agent_id)
            self.log(f"agent {agent_id}: heartbeat stale; removed from the registry")

    def start_pending(self) -> None:
        """Claim and start the pending runs of the queues served, oldest first; a run whose
        workflow has ``max_concurrent_runs`` in flight waits, pending, for a later turn."""
        from datatailr.store.sql import owner_tag

        for run in self.meta.pending_runs(queues=self.queues):
            limit = (run.get("options") or {}).get("max_concurrent_runs")
            if self.meta.claim_run(run["run_id"], owner_tag(), max_concurrent=limit):
                self._waiting.discard(run["run_id"])
                self.children[run["run_id"]] = self.spawn(run["run_id"])
                self.log(f"run {run['run_id']}: started ({run['trigger']})")
            elif limit is not None and run["run_id"] not in self._waiting:
                self._waiting.add(run["run_id"])
                self.log(f"run {run['run_id']}: waits, max_concurrent_runs={limit} of its "
                         f"workflow are in flight")

    def _runner_environment(self) -> dict[str, str]:
        from datatailr.scheduler.runner import run_environment

        env = run_environment()
        env["DATATAILR_HOME"] = str(self.platform.config.home)
        return env

    def _spawn_runner(self, run_id: int) -> subprocess.Popen:
        """The run's own process, with the clean environment of ``run_environment``: a run's
        variables come from its version (declared env_vars, run context), never from the
        shell that happened to start this agent. The warm runner when it fits (the run needs
        this interpreter, not a built environment), else a new one."""
        env = self._runner_environment()
        python = self._cached_interpreter(run_id, env)
        if python == sys.executable:
            warm, self._warm = self._warm, None
            if warm is not None and warm.poll() is None and warm.stdin is not None:
                try:
                    warm.stdin.write(f"{run_id}\n".encode())
                    warm.stdin.close()
                    return warm
                except OSError:  # it died just now: start the run the cold way
                    pass
        log_path = self.paths["runs"] / f"{run_id}.log"
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                [python, "-m", "datatailr.scheduler.runner", str(run_id)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                close_fds=True, env=env,
            )

    def _keep_warm(self) -> None:
        """One runner started ahead, waiting for the next run (``runner.serve_warm``)."""
        if os.environ.get(WARM_VARIABLE, "1") == "0":
            return
        if self._warm is not None and self._warm.poll() is None:
            return
        wall = time.monotonic()
        if self._warm is not None:  # it died waiting: say so, and do not respawn in a loop
            self.log(f"warm runner {self._warm.pid} exited with code {self._warm.returncode}; "
                     f"see {self.paths['runs'] / 'warm.log'}")
            self._warm = None
            if wall - self._warm_started < WARM_RESTART_SECONDS:
                return
        self._warm_started = wall
        with open(self.paths["runs"] / "warm.log", "ab") as log:
            self._warm = subprocess.Popen(
                [sys.executable, "-m", "datatailr.scheduler.runner", "--warm",
                 str(self.paths["runs"])],
                stdin=subprocess.PIPE, stdout=log, stderr=log, start_new_session=True,
                close_fds=True, env=self._runner_environment(),
            )

    def _end_warm(self) -> None:
        warm, self._warm = self._warm, None
        if warm is None:
            return
        with contextlib.suppress(OSError):
            if warm.stdin is not None:
                warm.stdin.close()  # end of input: it exits without running anything
        try:
            warm.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(warm.pid, signal.SIGKILL)
            warm.wait()

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
            if version["definition"].get("options", {}).get("queue", "default") \
                    not in self.queues:
                continue  # the agents of its queue fire it
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


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m datatailr.scheduler.agent")
    parser.add_argument("--queue", action="append", dest="queues",
                        help="a queue to serve (repeatable; default: 'default')")
    args = parser.parse_args(argv)
    try:
        Agent(queues=args.queues).serve()
    except (AgentError, InvalidArgumentError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
