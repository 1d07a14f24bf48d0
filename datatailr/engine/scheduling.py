"""Which tasks of a run may start now: a pure state machine over the DAG.

State per task: pending -> running -> completed | failed | stopped, or pending -> did_not_run
when something upstream failed. Tasks reused from an earlier run (partial rerun) start as
completed. No clock, no I/O: the controller feeds it and acts on what it returns.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence


class RunGraph:
    def __init__(self, dependencies: Mapping[int, Sequence[int]],
                 reused: Iterable[int] = ()) -> None:
        self.dependencies = {t: tuple(d) for t, d in dependencies.items()}
        self.dependents: dict[int, list[int]] = {t: [] for t in self.dependencies}
        for t, deps in self.dependencies.items():
            for d in deps:
                self.dependents[d].append(t)
        self.state: dict[int, str] = {t: "pending" for t in self.dependencies}
        for t in reused:
            self.state[t] = "completed"
        self.remaining = {
            t: {d for d in deps if self.state[d] != "completed"}
            for t, deps in self.dependencies.items()
        }
        self._open = sum(1 for st in self.state.values() if st in ("pending", "running"))
        self._ready: deque[int] = deque(
            t for t in sorted(self.dependencies)
            if self.state[t] == "pending" and not self.remaining[t]
        )

    def take_ready(self) -> list[int]:
        """Tasks whose inputs are all complete, now marked running."""
        out = list(self._ready)
        self._ready.clear()
        for t in out:
            self.state[t] = "running"
        return out

    def requeue(self, task_id: int) -> None:
        """Put a running task back (a retry); it is handed out again by ``take_ready``."""
        self.state[task_id] = "pending"
        self._ready.append(task_id)

    def complete(self, task_id: int) -> list[int]:
        """Mark a task completed; returns the tasks that became ready."""
        self._close(task_id, "completed")
        newly = []
        for t in self.dependents[task_id]:
            waiting = self.remaining[t]
            waiting.discard(task_id)
            if not waiting and self.state[t] == "pending":
                newly.append(t)
        self._ready.extend(newly)
        return newly

    def fail(self, task_id: int, state: str = "failed") -> list[int]:
        """Mark a task failed (or stopped); returns its pending dependents, now did_not_run."""
        self._close(task_id, state)
        skipped = []
        stack = list(self.dependents[task_id])
        while stack:
            t = stack.pop()
            if self.state[t] == "pending":
                self._close(t, "did_not_run")
                skipped.append(t)
                stack.extend(self.dependents[t])
        return sorted(skipped)

    def stop_all(self) -> tuple[list[int], list[int]]:
        """Stop the run: returns (running tasks, now stopped; pending tasks, now did_not_run)."""
        running = sorted(t for t, s in self.state.items() if s == "running")
        pending = sorted(t for t, s in self.state.items() if s == "pending")
        for t in running:
            self._close(t, "stopped")
        for t in pending:
            self._close(t, "did_not_run")
        self._ready.clear()
        return running, pending

    def _close(self, task_id: int, state: str) -> None:
        if self.state[task_id] in ("pending", "running"):
            self._open -= 1
        self.state[task_id] = state

    @property
    def finished(self) -> bool:
        return self._open == 0

    def outcome(self) -> str:
        """The run's state once finished: completed only when every task completed."""
        states = set(self.state.values())
        if states <= {"completed"}:
            return "completed"
        if "failed" in states:
            return "failed"
        if "stopped" in states:
            return "stopped"
        return "failed"
