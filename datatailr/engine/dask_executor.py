"""The Dask executor: a run's tasks as tasks of a Dask distributed cluster.

Same semantics as the local executor, on other machines. The controller still walks the DAG
and hands over ready tasks; each becomes one Dask task (``pure=False``). Its result is the
task's value (pickled; the worker never unpickles user objects), kept by Dask on the worker
that made it while consumers need it: a consumer gets its inputs as Dask dependencies, so
Dask moves data worker to worker (or not at all), and only inputs of earlier runs are read
from the result store, which every worker must reach and where every result is also stored
before its task counts as done. The run's nodes are cloudpickled once, users' own modules by value, and scattered to the
workers with a small header (the caller's ``sys.path`` and environment, the storage).

On a worker, a Dask task does not run user code in the worker process itself: it hands the
call to a child process forked from the worker, kept in a per-run pool (one child per busy
Dask thread, reused by the run's next tasks). So, as with local runs, a task that crashes,
leaks or calls ``os._exit`` takes down its child only and is reported with the same words
("exited with code 3", "killed by SIGSEGV"); file descriptors 1 and 2 are redirected per
child, so several Dask threads of a worker capture their tasks' logs without mixing them;
the caller's environment and ``sys.path`` never leak into the worker or into another run;
and a task that is cancelled (timeout, stop, ``fail_after``, or its client went away) is
killed, not left running in a Dask thread.

Messages out of ``wait`` are the local executor's: ``("started", task_id, time, pid)`` (with
``host, worker`` after ``pid`` when ``PROVENANCE_IN_STARTED``),
``("done", TaskOutcome)``, and ``("died", task_id, why)`` for a child or a Dask worker lost
mid-task (``KilledWorker``). Workers push them through Dask's event stream as they happen:
"started" as soon as a task has run for 50 ms (a shorter task's start comes with its end, in
one event, with the real start time), so a long task shows as running while it runs.
A lost Dask worker costs only what ran there: its task children die with it (the kernel
kills them), the tasks that began there are reported "died" (the controller retries them per
``retries``), and those only queued there are resubmitted elsewhere; Dask itself never
re-runs a task (the executor sets the scheduler's ``allowed-failures`` to 0).
``Resources`` map to Dask worker resources only when the workers declare them
(``dask worker --resources "CPU=4,MEMORY=16e9"``).

Must not import ``datatailr.store``: results and logs go through the ``TaskIO`` it is given.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import signal
import socket
import stat
import sys
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from datatailr.core.dag import NodeSpec
from datatailr.engine.local import describe_exit
from datatailr.engine.worker import (
    TaskCall,
    TaskIO,
    TaskOutcome,
    fork_child,
    prepare_forked_worker,
    run_task,
)
from datatailr.errors import ExecutorError, InvalidArgumentError, StorageError
from datatailr.pickling import dumps_by_value

#: the Dask event topic that carries "started" / "done" / "died" from workers to clients;
#: one topic for every run keeps the scheduler's event log bounded
TOPIC = "datatailr"
CONNECT_TIMEOUT = "10s"
#: how often a busy Dask thread checks whether its task was cancelled
CANCEL_POLL_SECONDS = 0.1
#: a task's start is reported at once when it runs longer than this; a shorter task's start
#: comes with its end, in one event (half the messages for the many small tasks of big runs)
STARTED_DELAY_SECONDS = 0.05
#: how often the client looks at its futures for what no event reports (lost workers)
SWEEP_SECONDS = 0.5
#: when the cluster has work queued, ``wait`` gathers a burst of events for at most this
#: long, while they keep coming at most a gap apart (far fewer transactions and messages)
COALESCE_SECONDS = 0.05
COALESCE_GAP_SECONDS = 0.005
#: a per-run pool of children untouched this long is dropped (its client died mid-run)
IDLE_POOL_SECONDS = 600.0
PROBE_PREFIX = "probes/dask"
#: "started" messages carry (..., pid, host, worker address) for the task_runs provenance
#: columns; off while the controller unpacks exactly four fields (engine/controller.py)
PROVENANCE_IN_STARTED = True
_NO_DEFAULT = object()
#: a second topic, subscribed by no one: a worker notes there the key of each task it hands
#: to a child, so that after a worker's death the client can tell a task that began there
#: (it failed with its worker: the controller retries it per ``retries``) from one only
#: queued there (resubmitted elsewhere, never failed for it)
BEGAN_TOPIC = "datatailr-began"
#: a task never seen to begin is resubmitted at most this many times after losing its
#: worker (a worker killed within milliseconds of starting it may not have said so)
MAX_RESUBMITS = 2

#: what of the caller's environment reaches tasks on a cluster: the platform's settings and
#: DATATAILR_BATCH_ARG_* overrides - never the rest (credentials such as PGPASSWORD or
#: AWS_SECRET_ACCESS_KEY stay on the caller's machine). A task sees its version's declared
#: env_vars and the run's context (sent with each task) and the worker's own environment.
_SHIPPED_PREFIX = "DATATAILR_"
#: platform settings that stay home too: the database URL may carry a password, and tasks
#: never write to the database (the controller records them)
_KEPT_HOME = frozenset({"DATATAILR_DB_URL"})


def scheduler_address(setting: str) -> str:
    """The Dask address of a DATATAILR_EXECUTOR value: ``dask://host:port`` -> ``tcp://...``."""
    value = setting.strip()
    for prefix, scheme in (("dask+tls://", "tls://"), ("dask://", "tcp://")):
        if value.startswith(prefix):
            rest = value[len(prefix):].rstrip("/")
            if not rest:
                break
            return scheme + rest
    else:
        if value.startswith(("tcp://", "tls://", "ucx://", "inproc://")) and "://" in value:
            return value.rstrip("/")
    raise InvalidArgumentError(
        f"DATATAILR_EXECUTOR={setting!r}: write dask://host:port (the address of a Dask "
        f"scheduler, e.g. dask://10.0.0.5:8786) or 'local'."
    )


