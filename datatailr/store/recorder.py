"""The recorder: a run listener that turns run events into metadata rows.

One transaction per batch of events (the controller hands over the events of one loop turn),
so a 200-task run costs a few hundred rows in a few dozen short transactions, not 400 commits.
"""

from __future__ import annotations

import socket

from datatailr.core.events import (
    RunEvent,
    RunFinished,
    RunStarted,
    TaskFinished,
    TaskRetrying,
    TaskStarted,
)
from datatailr.store.metadata import MetadataStore


class Recorder:
    def __init__(self, metadata: MetadataStore) -> None:
        self.metadata = metadata
        self.host = socket.gethostname()

    def handle(self, events: list[RunEvent]) -> None:
        statements: list[tuple[str, dict]] = []
        for e in events:
            if isinstance(e, RunStarted):
                statements.append(("run", {"run_id": e.run_id, "state": "running",
                                           "start_time": e.time, "pid": e.pid,
                                           "host": self.host}))
            elif isinstance(e, TaskStarted):
                statements.append(("task", _task(e.run_id, e.task_id, "running", e.time, None,
                                                 e.attempt, None, None)))
            elif isinstance(e, TaskRetrying):
                statements.append(("task", _task(e.run_id, e.task_id, "running", e.time, None,
                                                 e.attempt, e.error, None)))
            elif isinstance(e, TaskFinished):
                where = e.reused_from
                if where is None and e.state == "completed":
                    where = (e.run_id, e.task_id)
                statements.append(("task", _task(e.run_id, e.task_id, e.state, e.start_time,
                                                 e.time if e.state != "did_not_run" else None,
                                                 e.attempts, e.error, where)))
            elif isinstance(e, RunFinished):
                statements.append(("run", {"run_id": e.run_id, "state": e.state,
                                           "end_time": e.time, "error": e.error}))
        for _kind, values in statements:
            for key in ("start_time", "end_time"):
                if values.get(key) is not None:
                    values[key] = _us(values[key])
        if statements:
            with self.metadata.write() as conn:
                self.metadata.apply(conn, statements)

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def _us(t: float) -> float:
    # Stored times are whole microseconds, so a datetime read back (microsecond resolution)
    # converts to exactly the stored number and can be used as an inclusive bound.
    return round(t, 6)


def _task(run_id: int, task_id: int, state: str, start: float | None, end: float | None,
          attempts: int, error: str | None, where: tuple[int, int] | None) -> dict:
    # Every task statement carries the same columns so a batch is one executemany, in order.
    return {"b_run_id": run_id, "b_task_id": task_id, "state": state, "start_time": start,
            "end_time": end, "attempts": attempts, "error": error,
            "result_run_id": where[0] if where else None,
            "result_task_id": where[1] if where else None}
