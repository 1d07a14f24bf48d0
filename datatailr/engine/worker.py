"""What runs inside a worker: one task call, with its streams captured and its result stored.

``run_task`` is shared by every executor (forked local workers, dask workers). It redirects
file descriptors 1 and 2 (so prints, loggers, C extensions and subprocesses all land in the
task's logs), loads the inputs from the result store (or the small ones from the call itself),
calls the function, stores the return value atomically and reports a small status - with the
value's pickle only when it is small enough to be kept in the metadata store instead.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import pickle
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, NamedTuple, Protocol

from datatailr.core.dag import NodeSpec, substitute
from datatailr.engine.processes import (
    Usage,
    become_task_root,
    end_descendants,
    load_prctl,
    memory_error,
)
from datatailr.errors import StorageError


class TaskIO(Protocol):
    """Where a task's inputs, result and logs live (implemented by the store's BlobStore)."""

    def load_result(self, run_id: int, task_id: int, default: Any = ...) -> Any: ...

    def save_result(self, run_id: int, task_id: int, value: Any,
                    inline_max: int = 0) -> bytes | None: ...

    def log_files(self, run_id: int, task_id: int,
                  attempt: int = 0) -> contextlib.AbstractContextManager: ...


class TaskCall(NamedTuple):
    """One attempt of one task, as the controller hands it to a worker (a named tuple: it
    crosses a pipe per task, and tuples pickle fastest)."""

    run_id: int
    task_id: int
    attempt: int
    #: for each dependency: (run id, task id) of the stored result to load - this run's, or an
    #: earlier run's for tasks a partial rerun reused
    inputs: dict[int, tuple[int, int]]
    #: values of system arguments (rundate, scheduled_time, ...), already as the task gets them
    system: dict[str, Any]
    #: environment variables to set while the task runs (workflow's and the task's own)
    env: dict[str, str]
    #: bytes the task may add to its worker's memory (an explicit ``memory=``), else None
    memory_limit: int | None = None
    #: dependency id -> its result's pickle, for results kept inline in the metadata store
    #: (small ones): handed over with the call instead of read from storage
    inline: dict[int, bytes] | None = None
    #: a result whose pickle is at most this many bytes comes back in the outcome, to be
    #: stored with the task's row, instead of written to storage (0: always written)
    inline_max: int = 0


class TaskOutcome(NamedTuple):
    task_id: int
    ok: bool
    start_time: float | None
    end_time: float
    error: str | None = None
    #: peak memory the attempt added, in bytes (see ``processes.Usage``); None if unmeasured
    peak_rss: int | None = None
    cpu_seconds: float | None = None
    #: the result's pickle when it is small enough to be kept inline (see TaskCall.inline_max)
    result: bytes | None = None


def system_values(*, workflow_name: str, run_start: float, scheduled_time: float | None) -> dict:
    """The platform-filled system arguments (rundate, scheduled_time, ...), as strings; DATATAILR_BATCH_ARG_* overrides."""
    start = datetime.fromtimestamp(run_start, timezone.utc)
    sched = datetime.fromtimestamp(scheduled_time, timezone.utc) if scheduled_time else start
    return {
        "rundate": sched.date().isoformat(),
        "scheduled_time": sched.isoformat(),
        "started_at": start.isoformat(),
        "batch_name": workflow_name,
    }


def _system_args(node: NodeSpec, system: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in node.system_args:
        override = os.environ.get(f"DATATAILR_BATCH_ARG_{name.upper()}")
        if override is not None:
            out[name] = override
        elif name == "job_name":
            out[name] = node.name
        else:
            out[name] = system.get(name)
    return out


@contextlib.contextmanager
def _captured(out_path: str, err_path: str) -> Iterator[None]:
    """Point fds 1 and 2 (and sys.stdout/err) at the task's log files for the duration."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    # Private to the user, and never through a symlink someone planted in the log folder.
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
    out_fd, err_fd = os.open(out_path, flags, 0o600), os.open(err_path, flags, 0o600)
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, out_fd, err_fd):
            os.close(fd)