# -- the client side --------------------------------------------------------------------

_CLIENTS: dict[tuple[int, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


class _Dispatcher:
    """Routes events of the one topic to the executors of this client, by run token."""

    def __init__(self) -> None:
        self.queues: dict[str, queue.SimpleQueue] = {}

    def __call__(self, event: tuple) -> None:
        _when, msg = event
        q = self.queues.get(str(msg.get("token"))) if isinstance(msg, dict) else None
        if q is not None:
            q.put(("event", msg))


def get_client(address: str) -> Any:
    """This process's client of the scheduler at ``address``, connected once and reused by
    every run (a notebook's tenth run does not pay for a new connection)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is an optional extra
        raise ExecutorError(
            f"DATATAILR_EXECUTOR points at a Dask cluster ({address}) but dask.distributed is "
            f"not installed here: pip install 'datatailr-local-first[dask]'."
        ) from None
    key = (os.getpid(), address)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is not None and client.status == "running":
            return client
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False,
                            name=f"datatailr-{os.getpid()}")
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(
                f"Cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc}). "
                f"Start one (`dask scheduler`, then `dask worker {address}` on each machine), "
                f"or set DATATAILR_EXECUTOR=local to run on this machine."
            ) from None
        _no_dask_reruns(client)
        _CLIENTS[key] = client
        return client


def _set_allowed_failures(dask_scheduler: Any) -> int:
    before = int(dask_scheduler.allowed_failures)
    dask_scheduler.allowed_failures = 0
    return before


def _no_dask_reruns(client: Any) -> None:
    """Dask re-runs a task whose worker died (up to ``allowed-failures`` times), which would
    run a datatailr task twice behind its ``retries``. datatailr decides instead: the
    scheduler it uses fails such a task at once, and the executor resubmits it only if it
    never began."""
    with contextlib.suppress(Exception):
        client.run_on_scheduler(_set_allowed_failures)


def _dispatcher(client: Any) -> _Dispatcher:
    """The router of ``client``'s events, subscribed to the topic on first use."""
    with _CLIENTS_LOCK:
        dispatcher = getattr(client, "_datatailr_dispatcher", None)
        if dispatcher is None:
            dispatcher = client._datatailr_dispatcher = _Dispatcher()
            client.subscribe_topic(TOPIC, dispatcher)
        return dispatcher


def dumps_nodes(nodes: Sequence[NodeSpec]) -> bytes:
    return dumps_by_value(tuple(nodes), (node.function for node in nodes))


def shipped_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's variables a cluster's task processes get (see ``_SHIPPED_PREFIX``)."""
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in environ.items()
            if k.startswith(_SHIPPED_PREFIX) and k not in _KEPT_HOME}


_RESOURCE_NAMES = {"cpu": ("CPU", "cpu", "Cpu"), "memory": ("MEMORY", "memory", "Memory"),
                   "vram": ("VRAM", "vram", "Vram")}


def dask_resources(resources: Any, declared: dict[str, dict[str, float]]) -> dict[str, float]:
    """What a task asks Dask for: its ``Resources`` under the names the workers declare.

    ``declared`` is worker address -> {resource name: amount}. Nothing is asked for a kind
    no worker declares, so a cluster without ``--resources`` runs every task as before.
    """
    if resources is None:
        return {}
    names = {name for amounts in declared.values() for name in amounts}
    wanted: dict[str, float] = {}
    for kind, aliases in _RESOURCE_NAMES.items():
        name = next((a for a in aliases if a in names), None)
        if name is None:
            continue
        if kind == "cpu":
            amount = float(resources.cpu)
        elif kind == "memory":
            amount = float(resources.memory_bytes())
        else:
            if not resources.vram:
                continue
            amount = float(type(resources)(memory=resources.vram).memory_bytes())
        wanted[name] = amount
    return wanted


def _fits(wanted: dict[str, float], declared: dict[str, dict[str, float]]) -> bool:
    return any(all(amounts.get(k, 0.0) >= v for k, v in wanted.items())
               for amounts in declared.values())


class DaskExecutor:
    """Runs task calls on a Dask cluster. Messages out of ``wait``:

    ``("started", task_id, time, pid)``, ``("done", TaskOutcome)``, ``("died", task_id, why)``.
    """

    def __init__(self, address: str, nodes: Sequence[NodeSpec], io_: TaskIO,
                 client: Any = None) -> None:
        self.address = scheduler_address(address) if client is None else str(address)
        self.client = client if client is not None else get_client(self.address)
        if client is not None:
            _no_dask_reruns(client)
        self.resubmits: dict[int, int] = {}  # task id -> times resubmitted after a lost worker
        #: key -> what was submitted under it (to submit again under a new key)
        self.submitted: dict[str, tuple[TaskCall, dict[str, float], dict[int, Any]]] = {}
        #: completed tasks of this run whose value Dask keeps on the worker that made it:
        #: task id -> its future, held while some consumer of it has not completed
        self.results: dict[int, Any] = {}
        self.consumers: dict[int, set[int]] = {}
        self.nodes = tuple(nodes)
        for node in self.nodes:
            for dep in node.data_dependencies:
                self.consumers.setdefault(dep, set()).add(node.id)
        self.io = io_
        self.token = uuid.uuid4().hex[:16]
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.active: dict[str, tuple[int, Any]] = {}  # dask key -> (task id, future)
        self.key_of: dict[int, str] = {}  # task id -> key of its current attempt
        self.to_submit: list[tuple[str, TaskCall, dict[str, float], dict[int, Any]]] = []
        self.ready: list[tuple] = []  # messages produced on this side (impossible resources)
        self.started: set[str] = set()  # keys whose "started" was reported
        self.finished_unreported: dict[str, float] = {}  # key -> sweep that saw it finished
        self.last_sweep = time.monotonic()
        self.hosts: list[str] | None = None
        self.nthreads = 1
        self.probe_key = f"{PROBE_PREFIX}/{self.token}"
        # The probe lets each worker tell "cannot see the storage" from "no result yet".
        try:
            io_.put_bytes(self.probe_key, self.token.encode())  # type: ignore[attr-defined]
        except StorageError:
            raise
        except OSError as exc:
            raise StorageError(f"Cannot write to the result storage {io_!r}: {exc}") from exc
        header = {
            "token": self.token,
            "io": io_,
            "probe_key": self.probe_key,
            "env": shipped_environment(),
            "sys_path": [p for p in sys.path if p],
            "client_host": _hostname(),
            # the version's source bundle: its task processes import the version's own files
            "image": _active_image(),
        }
        # One scattered object per run, on every worker (a lost worker loses no copy; if
        # every copy is lost, it is scattered again).
        self.payload_data = (header, dumps_nodes(self.nodes))
        self.payload = self._scatter_payload()
        self.declared = self._declared_resources()
        self.dispatcher = _dispatcher(self.client)
        self.dispatcher.queues[self.token] = self.inbox

    def _scatter_payload(self) -> Any:
        [payload] = self.client.scatter([self.payload_data], hash=False, broadcast=True)
        return payload

    def _declared_resources(self) -> dict[str, dict[str, float]]:
        info = self.client.scheduler_info(n_workers=-1) if _takes_n_workers(self.client) \
            else self.client.scheduler_info()
        workers = info["workers"]
        self.hosts = sorted({_host_of(addr) for addr in workers}) or None
        self.nthreads = sum(int(w.get("nthreads") or 1) for w in workers.values()) or 1
        return {addr: dict(w.get("resources") or {}) for addr, w in workers.items()}

    # -- the Executor protocol ------------------------------------------------------------
    def submit(self, call: TaskCall) -> None:
        node = self.nodes[call.task_id]
        # Dask groups keys by their leading words: the dashboard shows the task's name, and
        # duration estimates (work stealing) are per task name.
        key = (f"{node.name}-run{call.run_id}-task{call.task_id}-try{call.attempt}-"
               f"{self.token}")
        wanted = dask_resources(node.resources, self.declared)
        if wanted and not _fits(wanted, self.declared):
            self.declared = self._declared_resources()  # workers may have joined since
            if not _fits(wanted, self.declared):
                have = "; ".join(f"{a}: {r}" for a, r in sorted(self.declared.items())) or "none"
                self.ready.append(("done", TaskOutcome(
                    call.task_id, False, None, time.time(),
                    f"ResourceError: task {node.name!r} asks for {wanted} but no Dask worker "
                    f"declares that much (workers: {have}). Lower its resources or start a "
                    f"worker with --resources.")))
                return
        self.key_of[call.task_id] = key
        # Inputs this run made and Dask still holds: passed as futures, so Dask moves the
        # values worker to worker (or not at all); others are read from the storage.
        memory = {dep: self.results[dep] for dep, where in call.inputs.items()
                  if where == (call.run_id, dep) and dep in self.results}
        self.to_submit.append((key, call, wanted, memory))
        self.submitted[key] = (call, wanted, memory)

    def _flush(self) -> None:
        if not self.to_submit:
            return
        batch, self.to_submit = self.to_submit, []
        groups: dict[tuple, list[tuple[str, TaskCall, dict]]] = {}
        for key, call, wanted, memory in batch:
            groups.setdefault(tuple(sorted(wanted.items())), []).append((key, call, memory))
        for wanted_items, items in groups.items():
            keys = [k for k, _, _ in items]
            # Loose restrictions to the cluster's own hosts change nothing about where a task
            # may run, but keep Dask from queueing big groups of ready tasks on the scheduler
            # ("root-ish" tasks, handed out one per free thread: a round trip per task);
            # they go to workers at once, and work stealing balances them.
            futures = self.client.map(_run_on_worker, [c for _, c, _ in items],
                                      [m for _, _, m in items], key=keys,
                                      payload=self.payload, pure=False, retries=0,
                                      resources=dict(wanted_items) or None,
                                      workers=self.hosts, allow_other_workers=True)
            for (key, call, _), future in zip(items, futures):
                self.active[key] = (call.task_id, future)

    def wait(self, timeout: float | None) -> list[tuple]:
        """Messages about submitted tasks, waiting at most ``timeout`` s for the first one.

        Outcomes come as events from the workers, pushed as they happen; the futures are
        only swept now and then for what no event reports (a lost worker, a lost client).
        """
        self._flush()
        messages, self.ready = self.ready, []
        if not self.active:
            if not messages and timeout:
                time.sleep(min(timeout, 0.05))
            return messages
        items: list[dict] = []
        if not messages:
            wait_for = SWEEP_SECONDS if timeout is None else min(timeout, SWEEP_SECONDS)
            with contextlib.suppress(queue.Empty):
                items.append(self.inbox.get(timeout=max(wait_for, 0.0)))
        # While Dask has more ready tasks than threads, a few ms more per step cost nothing:
        # take the whole burst of events then, so the controller records it in one
        # transaction and what it makes ready goes to Dask in one message.
        busy = len(self.active) > 2 * self.nthreads
        until = time.monotonic() + (COALESCE_SECONDS if busy else 0.0)
        while True:
            try:
                items.append(self.inbox.get_nowait())
                continue
            except queue.Empty:
                pass
            left = until - time.monotonic()
            if not items or left <= 0:
                break
            try:
                items.append(self.inbox.get(timeout=min(left, COALESCE_GAP_SECONDS)))
            except queue.Empty:
                break
        for item in items:
            messages.extend(self._on_event(item[1]))
        now = time.monotonic()
        if now - self.last_sweep >= SWEEP_SECONDS:
            self.last_sweep = now
            messages.extend(self._sweep())
        return messages

    def _on_event(self, msg: dict) -> list[tuple]:
        key = msg.get("key")
        if key not in self.active:
            return []  # an attempt already finished, cancelled or retried
        task_id = self.active[key][0]
        kind = msg.get("kind")
        if kind == "started":
            self.started.add(key)
            return [self._started(task_id, float(msg["time"]), msg)]
        out: list[tuple] = []
        if key not in self.started and msg.get("start_time") is not None:
            # A short task: its worker reports the start with the end, in one event.
            out.append(self._started(task_id, float(msg["start_time"]), msg))
        future = self.active[key][1]
        self._forget(key)
        if kind == "done":
            ok = bool(msg["ok"])
            if ok:
                self._completed(task_id, future)
            out.append(("done", TaskOutcome(task_id, ok, msg.get("start_time"),
                                            float(msg["end_time"]), msg.get("error"))))
        elif kind == "died":
            out.append(("died", task_id, str(msg["why"])))
        return out

    def _sweep(self) -> list[tuple]:
        """Futures that ended with no event to say how: errors, and (rarely) a finished one
        whose event is late - read after a full sweep period."""
        messages: list[tuple] = []
        fetch: list[tuple[str, int, Any]] = []
        lost_unstarted: list[tuple[str, int, Any, BaseException | None]] = []
        for key, (task_id, future) in list(self.active.items()):
            status = future.status
            if status == "pending":
                continue
            if status == "finished":
                if self.finished_unreported.setdefault(key, self.last_sweep) < self.last_sweep:
                    fetch.append((key, task_id, future))
            elif status == "error":
                exc = future.exception()
                if type(exc).__name__ == "KilledWorker" and key not in self.started:
                    lost_unstarted.append((key, task_id, future, exc))
                    continue
                self._forget(key)
                messages.append(_from_exception(task_id, exc))
            elif key not in self.started:  # cancelled or lost, not by us (we forget what
                lost_unstarted.append((key, task_id, future, None))  # we cancel): a lost worker
            else:
                self._forget(key)
                messages.append(("died", task_id, f"Dask lost it ({status}); was the scheduler "
                                                  f"restarted, or this client cut off?"))
        if lost_unstarted:
            messages.extend(self._resubmit_lost(lost_unstarted))
        for key, task_id, future in fetch:
            self._forget(key)
            try:
                # Only the status comes here: the value stays on its worker.
                status_future = self.client.submit(_status_of, future, pure=False)
                result = status_future.result(timeout=30)
                if result[0] == "done" and result[1].ok:
                    self._completed(task_id, future)
                messages.extend(_from_result(task_id, result))
            except Exception as exc:  # noqa: BLE001
                messages.append(_from_exception(task_id, exc))
        if self.client.status not in ("running", "connecting", "newly-created"):
            for key, (task_id, _) in list(self.active.items()):
                self._forget(key)
                messages.append(("died", task_id, f"the connection to the Dask scheduler at "
                                                  f"{self.address} was lost "
                                                  f"({self.client.status})"))
        return messages

    def _started(self, task_id: int, t: float, msg: dict) -> tuple:
        """The "started" message; with the host and the Dask worker's address that ran the
        attempt (provenance) when the controller takes them."""
        if PROVENANCE_IN_STARTED:
            return ("started", task_id, t, int(msg["pid"]), msg.get("host"), msg.get("worker"))
        return ("started", task_id, t, int(msg["pid"]))

    def _completed(self, task_id: int, future: Any) -> None:
        """Keep the value where it is while consumers need it; let go of inputs no one
        needs any more."""
        if self.consumers.get(task_id):
            self.results[task_id] = future
        for dep in self.nodes[task_id].data_dependencies:
            waiting = self.consumers.get(dep)
            if waiting is not None:
                waiting.discard(task_id)
                if not waiting:
                    self.results.pop(dep, None)

    def _resubmit_lost(self, lost: list[tuple[str, int, Any, BaseException | None]]
                       ) -> list[tuple]:
        """Tasks whose Dask worker died: those that began there died with it (reported, so
        the controller retries them per ``retries``); those only queued there run elsewhere."""
        began = self._began(key for key, *_ in lost)
        messages: list[tuple] = []
        for key, task_id, future, exc in lost:
            done = self.resubmits.get(task_id, 0)
            if key in began or done >= MAX_RESUBMITS or key not in self.submitted:
                self._forget(key)
                messages.append(_from_exception(task_id, exc) if exc is not None else (
                    "died", task_id, f"Dask lost it ({future.status}); was the scheduler "
                                     f"restarted, or its worker lost?"))
                continue
            call, wanted, memory = self.submitted[key]
            if self.payload.status != "finished":  # its every copy was on lost workers
                with contextlib.suppress(Exception):
                    self.payload = self._scatter_payload()
            self._forget(key)
            self.resubmits[task_id] = done + 1
            new_key = f"{key.split('~')[0]}~{done + 1}"
            self.key_of[task_id] = new_key
            self.to_submit.append((new_key, call, wanted, memory))
            self.submitted[new_key] = (call, wanted, memory)
        self._flush()
        return messages

    def _began(self, keys: Any) -> set[str]:
        wanted = set(keys)
        try:
            events = self.client.get_events(BEGAN_TOPIC)
        except Exception:  # noqa: BLE001 - unknown: take none as begun
            return set()
        return {msg for _when, msg in events if msg in wanted}

    def _forget(self, key: str) -> None:
        task_id, _future = self.active.pop(key)
        self.submitted.pop(key, None)
        self.started.discard(key)
        self.finished_unreported.pop(key, None)
        if self.key_of.get(task_id) == key:
            del self.key_of[task_id]

    def cancel(self, task_id: int) -> None:
        """Stop ``task_id``: Dask releases it and its worker kills the child running it."""
        key = self.key_of.pop(task_id, None)
        if key is None:
            return
        self.to_submit = [item for item in self.to_submit if item[0] != key]
        self.submitted.pop(key, None)
        entry = self.active.get(key)
        if entry is not None:
            self._forget(key)
            entry[1].cancel()

    def shutdown(self) -> None:
        futures = [f for _, f in self.active.values()]
        self.results.clear()
        self.submitted.clear()
        self.active.clear()
        self.key_of.clear()
        self.to_submit.clear()
        self.dispatcher.queues.pop(self.token, None)
        with contextlib.suppress(Exception):
            if futures:
                self.client.cancel(futures)
            if self.client.status == "running":
                self.client.run(_retire_pool_soon, self.token, wait=False)
        with contextlib.suppress(Exception):
            self.payload.release()
        with contextlib.suppress(Exception):
            self.io.delete(self.probe_key)  # type: ignore[attr-defined]


def _takes_n_workers(client: Any) -> bool:
    import inspect  # newer clients list 5 workers unless told n_workers=-1

    return "n_workers" in inspect.signature(client.scheduler_info).parameters


def _host_of(address: str) -> str:
    return urlsplit(address).hostname or address


def _hostname() -> str:
    return socket.gethostname()


def _status_of(result: tuple) -> tuple:
    return result[:2]


def _from_result(task_id: int, result: Any) -> list[tuple]:
    kind = result[0]
    if kind == "done":
        return [("done", result[1])]
    if kind == "died":
        return [("died", task_id, result[1])]
    # ("cancelled",) - what we cancel we forget, so this one Dask dropped by itself
    return [("died", task_id, "Dask cancelled it on its worker (was the key released?)")]


def _from_exception(task_id: int, exc: BaseException | None) -> tuple:
    name = type(exc).__name__
    if name == "KilledWorker":
        return ("died", task_id, f"the Dask worker running it died ({name}: {exc})")
    # The Dask task itself failed (it never should: the child reports the task's errors).
    return ("done", TaskOutcome(task_id, False, None, time.time(),
                                f"{name}: {exc} (raised by the Dask task wrapping it)"))


# -- the worker side ----------------------------------------------------------------------
# Everything below runs in a Dask worker process. The worker unpickles only the header and
# the nodes' bytes; user code is unpickled in the forked children. A task's value lives in
# the worker as ``Pickled`` bytes (Dask's result of the task), never as the user's object.

#: an input larger than this is not sent down a pipe: the worker keeps it in shared memory
#: (a memfd, made once per value) and hands the task's process that; the process maps it
#: copy-on-write, so it reads without a copy and what it changes stays its own
SHARE_BYTES = 1 << 20
#: idle children of one run's pool on one worker beyond this are ended
MAX_IDLE_CHILDREN = 4


class Pickled:
    """A task's value as the worker keeps it for its consumers: cloudpickle's protocol-5
    stream with its large buffers (arrays, frames) out of band, so a consumer loads them
    without a copy."""

    __slots__ = ("head", "buffers", "fds", "__weakref__")

    def __init__(self, head: bytes, buffers: list) -> None:
        self.head = head
        self.buffers = buffers
        self.fds: list[int] | None = None

    def __reduce_ex__(self, protocol: Any) -> tuple:
        # Out of band when Dask moves it between workers (protocol 5): no copy here.
        return (Pickled, (self.head, [pickle.PickleBuffer(b) for b in self.buffers]))

    def __sizeof__(self) -> int:  # what Dask counts (dask.sizeof falls back to getsizeof)
        return 64 + len(self.head) + sum(memoryview(b).nbytes for b in self.buffers)

    def loads(self) -> Any:
        return pickle.loads(self.head, buffers=self.buffers)

    @staticmethod
    def dumps(value: Any) -> tuple[bytes, list[memoryview]]:
        import cloudpickle

        buffers: list[pickle.PickleBuffer] = []
        head = cloudpickle.dumps(value, protocol=5, buffer_callback=buffers.append)
        return head, [b.raw() for b in buffers]

    def shared(self) -> list[int]:
        """Its buffers as memfds (made once; the value then lives there, not twice)."""
        with _SHARE_LOCK:  # two Dask threads may hand the same value to their tasks
            return self._shared()

    def _shared(self) -> list[int]:
        if self.fds is None:
            import mmap

            fds: list[int] = []
            buffers: list[Any] = []
            for buffer in self.buffers:
                view = memoryview(buffer).cast("B")
                fd = os.memfd_create("datatailr-value", os.MFD_CLOEXEC)
                fds.append(fd)
                if view.nbytes:
                    os.ftruncate(fd, view.nbytes)
                    shared = mmap.mmap(fd, view.nbytes, flags=mmap.MAP_SHARED)
                    shared[:] = view
                    buffers.append(shared)
                else:
                    buffers.append(bytearray())
            self.fds, self.buffers = fds, buffers
            weakref.finalize(self, _close_fds, fds)
        return self.fds


_SHARE_LOCK = threading.Lock()


def _close_fds(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _can_share() -> bool:
    return hasattr(os, "memfd_create")


def _send_shared(conn: Any, shared: dict[tuple[int, int], Pickled]) -> None:
    """After the call: each shared value's head and buffer sizes, then their memfds."""
    from multiprocessing.reduction import sendfds

    conn.send({where: (v.head, [memoryview(b).nbytes for b in v.buffers])
               for where, v in shared.items()})
    fds = [fd for v in shared.values() for fd in v.shared()]
    if fds:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sendfds(sock, fds)


def _recv_shared(conn: Any) -> dict[tuple[int, int], Pickled]:
    """In the child: the shared values, each buffer mapped copy-on-write."""
    import mmap
    from multiprocessing.reduction import recvfds

    meta = conn.recv()
    count = sum(len(sizes) for _head, sizes in meta.values())
    if not count:
        return {where: Pickled(head, [bytearray() for _ in sizes])
                for where, (head, sizes) in meta.items()}
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        fds = list(recvfds(sock, count))
    values: dict[tuple[int, int], Pickled] = {}
    try:
        for where, (head, sizes) in meta.items():
            buffers: list = []
            for size in sizes:
                fd = fds.pop(0)
                buffers.append(mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE,
                                         prot=mmap.PROT_READ | mmap.PROT_WRITE)
                               if size else bytearray())
                os.close(fd)
            values[where] = Pickled(head, buffers)
    finally:
        _close_fds(fds)
    return values


class _MemoryIO:
    """A child's TaskIO: inputs from memory where Dask brought them, else from the storage;
    the result stored as usual and kept for the worker as ``Pickled``."""

    def __init__(self, io_: Any, memory: dict[tuple[int, int], Pickled]) -> None:
        self.io = io_
        self.memory = memory
        self.saved: tuple[bytes, list[memoryview]] | None = None

    def load_result(self, run_id: int, task_id: int, default: Any = _NO_DEFAULT) -> Any:
        found = self.memory.get((run_id, task_id))
        if found is not None:
            return found.loads()
        if default is _NO_DEFAULT:
            return self.io.load_result(run_id, task_id)
        return self.io.load_result(run_id, task_id, default)

    def save_result(self, run_id: int, task_id: int, value: Any,
                    inline_max: int = 0) -> bytes | None:
        # the truth first: stored, then done (a Dask run stores every result in storage,
        # where a recomputation finds it: its calls never ask for inline results)
        small = self.io.save_result(run_id, task_id, value, inline_max)
        with contextlib.suppress(Exception):  # stored but not keepable: consumers read it
            self.saved = Pickled.dumps(value)
        return small

    def log_files(self, run_id: int, task_id: int, attempt: int = 0) -> Any:
        return self.io.log_files(run_id, task_id, attempt)


class _Child:
    __slots__ = ("pid", "conn", "key")

    def __init__(self, pid: int, conn: Any) -> None:
        self.pid = pid
        self.conn = conn
        self.key: str | None = None


class _Pool:
    """The forked children of one run on one worker process."""

    def __init__(self, header: dict, nodes_bytes: bytes) -> None:
        self.header = header
        self.nodes_bytes = nodes_bytes
        self.idle: list[_Child] = []
        self.busy: dict[str, _Child] = {}
        self.lock = threading.Lock()
        self.closed = False
        self.last_used = time.monotonic()
        self.storage_error: str | None = self._check_storage()

    def _check_storage(self) -> str | None:
        io_ = self.header["io"]
        where = f"Dask worker {_worker_address()} (host {_hostname()})"
        try:
            seen = io_.get_bytes(self.header["probe_key"])
        except Exception as exc:  # noqa: BLE001 - any backend error means "cannot reach"
            return (f"StorageError: {where} cannot reach the result storage {io_.url!r}: "
                    f"{type(exc).__name__}: {exc}. Give every worker access to it "
                    f"(credentials, network) or set DATATAILR_STORAGE_URL to a storage they "
                    f"share.")
        if seen != self.header["token"].encode():
            return (f"StorageError: {where} cannot see the result storage {io_.url!r} that "
                    f"{self.header['client_host']} writes to (a marker written there is "
                    f"missing here). Set DATATAILR_STORAGE_URL to storage every worker shares, "
                    f"e.g. s3://bucket/prefix or a shared filesystem path.")
        return None

    def acquire(self, key: str) -> _Child | None:
        """An idle child, or a new one; None once the run has ended (the pool is closed)."""
        with self.lock:
            if self.closed:
                return None
            self.last_used = time.monotonic()
            child = self.idle.pop() if self.idle else None
        if child is None:
            child = self._fork()
        child.key = key
        with self.lock:
            self.busy[key] = child
            closed = self.closed
        if closed:  # closed while we forked: this child is ours to end
            self.discard(child, kill=True)
            return None
        return child

    def release(self, child: _Child) -> None:
        with self.lock:
            self.busy.pop(child.key or "", None)
            child.key = None
            self.last_used = time.monotonic()
            self.idle.append(child)
            extra = self.idle[:-MAX_IDLE_CHILDREN] if len(self.idle) > MAX_IDLE_CHILDREN \
                else []
        for old in extra:
            self.discard(old, kill=False)

    def discard(self, child: _Child, kill: bool) -> int:
        """Forget a child (dead, idle, or to be killed); returns its wait status."""
        with self.lock:
            self.busy.pop(child.key or "", None)
            with contextlib.suppress(ValueError):
                self.idle.remove(child)
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        else:
            with contextlib.suppress(OSError):
                child.conn.send(None)  # an idle child exits when told
        with contextlib.suppress(OSError):
            child.conn.close()
        status = 0
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(child.pid, 0)
        return status

    def _fork(self) -> _Child:
        # One fork at a time per process: a child must not inherit another child's pipe end
        # (its death would then go unnoticed).
        with _FORK_LOCK:
            parent = os.getpid()
            pid, parent_conn = fork_child(
                lambda conn: _child_main(conn, self.header, self.nodes_bytes, parent))
        return _Child(pid, parent_conn)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            children = self.idle + list(self.busy.values())
            self.idle, self.busy = [], {}
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                child.conn.close()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child.pid, 0)


