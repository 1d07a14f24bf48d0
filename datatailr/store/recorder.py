"""The recorder: a run listener that turns run events into metadata rows.

One transaction per batch of events (the controller hands over the events of one loop turn),
so a 200-task run costs a few hundred rows in a few dozen short transactions, not 400 commits.
A small result travels with its task's "completed" event and is written in the same
transaction, so no row ever says completed without its result stored, nor the other way.

The run goes on when the database does not: a batch that cannot be written (locked past a
short wait, disk full, server gone) stays in a backlog, in order, and is retried with backoff
on later turns; events are neither lost nor reordered, and since every statement sets absolute
values, writing a batch twice is harmless. While the run is in flight the recorder writes a
heartbeat, so any reader on any machine can tell a run whose executing process is gone. If the
store stays unwritable for the store's retry period, it says so in one line and stops; the run
then reads as ``unknown`` (its heartbeat goes stale).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from datatailr.core.events import (
    RunEvent,
    RunFinished,
    RunStarted,
    TaskFinished,
    TaskRetrying,
    TaskStarted,
)
from datatailr.errors import StorageError, StoreUnavailableError

if TYPE_CHECKING:  # the store's module (and SQLAlchemy) only when a run is recorded
    from datatailr.store.metadata import MetadataStore

#: How often a run in flight writes its heartbeat.
HEARTBEAT_SECONDS = 10.0
#: A running run whose heartbeat is older than this is shown ``unknown`` by any reader.
STALE_AFTER_SECONDS = 60.0
#: How long one write of the run's rows may wait for another writer's lock.
WRITE_WAIT_SECONDS = 0.5

#: Runs whose recorder is open in this process: a run that says it is executed by this
#: process but is not in here is not being executed by anyone.
IN_FLIGHT: set[int] = set()


class Recorder:
    def __init__(self, metadata: MetadataStore, *, host: str | None = None) -> None:
        import socket

        self.metadata = metadata
        self.host = host or socket.gethostname()
        self.backlog: list[tuple[str, dict]] = []
        self.run_id: int | None = None
        self.failing_since: float | None = None
        self.failure: str | None = None
        self.next_try = 0.0
        self.delay = 0.1
        self.gave_up = False
        self.last_heartbeat = 0.0

    def handle(self, events: list[RunEvent]) -> None:
        for e in events:
            if isinstance(e, RunStarted):
                self.run_id = e.run_id
                IN_FLIGHT.add(e.run_id)
                self.last_heartbeat = e.time
                self._add("run", {"run_id": e.run_id, "state": "running",
                                  "start_time": e.time, "pid": e.pid, "host": self.host,
                                  "heartbeat": e.time})
            elif isinstance(e, TaskStarted):
                self._add("task", _task(e.run_id, e.task_id, "running", e.time, None,
                                        e.attempt, None, None, pid=e.pid,
                                        host=e.host or self.host, worker=e.worker))
            elif isinstance(e, TaskRetrying):
                self._add("task", _task(e.run_id, e.task_id, "running", e.time, None,
                                        e.attempt, e.error, None))
            elif isinstance(e, TaskFinished):
                where = e.reused_from
                if where is None and e.state == "completed":
                    where = (e.run_id, e.task_id)
                self._add("task", _task(e.run_id, e.task_id, e.state, e.start_time,
                                        e.time if e.state != "did_not_run" else None,
                                        e.attempts, e.error, where, peak_rss=e.peak_rss,
                                        cpu_seconds=e.cpu_seconds))
                if e.result is not None and e.state == "completed":
                    # in the batch (one transaction) that marks the task completed
                    self._add("result", {"run_id": e.run_id, "task_id": e.task_id,
                                         "value": e.result})
            elif isinstance(e, RunFinished):
                self._add("run", {"run_id": e.run_id, "state": e.state,
                                  "end_time": e.time, "error": e.error})
        self._flush()

    def _add(self, kind: str, values: dict) -> None:
        for key in ("start_time", "end_time", "heartbeat"):
            if values.get(key) is not None:
                values[key] = _us(values[key])
        self.backlog.append((kind, values))

    def tick(self) -> None:
        now = time.time()
        if self.run_id is not None and not self.gave_up \
                and now - self.last_heartbeat >= HEARTBEAT_SECONDS:
            self.last_heartbeat = now
            self._add("run", {"run_id": self.run_id, "heartbeat": now})
        self._flush()

    def _flush(self, final: bool = False) -> bool:
        """Write the backlog in one transaction; True when nothing is left to write."""
        if not self.backlog:
            return True
        if self.gave_up or (not final and time.monotonic() < self.next_try):
            return False
        batch = [(kind, dict(values)) for kind, values in self.backlog]
        try:
            with self.metadata.write(busy_seconds=WRITE_WAIT_SECONDS, retry=False) as conn:
                self.metadata.apply(conn, batch)
        except StoreUnavailableError as exc:
            self._failed(str(exc))
            return False
        del self.backlog[:len(batch)]
        if self.failing_since is not None:
            print(f"datatailr: run {self.run_id}: the store is writable again; its record is "
                  f"up to date.", file=sys.stderr, flush=True)
        self.failing_since, self.failure, self.delay = None, None, 0.1
        return True

    def _failed(self, why: str) -> None:
        from datatailr.store.sql import retry_seconds

        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
            print(f"datatailr: run {self.run_id}: cannot record its progress for now ({why}); "
                  f"retrying while the run goes on.", file=sys.stderr, flush=True)
        self.failure = why
        self.next_try = now + self.delay
        self.delay = min(self.delay * 2, 2.0)
        if now - self.failing_since >= retry_seconds():
            self._give_up()

    def _give_up(self) -> None:
        from datatailr.store.sql import retry_seconds

        self.gave_up = True
        print(f"datatailr: run {self.run_id}: the store stayed unwritable for "
              f"{retry_seconds():g} s ({self.failure}); its record stops here and the run will "
              f"read as unknown.", file=sys.stderr, flush=True)

    def close(self) -> None:
        """The run has ended: everything must be written before the call returns (the run is
        not ``completed`` in the store before its tasks are), or given up on, saying so."""
        try:
            while not self.gave_up and not self._flush(final=True):
                time.sleep(max(0.0, self.next_try - time.monotonic()))
        finally:
            if self.run_id is not None:
                IN_FLIGHT.discard(self.run_id)
        if self.gave_up:
            raise StorageError(f"Run {self.run_id} could not be recorded: {self.failure}")


def _us(t: float) -> float:
    # Stored times are whole microseconds, so a datetime read back (microsecond resolution)
    # converts to exactly the stored number and can be used as an inclusive bound.
    return round(t, 6)


def _task(run_id: int, task_id: int, state: str, start: float | None, end: float | None,
          attempts: int, error: str | None, where: tuple[int, int] | None, *,
          pid: int | None = None, host: str | None = None, worker: str | None = None,
          peak_rss: int | None = None, cpu_seconds: float | None = None) -> dict:
    # Every task statement carries the same columns so a batch is one executemany, in order;
    # where/what columns given as None keep what an earlier statement wrote (see apply).
    return {"b_run_id": run_id, "b_task_id": task_id, "state": state, "start_time": start,
            "end_time": end, "attempts": attempts, "error": error,
            "result_run_id": where[0] if where else None,
            "result_task_id": where[1] if where else None,
            "pid": pid, "host": host, "worker": worker, "peak_rss": peak_rss,
            "cpu_seconds": cpu_seconds}
