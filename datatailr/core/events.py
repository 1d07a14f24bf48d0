"""Run events: what the engine says happened, as plain values.

The engine emits them; listeners (the store's recorder, progress displays, live log echo)
turn them into rows, bars and lines. A run with no listener still runs. Times are POSIX
seconds (``time.time()``), UTC by definition.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class RunStarted:
    run_id: int
    time: float
    pid: int


@dataclasses.dataclass(frozen=True)
class TaskStarted:
    run_id: int
    task_id: int
    time: float
    attempt: int
    pid: int | None = None
    host: str | None = None
    #: the Dask worker's address, when a Dask worker runs it
    worker: str | None = None


@dataclasses.dataclass(frozen=True)
class TaskFinished:
    """A task reached a final state: completed, failed, stopped, did_not_run ..."""

    run_id: int
    task_id: int
    state: str
    time: float
    attempts: int = 0
    error: str | None = None
    start_time: float | None = None
    #: (run id, task id) of the stored result it reused from an earlier run (partial rerun)
    reused_from: tuple[int, int] | None = None
    #: what the attempt used: peak RSS of its process tree (bytes), CPU seconds
    peak_rss: int | None = None
    cpu_seconds: float | None = None
    #: a completed task's small result, pickled, to be stored with its row (None: the result
    #: is in storage, or there is none)
    result: bytes | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class TaskRetrying:
    run_id: int
    task_id: int
    time: float
    attempt: int
    error: str


@dataclasses.dataclass(frozen=True)
class RunFinished:
    run_id: int
    state: str
    time: float
    error: str | None = None


RunEvent = RunStarted | TaskStarted | TaskFinished | TaskRetrying | RunFinished


class RunListener(Protocol):
    def handle(self, events: list[RunEvent]) -> None:
        """Called by the controller with the events of one loop turn, in order."""

    def tick(self) -> None:
        """Called by the controller about every 0.1-0.5 s while a run is going."""

    def close(self) -> None:
        """Called once when the run has ended, after the last handle()."""