#: In this process: variable -> its value before a task's environment set it (None: unset).
_SET_FOR_TASKS: dict[str, str | None] = {}


def _use_environment(env: dict[str, str]) -> None:
    """Make ``os.environ`` the process's own variables plus exactly ``env``. What an earlier
    task's environment set and this one does not is put back; what this one sets is left
    in place after it (a worker's next task usually wants the same), so consecutive tasks of
    a run cost a comparison, not a set and a restore of every variable."""
    for key in [k for k in _SET_FOR_TASKS if k not in env]:
        before = _SET_FOR_TASKS.pop(key)
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before
    for key, value in env.items():
        now = os.environ.get(key)
        if key not in _SET_FOR_TASKS:
            _SET_FOR_TASKS[key] = now
        if now != value:
            os.environ[key] = value


def _user_traceback(exc: BaseException, skip_frames: int) -> str:
    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def run_task(node: NodeSpec, call: TaskCall, io_: TaskIO,
             on_start: Callable[[float], None] | None = None,
             usage: Usage | None = None) -> TaskOutcome:
    """Run one task call; never raises for anything the task or the storage does.

    When the function returns, every process it left behind is ended; a task over its
    memory limit fails before its result is stored.
    """
    usage = usage if usage is not None else Usage()
    start: float | None = None
    error: str | None = None
    result: bytes | None = None
    try:
        _use_environment(call.env)
        with io_.log_files(call.run_id, call.task_id, call.attempt) as (out_path, err_path), \
                _captured(out_path, err_path):
            try:
                try:
                    inline = call.inline or {}
                    values = {dep: pickle.loads(inline[dep]) if dep in inline
                              else io_.load_result(*where) for dep, where in call.inputs.items()}
                except KeyError as exc:
                    raise RuntimeError(
                        f"the stored result of an upstream task is missing ({exc.args[0]}); "
                        f"it may have expired or been removed - rerun with full=True"
                    ) from None
                args = substitute(node.args, values)
                kwargs = substitute(node.kwargs, values)
                kwargs.update(_system_args(node, call.system))
                start = time.time()
                if on_start is not None:
                    on_start(start)
                try:
                    value = node.function(*args, **kwargs)
                except BaseException as exc:  # the task's own failure, KeyboardInterrupt too
                    end_descendants()
                    sys.stderr.write(_user_traceback(exc, 1))
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    end_descendants()
                    peak = usage.peak() if call.memory_limit is not None else None
                    if peak is not None and call.memory_limit is not None \
                            and peak > call.memory_limit:
                        error = memory_error(call.memory_limit, peak)
                        sys.stderr.write(f"datatailr: {error}\n")
                    else:
                        result = io_.save_result(call.run_id, call.task_id, value,
                                                 call.inline_max)
            except BaseException as exc:
                if error is None:  # inputs, arguments or storing the result went wrong
                    # the store's errors say what and where ("Disk full: cannot store ...")
                    error = str(exc) if isinstance(exc, StorageError) \
                        else f"{type(exc).__name__}: {exc}"
                    sys.stderr.write(f"datatailr: task {node.name!r} failed: {error}\n")
    except Exception as exc:  # the log files could not be opened or uploaded (disk full ...)
        if error is None:
            error = str(exc) if isinstance(exc, StorageError) else f"{type(exc).__name__}: {exc}"
    if start is None:
        end_descendants()  # the function never ran: what loading its inputs may have started
    peak, cpu = usage.finish()
    return TaskOutcome(call.task_id, error is None, start, time.time(), error, peak, cpu,
                       result if error is None else None)


# -- the forked local worker process ------------------------------------------------------