_FORK_LOCK = threading.Lock()
_POOLS: dict[str, _Pool] = {}
_POOLS_LOCK = threading.Lock()


def _worker_address() -> str:
    with contextlib.suppress(Exception):
        from distributed import get_worker

        return str(get_worker().address)
    return f"pid {os.getpid()}"


def _pool_for(header: dict, nodes_bytes: bytes) -> _Pool:
    token = header["token"]
    stale: list[_Pool] = []
    with _POOLS_LOCK:
        pool = _POOLS.get(token)
        if pool is None:
            now = time.monotonic()
            for other_token, other in list(_POOLS.items()):
                if not other.busy and now - other.last_used > IDLE_POOL_SECONDS:
                    stale.append(_POOLS.pop(other_token))
            pool = _POOLS[token] = _Pool(header, nodes_bytes)
    for old in stale:
        old.close()
    return pool


def _retire_pool(token: str) -> None:
    """Run on every worker when a run ends: its children exit."""
    with _POOLS_LOCK:
        pool = _POOLS.pop(token, None)
    if pool is not None:
        pool.close()


async def _retire_pool_soon(token: str) -> None:
    """``_retire_pool`` for ``Client.run(wait=False)``, which takes coroutines only."""
    _retire_pool(token)


def _was_cancelled(worker: Any, key: str) -> bool:
    ts = worker.state.tasks.get(key)
    return ts is None or ts.state in ("cancelled", "released", "forgotten")


