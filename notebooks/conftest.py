"""The example notebooks leave nothing behind: an nbval hook that watches each one's kernel.

After every cell it notes the processes below the notebook's kernel (the local agent it
started, the services and apps the agent runs, a local run's workers). Once nbval has run the
last cell and shut the kernel down, every process noted - even one that was re-parented away
from the kernel, as a service is when its agent stops first - must have ended. A notebook
that starts the agent must stop it, and its services, in its last cells. What is still alive
after a short grace (a process told to stop may take a moment to exit) fails the last cell's
teardown, listed with its pid and command line. Processes are told apart by
pid and start time, so a reused pid is not mistaken for one noted earlier. The check reads
/proc: elsewhere than Linux it warns that it did not look.
"""

from __future__ import annotations

import sys
import time
import warnings

import pytest

from datatailr.engine.processes import descendants

#: how long processes that were told to stop may take to exit
GRACE_SECONDS = 10.0

#: per notebook (its nbval file node id): (pid, start time) -> command line of what was seen
_SEEN: dict[str, dict[tuple[int, str], str]] = {}


def _identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time) of a living process; None when it is gone or a zombie (ended, not
    yet reaped by its parent)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":
        return None
    return pid, fields[19]  # field 22 of stat: the start time, in clock ticks after boot


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _below(pid: int) -> dict[tuple[int, str], str]:
    out = {}
    for p in descendants(pid):
        identity = _identity(p)
        if identity is not None:
            out[identity] = _command(p)
    return out


def _kernel_pid(item: pytest.Item) -> int:
    kernel = getattr(item.parent, "kernel", None)
    manager = getattr(kernel, "km", None)
    provisioner = getattr(manager, "provisioner", None)
    pid = getattr(provisioner, "pid", None) or getattr(
        getattr(provisioner, "process", None), "pid", None)
    if not pid:
        raise RuntimeError(f"{item.parent.name}: cannot find the pid of nbval's kernel "
                           f"(kernel manager {manager!r}), so cannot check what it left behind.")
    return int(pid)


def _still_alive(seen: dict[tuple[int, str], str]) -> dict[tuple[int, str], str]:
    return {identity: command for identity, command in seen.items()
            if _identity(identity[0]) == identity}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    if type(item).__name__ != "IPyNbCell":
        return (yield)
    if not sys.platform.startswith("linux"):
        warnings.warn("notebooks/conftest.py looks for leftover processes in /proc, which "
                      "only Linux has: not checked here.", stacklevel=1)
        return (yield)
    last_cell = nextitem is None or nextitem.parent is not item.parent
    seen = _SEEN.setdefault(item.parent.nodeid, {})
    seen.update(_below(_kernel_pid(item)))
    if last_cell:
        del _SEEN[item.parent.nodeid]
    result = yield  # after the last cell, nbval shuts the kernel down here
    if last_cell:
        deadline = time.monotonic() + GRACE_SECONDS
        left = _still_alive(seen)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = _still_alive(left)
        if left:
            listed = "; ".join(f"pid {pid}: {command}"
                               for (pid, _), command in sorted(left.items()))
            raise AssertionError(
                f"{item.parent.name} left {len(left)} process(es) running after its last "
                f"cell: {listed}. Stop what the notebook starts in its last cells (services "
                f"and apps with .stop(), then the agent with stop_agent()).")
    return result