def prepare_forked_worker() -> None:
    """Make a freshly forked child safe and its output land in fds 1/2.

    The parent may be a Jupyter kernel: its sys.stdout is a zmq stream served by a thread
    that does not exist in the child. Give the child plain streams on fds 1 and 2, and point
    handlers of loggers created before the fork at them, so their output is captured.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the controller decides what stops a task
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    old = {id(sys.stdout), id(sys.stderr), id(sys.__stdout__), id(sys.__stderr__)}
    new_out = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True,
                               encoding="utf-8", errors="backslashreplace")
    new_err = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True,
                               encoding="utf-8", errors="backslashreplace")
    old_err_ids = {id(sys.stderr), id(sys.__stderr__)}
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        for handler in lg.handlers:
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and id(stream) in old:
                handler.setStream(new_err if id(stream) in old_err_ids else new_out)
    sys.stdout, sys.stderr = new_out, new_err
    sys.__stdout__, sys.__stderr__ = new_out, new_err  # type: ignore[misc]
    with contextlib.suppress(Exception):
        sys.stdin.close()
    # Tasks are not interactive, and a worker leads its own process group: a read from the
    # terminal would stop it (SIGTTIN). Input is empty instead, for subprocesses too.
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDONLY)
        if null != 0:
            os.dup2(null, 0)
            os.close(null)
    import faulthandler

    # A task that segfaults leaves its Python stack in its own stderr log (fd 2 is the log).
    faulthandler.enable(file=sys.stderr, all_threads=False)


def worker_loop(conn: Any, nodes: tuple[NodeSpec, ...], io_: TaskIO) -> None:
    """Serve task calls from the controller until it sends None or goes away.

    Messages sent: ``("started", task_id, time, pid, host, rss0, cpu0)`` when the function
    is called (rss0/cpu0: the worker's resident bytes and CPU seconds at the attempt's start,
    so whoever watches the process can tell the attempt's share), ``("done", TaskOutcome)``.
    """
    import socket

    host = socket.gethostname()
    pid = os.getpid()
    while True:
        try:
            call = conn.recv()
        except (EOFError, OSError):
            return
        if call is None:
            return
        usage = Usage()

        def started(t: float, _call: TaskCall = call, _usage: Usage = usage) -> None:
            conn.send(("started", _call.task_id, t, pid, host, _usage.rss0, _usage.cpu0))

        outcome = run_task(nodes[call.task_id], call, io_, started, usage)
        try:
            conn.send(("done", outcome))
        except (BrokenPipeError, OSError):
            return


def fork_child(body: Callable[[Any], None], *, report_fatal: bool = False) -> tuple[int, Any]:
    """Fork a process that runs ``body(conn)`` and exits; returns (pid, the parent's end).

    The child is the root of its tasks' processes (``processes.become_task_root``): it dies
    when the forking thread's process dies, leads its own process group and reaps its
    tasks' orphans. If ``body`` raises, the traceback goes to the child's fd 2 (its log or
    the caller's stderr) and, with ``report_fatal``, as ``("fatal", text)`` to the parent.

    Objects alive now move to the GC's permanent generation for the fork, so the child's
    collections never walk (and so never copy-on-write) the parent's whole heap. The child
    always ends with ``os._exit``: it must not run the parent's atexit handlers or finalizers.
    """
    from multiprocessing import Pipe

    load_prctl()
    parent_pid = os.getpid()
    parent_conn, child_conn = Pipe(duplex=True)
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            become_task_root(parent_pid)
            parent_conn.close()
            body(child_conn)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - the child must reach os._exit
            code = 1
            with contextlib.suppress(BaseException):
                text = f"datatailr worker {os.getpid()} failed:\n{traceback.format_exc()}"
                os.write(2, text.encode("utf-8", "backslashreplace"))
                if report_fatal:
                    child_conn.send(("fatal", text))
        finally:
            os._exit(code)
    gc.unfreeze()
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)  # also here: no window where the parent kills the wrong group
    child_conn.close()
    return pid, parent_conn