def _already_stored(io_: Any, call: TaskCall) -> Pickled | None:
    """The stored result of this task in this run, if any: Dask recomputing a value lost with
    its worker, or an attempt that stored its result just before its worker died. The task
    is never run again for it: the storage is the truth."""
    try:
        data = io_.get_bytes(io_.result_key(call.run_id, call.task_id))
    except Exception:  # noqa: BLE001 - unreachable storage is reported by the run itself
        return None
    return None if data is None else Pickled(data, [])


def _run_on_worker(call: TaskCall, memory: dict[int, tuple], payload: tuple) -> tuple:
    """The Dask task: run ``call`` in a child of this worker. Returns (what happened, its
    details, the value as ``Pickled`` for consumers or None). ``memory``: dependency id ->
    that dependency's Dask result, for inputs Dask brought here."""
    from distributed import get_worker

    header, nodes_bytes = payload
    worker = get_worker()
    key = str(worker.get_current_task())  # we gave every task a string key
    token = header["token"]
    io_ = header["io"]

    host = _hostname()

    def report(kind: str, **fields: Any) -> None:
        worker.log_event(TOPIC, {"token": token, "key": key, "kind": kind, "host": host,
                                 "worker": worker.address, **fields})

    pool = _pool_for(header, nodes_bytes)
    if pool.storage_error is not None:
        outcome = TaskOutcome(call.task_id, False, None, time.time(), pool.storage_error)
        report("done", ok=False, start_time=None, end_time=outcome.end_time,
               error=outcome.error)
        return ("done", outcome, None)
    stored = _already_stored(io_, call)
    if stored is not None:
        outcome = TaskOutcome(call.task_id, True, None, time.time(), None)
        report("done", ok=True, start_time=None, end_time=outcome.end_time, error=None)
        return ("done", outcome, stored)
    values: dict[tuple[int, int], Pickled] = {}
    for dep, result in memory.items():
        if result is not None and isinstance(result[2], Pickled):
            values[call.inputs[dep]] = result[2]
    shared = {where: v for where, v in values.items()
              if _can_share() and v.__sizeof__() > SHARE_BYTES}
    sent = {where: v for where, v in values.items() if where not in shared}
    child = pool.acquire(key)
    if child is None:
        return ("cancelled", None, None)
    started: tuple | None = None  # ("started", task_id, time, pid) from the child
    relay_at = 0.0
    worker.log_event(BEGAN_TOPIC, key)
    try:
        child.conn.send((call, sent))
        _send_shared(child.conn, shared)
        while True:
            wait = CANCEL_POLL_SECONDS
            if started is not None:
                wait = max(0.0, min(wait, relay_at - time.monotonic()))
            if child.conn.poll(wait):
                msg = child.conn.recv()
                if msg[0] == "started":
                    started, relay_at = msg, time.monotonic() + STARTED_DELAY_SECONDS
                    continue
                _, outcome, head, sizes, unwritten = msg
                buffers = []
                for size in sizes:
                    buffer = bytearray(size)
                    child.conn.recv_bytes_into(buffer)
                    buffers.append(buffer)
                if unwritten is not None:  # the child could not write the task's stderr
                    _append_stderr(io_, call, unwritten)
                pool.release(child)
                report("done", ok=outcome.ok, start_time=outcome.start_time,
                       end_time=outcome.end_time, error=outcome.error, pid=child.pid)
                value = Pickled(head, buffers) if head is not None else None
                return ("done", outcome, value)
            if started is not None and time.monotonic() >= relay_at:
                report("started", time=started[2], pid=started[3])
                started = None
            if _was_cancelled(worker, key):
                pool.discard(child, kill=True)
                _salvage_logs(io_, child.pid, call)
                return ("cancelled", None, None)
    except (EOFError, OSError):
        status = pool.discard(child, kill=True)
        _salvage_logs(io_, child.pid, call)
        why = (f"the worker process running it {describe_exit(status)} (pid {child.pid}, "
               f"on Dask worker {worker.address})")
        report("died", why=why, pid=child.pid,
               start_time=started[2] if started is not None else None)
        return ("died", why, None)


