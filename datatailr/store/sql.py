"""The statements of a run's hot path, in plain SQL for any DB-API connection.

Owns what a local run writes from its start to its end - the workflow row (``ensure_workflow``),
a new version (``add_version``), the run and its task rows (``create_run``), the recorder's
batches (``apply``) - and what a failure means (``transient``, ``what_failed``, and how long
one is retried: ``retry_seconds``).
One implementation, two ways in: ``MetadataStore`` runs these through SQLAlchemy's driver
connection (SQLite or PostgreSQL), ``DirectStore`` through the standard library's ``sqlite3``
so a script's local run never imports SQLAlchemy. Nothing here imports SQLAlchemy.

Statements are written with ``?`` marks; a connection whose driver wants ``%s`` (psycopg)
gets them swapped (no statement here has a literal ``?`` or ``%``). Every column name is
quoted: ``user`` and ``full`` are reserved words in PostgreSQL.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from datatailr.errors import InvalidArgumentError


class Db(Protocol):
    """A connection inside a transaction, in the driver's own terms."""

    #: "?" (sqlite3) or "%s" (psycopg)
    mark: str

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def many(self, sql: str, rows: list[tuple]) -> None: ...

    def insert(self, sql: str, params: Sequence[Any], id_column: str) -> int: ...


def _columns(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


#: SQLite files this process has open through the direct store, checked to be databases: no
#: code may open and close them by hand meanwhile - closing any descriptor of a file drops
#: every POSIX lock the process holds on it, SQLite's included, and writes would be lost.
OPEN_SQLITE_FILES: set[str] = set()

#: Task-run columns a recorder statement leaves as they are when it gives None: where the
#: attempt ran is known when it starts, what it used when it ends.
KEEP_WHEN_NONE = frozenset({"pid", "host", "worker", "peak_rss", "cpu_seconds"})


def ensure_workflow(db: Db, slug: str, environment: str, name: str,
                    job_type: str = "workflow") -> int:
    """The id of the job ``name`` (slug ``slug``), made if new. A different display name
    (or job type) with the same slug is another job: refused, never merged."""
    found = db.rows('SELECT "workflow_id", "name", "job_type", "removed_at" FROM workflows '
                    'WHERE "slug" = ? AND "environment" = ?', (slug, environment))
    if found:
        workflow_id, found_name, found_type, removed_at = found[0]
        if removed_at is not None and found_name == name and found_type == job_type:
            # Deploying a removed job again brings it back, with its history.
            db.execute('UPDATE workflows SET "removed_at" = NULL WHERE "workflow_id" = ?',
                       (workflow_id,))
        if found_name != name:
            raise InvalidArgumentError(
                f"{name!r} would share the slug {slug!r} with {found_name!r} in "
                f"{environment}: rename one (or use the name {found_name!r})."
            )
        if found_type != job_type:
            raise InvalidArgumentError(
                f"{name!r} is a {found_type} in {environment}, not a {job_type}: "
                f"give the {job_type} another name, or remove the {found_type} first."
            )
        return int(workflow_id)
    values = {"slug": slug, "environment": environment, "name": name,
              "created_at": time.time(), "job_type": job_type}
    return db.insert(f"INSERT INTO workflows ({_columns(values)}) VALUES "
                     f"({_marks(len(values))})", tuple(values.values()), "workflow_id")


def latest_version_row(db: Db, columns: Sequence[str], workflow_id: int) -> tuple | None:
    """The newest version that is not removed, as a row of ``columns``."""
    found = db.rows(f"SELECT {_columns(columns)} FROM versions WHERE \"workflow_id\" = ? "
                    f"AND \"removed_at\" IS NULL ORDER BY \"job_version\" DESC LIMIT 1",
                    (workflow_id,))
    return found[0] if found else None


def add_version(db: Db, workflow_id: int, *, definition: dict, source: str, code_key_for: Any,
                code_hash: str, schedule: dict | None, task_count: int) -> int:
    """A new immutable version; ``code_key_for(job_version)`` names its code blob."""
    latest = db.rows('SELECT max("job_version") FROM versions WHERE "workflow_id" = ?',
                     (workflow_id,))[0][0]
    job_version = int(latest or 0) + 1
    values = {"workflow_id": workflow_id, "job_version": job_version,
              "created_at": time.time(), "definition": json.dumps(definition),
              "source": source, "code_key": code_key_for(job_version), "code_hash": code_hash,
              "schedule": json.dumps(schedule) if schedule else None,
              "task_count": task_count}
    db.execute(f"INSERT INTO versions ({_columns(values)}) VALUES ({_marks(len(values))})",
               tuple(values.values()))
    return job_version


def create_run(db: Db, *, workflow_id: int, job_version: int, trigger: str,
               task_names: Sequence[str], state: str = "pending",
               original_run_id: int | None = None, rerun_of: int | None = None,
               full: bool = False, scheduled_time: float | None = None,
               options: dict | None = None, claimed_by: str | None = None,
               queue: str = "default", user: str | None = None) -> int:
    """A run (and a pending row for each of its tasks); its id."""
    values = {"workflow_id": workflow_id, "job_version": job_version, "state": state,
              "created_at": round(time.time(), 6), "original_run_id": original_run_id,
              "rerun_of": rerun_of, "full": bool(full), "trigger": trigger,
              "scheduled_time": scheduled_time, "stop_requested": False,
              "options": json.dumps(options or {}), "claimed_by": claimed_by,
              "queue": queue, "user": user}
    run_id = db.insert(f"INSERT INTO runs ({_columns(values)}) VALUES ({_marks(len(values))})",
                       tuple(values.values()), "run_id")
    if task_names:
        db.many('INSERT INTO task_runs ("run_id", "task_id", "name", "state", "attempts") '
                "VALUES (?, ?, ?, 'pending', 0)",
                [(run_id, i, n) for i, n in enumerate(task_names)])
    return run_id


def apply(db: Db, statements: list[tuple[str, dict]]) -> None:
    """Execute recorder statements - ("run", values) and ("task", values) updates, ("result",
    values) small results - in the caller's transaction. Every statement sets absolute values
    (a task statement's None for a ``KEEP_WHEN_NONE`` column keeps what is there), so writing
    a batch twice, after a commit that failed, is harmless."""
    task_updates: dict[tuple, list[dict]] = {}
    results: list[tuple] = []
    for kind, values in statements:
        if kind == "run":
            values = dict(values)
            run_id = values.pop("run_id")
            sets = ", ".join(f'"{k}" = ?' for k in values)
            db.execute(f'UPDATE runs SET {sets} WHERE "run_id" = ?',
                       (*values.values(), run_id))
        elif kind == "result":
            results.append((values["run_id"], values["task_id"], values["value"]))
        else:
            key = tuple(sorted(k for k in values if k not in ("b_run_id", "b_task_id")))
            task_updates.setdefault(key, []).append(values)
    if results:
        db.many('INSERT INTO task_results ("run_id", "task_id", "value") VALUES (?, ?, ?) '
                'ON CONFLICT ("run_id", "task_id") DO UPDATE SET "value" = excluded."value"',
                results)
    for key, rows in task_updates.items():
        # The hot path of every run (two rows a task): executemany'd, one statement per shape.
        columns = ", ".join(f'"{k}" = COALESCE(?, "{k}")' if k in KEEP_WHEN_NONE
                            else f'"{k}" = ?' for k in key)
        db.many(f'UPDATE task_runs SET {columns} WHERE "run_id" = ? AND "task_id" = ?',
                [tuple(r[k] for k in key) + (r["b_run_id"], r["b_task_id"]) for r in rows])


# -- what a failure means ------------------------------------------------------------------

#: How long a transaction that cannot begin (locked, disk full, server gone) is retried.
DEFAULT_RETRY_SECONDS = 60.0


def retry_seconds() -> float:
    raw = os.environ.get("DATATAILR_STORE_RETRY_SECONDS")
    if not raw:
        return DEFAULT_RETRY_SECONDS
    try:
        value = float(raw)
        if value < 0:
            raise ValueError
    except ValueError:
        raise InvalidArgumentError(
            f"DATATAILR_STORE_RETRY_SECONDS={raw!r}: give a number of seconds >= 0."
        ) from None
    return value


def owner_tag() -> str:
    """Who holds a claim (a run, an agent's registry row): this host and process."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def transient(text: str) -> bool:
    """Whether an operational error of the database (its message) may pass - locked or busy,
    disk full, the server gone - rather than a missing file or a missing table."""
    low = text.lower()
    return "unable to open database file" not in low and "no such table" not in low


def what_failed(text: str, where: str) -> str:
    """The one line that says what is wrong with the metadata database at ``where``."""
    text = text.strip().splitlines()[0] if text.strip() else text
    low = text.lower()
    if "disk is full" in low or "no space left" in low:
        return f"disk full: cannot write the metadata database {where} ({text})"
    if "locked" in low or "busy" in low:
        return (f"the metadata database {where} is locked: another process held its write lock "
                f"past the busy timeout ({text})")
    if "disk i/o" in low:
        return f"disk I/O error on the metadata database {where} ({text})"
    return f"the metadata database {where} is unavailable ({text})"
