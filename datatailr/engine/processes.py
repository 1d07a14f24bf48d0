"""Process trees of tasks: who a worker's descendants are, how much memory they hold, how a
worker dies with its parent, and how nothing a task started outlives it.

Linux gives every piece cheaply (``prctl``, ``/proc``, pidfds); elsewhere the functions fall
back to doing less (no peak memory, no sweep of leftovers), never to guessing.

A worker is the root of its tasks' processes: it leads its own process group (so killing the
group ends everything a crashed or killed task left behind) and is a child subreaper (so a
task's orphaned grandchildren become its children, where ``end_descendants`` finds them after
each task without harming the worker itself).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
#: ru_maxrss is in kilobytes on Linux, bytes on macOS
RU_MAXRSS_BYTES = 1 if sys.platform == "darwin" else 1024
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_LINUX = sys.platform.startswith("linux")

_libc: Any = None


def load_prctl() -> None:
    """Load libc's prctl in the parent, once, so a forked child never loads libraries."""
    global _libc
    if _libc is None and _LINUX:
        import ctypes

        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.prctl  # noqa: B018 - fails here, not in a child, when it is missing
        except (OSError, AttributeError):
            _libc = False


def _prctl(option: int, value: int) -> bool:
    if not _libc:
        return False
    return _libc.prctl(option, value, 0, 0, 0) == 0


def become_task_root(parent_pid: int) -> None:
    """In a freshly forked worker: die with the parent, lead a process group, reap orphans.

    The death signal is SIGKILL (a killed caller leaves no worker behind); it is armed and
    then the parent is checked, so a parent that died during the fork is not missed.
    """
    if _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) and os.getppid() != parent_pid:
        os._exit(1)
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by worker ``pid`` (the worker and what its task left).
    Call it before reaping the worker: while unreaped, its pid (the group id) is not reused."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)  # not yet its own group leader (killed right after fork)


def pidfd(pid: int) -> int | None:
    """A descriptor that polls readable when process ``pid`` ends (None where unsupported)."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:
        return None


def _children(pid: int | str) -> list[int]:
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    return out


def descendants(pid: int | str) -> list[int]:
    """Every live descendant of ``pid``, parents before their children (Linux; else [])."""
    found: list[int] = []
    frontier = _children(pid)
    while frontier:
        found.extend(frontier)
        frontier = [c for p in frontier for c in _children(p)]
    return found


def rss(pid: int | str) -> int:
    """Resident memory of one process in bytes (0 when it is gone)."""
    try:
        fd = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
    except OSError:
        return 0
    try:
        return int(os.read(fd, 128).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0
    finally:
        os.close(fd)


def tree_rss(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in bytes."""
    return rss(pid) + sum(rss(p) for p in descendants(pid))


def end_descendants() -> None:
    """In a worker after a task: kill and reap every process the task left behind.

    The common case (the task started no process, or waited for all it started) costs one
    ``waitpid``. Orphaned grandchildren are this worker's children (it is a subreaper), so a
    few rounds of list, kill, reap reach them all, also ones forked during the sweep.
    """
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return  # no child at all: nothing outlives the task
    for _ in range(50):
        found = descendants("self") if _LINUX else []
        for p in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGKILL)
        direct = set(_children("self")) if _LINUX else set()
        for p in direct:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p, 0)
        while True:  # children that had already ended (zombies); -1 is ECHILD when done
            try:
                reaped, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if reaped == 0:
                break
        if not found and not direct:
            return  # live children we cannot see (no /proc): leave them to the group kill


def reset_peak_rss() -> bool:
    """Restart this process's high-water mark of resident memory (Linux); False elsewhere."""
    try:
        fd = os.open("/proc/self/clear_refs", os.O_WRONLY)
    except OSError:
        return False
    try:
        os.write(fd, b"5")
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def cpu_seconds(self_usage: Any, children_usage: Any) -> float:
    return (self_usage.ru_utime + self_usage.ru_stime
            + children_usage.ru_utime + children_usage.ru_stime)


class Usage:
    """What one task attempt used, measured in its worker: CPU seconds of the worker and of
    every child it reaped, and peak memory - the most the task added to the worker's resident
    memory, or the peak of its largest child process if that is higher. Memory the worker
    already held when the task began (the interpreter, pages shared with the caller it was
    forked from) is not the task's."""

    __slots__ = ("rss0", "cpu0", "child_peak0", "exact")

    def __init__(self) -> None:
        self.exact = reset_peak_rss()
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        #: resident memory now: the high-water mark was just reset to it
        self.rss0 = me.ru_maxrss * RU_MAXRSS_BYTES
        self.cpu0 = cpu_seconds(me, kids)
        self.child_peak0 = kids.ru_maxrss

    def finish(self) -> tuple[int | None, float]:
        """(peak bytes, CPU seconds) of the attempt so far."""
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = round(max(cpu_seconds(me, kids) - self.cpu0, 0.0), 6)
        if not self.exact:
            return None, used
        child = kids.ru_maxrss * RU_MAXRSS_BYTES if kids.ru_maxrss > self.child_peak0 else 0
        return max(me.ru_maxrss * RU_MAXRSS_BYTES - self.rss0, child, 0), used

    def peak(self) -> int | None:
        return self.finish()[0]

    def cpu(self) -> float:
        return self.finish()[1]


def format_size(size: int) -> str:
    """Bytes in the units ``memory=`` is written in: 157286400 -> '150m'."""
    for unit, scale in (("t", 2**40), ("g", 2**30), ("m", 2**20), ("k", 2**10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def memory_error(limit: int, peak: int) -> str:
    """The error of a task over its memory limit: 'exceeded memory=150m (peak 212 MB)'."""
    return f"MemoryError: the task exceeded memory={format_size(limit)} " \
           f"(peak {round(peak / 2**20)} MB)"