def _salvage_logs(io_: Any, pid: int, call: TaskCall) -> None:
    """A child killed mid-task: what it wrote still reaches the task's logs (with object
    storage they are uploaded when a task ends, which a killed one never does)."""
    salvage = getattr(io_, "salvage_logs", None)
    if salvage is not None:
        with contextlib.suppress(Exception):
            salvage(pid, call.run_id, call.task_id)


def _append_stderr(io_: Any, call: TaskCall, text: str) -> None:
    with contextlib.suppress(Exception), \
            io_.log_files(call.run_id, call.task_id, call.attempt) as (_o, err):
        with open(err, "a") as f:
            f.write(text)


def _detach_inherited_sockets(keep: int) -> None:
    """In a fresh child: let go of the worker's sockets (its scheduler connection, other
    children's pipes) so that a dead worker or child is seen as dead at once. The numbers
    stay taken (pointed at /dev/null) so nothing the task opens can be closed by a stray
    ``close`` of an inherited object."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc (macOS): keep them; deaths are still seen by the worker
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in fds:
            if fd < 3 or fd in (keep, devnull):
                continue
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.dup2(devnull, fd)
            except OSError:
                continue
    finally:
        os.close(devnull)


def _die_with_parent(parent: int) -> None:
    """A task child ends when its Dask worker does (Linux: the kernel kills it), so a lost
    worker's tasks never go on running, storing results that their run has failed."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the worker died before that took effect
        os._exit(1)


