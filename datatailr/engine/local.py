"""The local executor: a pool of forked worker processes, grown on demand, reused across tasks.

Why fork: a forked worker sees exactly what the caller's process saw (sys.path entries added
at run time, environment variables, loggers configured at import, functions defined in
``__main__`` or a notebook) and starts in about a millisecond, so every ready task gets a
process at once - independent tasks never wait for each other, even on 2 cores - while a
small task on a warm worker costs a pipe round trip. Processes, not threads: a task that
crashes, leaks or calls ``os._exit`` takes down its worker only, which is replaced.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections import deque
from typing import Any

from datatailr.core.dag import NodeSpec
from datatailr.engine.worker import (
    TaskCall,
    TaskIO,
    TaskOutcome,
    fork_child,
    prepare_forked_worker,
    worker_loop,
)

#: With tasks queued and none finished for this long, the pool adds a worker.
GROW_AFTER = 0.004


class _Worker:
    __slots__ = ("pid", "conn", "task_id", "run_id")

    def __init__(self, pid: int, conn: Any) -> None:
        self.pid = pid
        self.conn = conn
        self.task_id: int | None = None
        self.run_id: int | None = None


def describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"killed by {name}"
    if os.WIFEXITED(status):
        return f"exited with code {os.WEXITSTATUS(status)}"
    return f"ended with status {status}"


class LocalExecutor:
    """Runs task calls in forked workers. Messages out of ``wait``:

    ``("started", task_id, time, pid)``, ``("done", TaskOutcome)``, ``("died", task_id, why)``.
    """

    def __init__(self, nodes: tuple[NodeSpec, ...], io_: TaskIO, max_workers: int = 32) -> None:
        self.nodes = nodes
        self.io = io_
        self.max_workers = max(1, max_workers)
        self.workers: list[_Worker] = []
        self.idle: deque[_Worker] = deque()
        self.queue: deque[TaskCall] = deque()
        self.by_task: dict[int, _Worker] = {}
        self.cores = os.cpu_count() or 1
        self.poller = select.poll()
        self.by_fd: dict[int, _Worker] = {}
        self.last_progress = time.monotonic()

    # -- pool -----------------------------------------------------------------------------
    def _fork(self) -> _Worker:
        def serve(conn: Any) -> None:
            for w in self.workers:  # other workers' pipes: their deaths must stay visible
                with contextlib.suppress(OSError):
                    w.conn.close()
            prepare_forked_worker()
            worker_loop(conn, self.nodes, self.io)

        pid, parent_conn = fork_child(serve)
        worker = _Worker(pid, parent_conn)
        self.workers.append(worker)
        self.by_fd[parent_conn.fileno()] = worker
        self.poller.register(parent_conn.fileno(), select.POLLIN)
        return worker

    def submit(self, call: TaskCall) -> None:
        self.queue.append(call)
        self._dispatch()

    def _may_grow(self) -> bool:
        """Add a worker for a queued task? At once up to the core count; beyond that only
        while no task has finished for GROW_AFTER seconds - the pool is not keeping up, so the
        tasks are waiting on something other than the CPU (sleep, I/O, a service) and every
        ready task gets its own process; a stream of quick tasks never forks a crowd."""
        if len(self.workers) >= self.max_workers:
            return False
        if len(self.workers) < self.cores:
            return True
        return time.monotonic() - self.last_progress >= GROW_AFTER

    def _dispatch(self) -> None:
        while self.queue:
            if self.idle:
                worker = self.idle.popleft()
            elif self._may_grow():
                worker = self._fork()
                self.last_progress = time.monotonic()  # one fork per quiet period
            else:
                return
            call = self.queue.popleft()
            worker.task_id, worker.run_id = call.task_id, call.run_id
            self.by_task[call.task_id] = worker
            try:
                worker.conn.send(call)
            except (BrokenPipeError, OSError):  # it died while idle: replace it
                self.queue.appendleft(call)
                worker.task_id = None
                del self.by_task[call.task_id]
                self._reap(worker)

    def wait(self, timeout: float | None) -> list[tuple]:
        """Messages from workers, waiting at most ``timeout`` seconds for the first one."""
        if not self.by_task:
            if timeout:
                time.sleep(min(timeout, 0.05))
            return []
        if self.queue and len(self.workers) < self.max_workers:
            timeout = GROW_AFTER if timeout is None else min(timeout, GROW_AFTER)
        # One poll object for the pool's life: idle workers are watched too, so a worker that
        # dies between tasks is replaced at once.
        events = self.poller.poll(None if timeout is None else max(0, int(timeout * 1000) or 1))
        messages: list[tuple] = []
        for fd, _mask in events:
            worker = self.by_fd.get(fd)
            if worker is None:
                continue
            conn = worker.conn
            while True:
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    messages.append(self._reap(worker))
                    break
                if msg[0] == "done":
                    self.last_progress = time.monotonic()
                    outcome: TaskOutcome = msg[1]
                    self.by_task.pop(outcome.task_id, None)
                    worker.task_id = None
                    self.idle.append(worker)
                    messages.append(msg)
                    break
                messages.append(msg)
                if not conn.poll():
                    break
        self._dispatch()
        return messages

    def _reap(self, worker: _Worker) -> tuple:
        fd = next((f for f, w in self.by_fd.items() if w is worker), None)
        if fd is not None:
            del self.by_fd[fd]
            with contextlib.suppress(KeyError, ValueError):
                self.poller.unregister(fd)
        with contextlib.suppress(OSError):
            worker.conn.close()
        status = 0
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(worker.pid, 0)
        self.workers.remove(worker)
        with contextlib.suppress(ValueError):
            self.idle.remove(worker)
        task_id = worker.task_id
        if task_id is not None:
            self.by_task.pop(task_id, None)
            self._salvage_logs(worker.pid, worker.run_id, task_id)
        why = describe_exit(status)
        return ("died", task_id, f"the worker process running it {why} (pid {worker.pid})")

    def cancel(self, task_id: int) -> None:
        """Kill the worker running ``task_id`` (timeouts, stops); its death is not reported."""
        worker = self.by_task.pop(task_id, None)
        if worker is None:
            self.queue = deque(c for c in self.queue if c.task_id != task_id)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)
        worker.task_id = None
        self._reap(worker)
        self._salvage_logs(worker.pid, worker.run_id, task_id)

    def _salvage_logs(self, pid: int, run_id: int | None, task_id: int) -> None:
        """What a killed task wrote still reaches its logs (remote storage uploads them when
        a task ends, which a killed one never does)."""
        salvage = getattr(self.io, "salvage_logs", None)
        if salvage is not None and run_id is not None:
            with contextlib.suppress(Exception):
                salvage(pid, run_id, task_id)

    def shutdown(self) -> None:
        for worker in list(self.workers):
            if worker.task_id is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
            else:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        for worker in list(self.workers):
            with contextlib.suppress(OSError):
                worker.conn.close()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker.pid, 0)
        self.workers.clear()
        self.idle.clear()
        self.by_task.clear()
