"""Run and task states: the strings every run and task row, API and UI use."""

from __future__ import annotations

PENDING = "pending"
SCHEDULED = "scheduled"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
FAILED_AFTER = "failed_after"
STOPPED = "stopped"
EXPIRED = "expired"
DID_NOT_RUN = "did_not_run"
UNKNOWN = "unknown"

ALL_STATES = (
    PENDING, SCHEDULED, RUNNING, COMPLETED, FAILED, FAILED_AFTER,
    STOPPED, EXPIRED, DID_NOT_RUN, UNKNOWN,
)
#: A run or task in one of these will not change state again.
FINISHED_STATES = frozenset({COMPLETED, FAILED, FAILED_AFTER, STOPPED, EXPIRED, DID_NOT_RUN, UNKNOWN})
ACTIVE_STATES = frozenset({PENDING, SCHEDULED, RUNNING})