def _child_main(conn: Any, header: dict, nodes_bytes: bytes, parent: int) -> None:
    """A task child's life. Whatever fails before the first task runs (loading the code,
    reaching the storage) fails each task it is given, with the reason in the task's stderr
    log - never a bare "exited with code 1"."""
    io_ = header["io"]
    _die_with_parent(parent)
    try:
        gc.freeze()  # objects inherited from the worker are never collected (nor closed) here
        _detach_inherited_sockets(conn.fileno())
        prepare_forked_worker()
        os.environ.update(header["env"])
        if header.get("image"):
            from datatailr.image import activate

            activate(header["image"][1], header["image"][0])
        for entry in header["sys_path"]:  # after the worker's own: its packages win
            if entry not in sys.path and os.path.exists(entry):
                sys.path.append(entry)
    except BaseException as exc:  # noqa: BLE001
        _serve_unloadable(conn, io_, exc, "while preparing a task process")
        return
    try:
        nodes = pickle.loads(nodes_bytes)
    except BaseException as exc:  # noqa: BLE001 - e.g. a module missing on this machine
        _serve_unloadable(conn, io_, exc, "while loading the workflow's code",
                          "; install the missing packages there")
        return
    _serve(conn, nodes, io_)


def _serve(conn: Any, nodes: tuple[NodeSpec, ...], io_: Any) -> None:
    """Run the task calls the worker sends until it sends None or goes away; each result
    goes to the storage and, as ``Pickled``, back to the worker for its consumers."""
    while True:
        try:
            msg = conn.recv()
            if msg is None:
                return
            call, sent = msg
            memory = {**sent, **_recv_shared(conn)}
        except (EOFError, OSError):
            return
        if not _run_and_send(conn, nodes, io_, call, memory):
            return


def _run_and_send(conn: Any, nodes: tuple[NodeSpec, ...], io_: Any, call: TaskCall,
                  memory: dict[tuple[int, int], Pickled]) -> bool:
    def started(t: float) -> None:
        conn.send(("started", call.task_id, t, os.getpid()))

    mio = _MemoryIO(io_, memory)
    outcome = run_task(nodes[call.task_id], call, mio, started)
    head, buffers = mio.saved if outcome.ok and mio.saved is not None else (None, [])
    try:
        conn.send(("done", outcome, head, [b.nbytes for b in buffers], None))
        for buffer in buffers:
            conn.send_bytes(buffer)
    except (BrokenPipeError, OSError):
        return False
    return True


def _serve_unloadable(conn: Any, io_: Any, exc: BaseException, doing: str,
                      advice: str = "") -> None:
    """This child cannot run the run's tasks: every task it gets fails saying why, the
    traceback in the task's stderr (written by the worker if this child cannot reach the
    storage itself)."""
    error = f"{type(exc).__name__}: {exc} ({doing} on Dask worker {_hostname()}{advice})"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        call = msg[0]
        with contextlib.suppress(Exception):
            _recv_shared(conn)  # mapped and dropped: this child runs nothing
        unwritten: str | None = text
        with contextlib.suppress(Exception), \
                io_.log_files(call.run_id, call.task_id, call.attempt) as (_out, err):
            with open(err, "a") as f:
                f.write(text)
            unwritten = None
        outcome = TaskOutcome(call.task_id, False, None, time.time(), error)
        try:
            conn.send(("done", outcome, None, [], unwritten))
        except OSError:
            return


def _active_image() -> Any:
    """(hash, bytes) of the source bundle this process runs, or None."""
    from datatailr.image import active

    return active()
