"""The read-only fast reader of an SQLite metadata store: the standard library's ``sqlite3``,
no SQLAlchemy.

Owns read-only queries over the same schema as ``datatailr.store.metadata`` (its tables,
columns and ``SCHEMA_VERSION``, spelled here so that nothing of SQLAlchemy is imported), for
the commands that only look (``dt job ls``, ``dt job runs``, ``dt log read``, ``dt result
get``). Every method answers exactly what the ``MetadataStore`` method of the same name
answers - the same dicts, the same value types - so the composition layer above cannot tell
them apart (tests/store/test_fastread.py compares them on a real store).

The file is opened with ``mode=ro`` (a URI): this reader cannot write, migrate or create a
store (``store.direct`` subclasses it to open the file ``rw`` and write a run's hot path). Whatever would need that raises ``NeedsFullStore`` and the caller does the whole
operation again on the full store: a missing or empty file, a schema version other than this
one, a database error, a filter it does not make, and a write (a reader that finds a run whose
process is gone marks it ``unknown`` in the store: ``try_mark_abandoned``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

#: The schema this reader reads; ``MetadataStore`` migrates to the same number (a test holds
#: the two equal).
SCHEMA_VERSION = 5

WORKFLOW_COLUMNS = ("workflow_id", "slug", "environment", "name", "created_at", "job_type",
                    "removed_at")
VERSION_COLUMNS = ("workflow_id", "job_version", "created_at", "definition", "source",
                   "code_key", "code_hash", "schedule", "task_count", "removed_at")
#: Every column of ``runs``, in the table's order; ``RUN_COLUMNS`` without ``options``, as
#: the store's run lists read them.
ALL_RUN_COLUMNS = ("run_id", "workflow_id", "job_version", "state", "created_at",
                   "start_time", "end_time", "original_run_id", "rerun_of", "full", "trigger",
                   "scheduled_time", "pid", "host", "error", "stop_requested", "claimed_by",
                   "options", "heartbeat", "queue", "user", "url")
RUN_COLUMNS = tuple(c for c in ALL_RUN_COLUMNS if c != "options")
TASK_RUN_COLUMNS = ("run_id", "task_id", "name", "state", "start_time", "end_time", "attempts",
                    "error", "result_run_id", "result_task_id", "pid", "host", "worker",
                    "peak_rss", "cpu_seconds")
#: Columns stored as 0/1 that the store reads back as bool.
BOOLEAN_COLUMNS = frozenset({"full", "stop_requested"})


class NeedsFullStore(Exception):
    """This read needs the full metadata store (a write, a migration, a new store, or a
    query this reader does not make): do it again there."""


def _columns(columns: Sequence[str], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def _select(table: str, columns: Sequence[str]) -> str:
    return f"SELECT {_columns(columns)} FROM {table}"


def _converter(columns: Sequence[str]) -> Any:
    """Rows of these columns -> dicts, the booleans as bool (None stays None)."""
    keys = tuple(columns)
    flags = [i for i, c in enumerate(keys) if c in BOOLEAN_COLUMNS]
    if not flags:
        return lambda row: dict(zip(keys, row))

    def convert(row: Sequence[Any]) -> dict:
        d = dict(zip(keys, row))
        for i in flags:
            value = row[i]
            if value is not None:
                d[keys[i]] = bool(value)
        return d

    return convert


_WORKFLOW = _converter(WORKFLOW_COLUMNS)
_VERSION = _converter(VERSION_COLUMNS)
_RUN_ALL = _converter(ALL_RUN_COLUMNS)
_RUN = _converter(RUN_COLUMNS)
_TASK_RUN = _converter(TASK_RUN_COLUMNS)


def sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///PATH`` URL (relative to the current folder, as the
    store reads it), else None (in-memory, another driver, URL options: the full store)."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url[len("sqlite:///"):]
    if not path or path == ":memory:":
        return None
    import os

    return os.path.abspath(path)


class FastReader:
    """The read methods of ``MetadataStore`` over one read-only ``sqlite3`` connection."""

    is_sqlite = True

    #: how the file is opened: ``ro`` here (SQLite refuses every write), ``rw`` for the
    #: direct store; either way a missing file is an error, never created
    MODE = "ro"

    def __init__(self, url: str) -> None:
        path = sqlite_path(url)
        if path is None:
            raise NeedsFullStore(f"{url!r} is not a plain SQLite file URL")
        self.url = url
        self.where = path
        self._db = self._connect()
        try:
            meta = dict(self._query("SELECT key, value FROM meta WHERE key IN "
                                    "('schema_version', 'store_id')"))
        except NeedsFullStore:
            self.close()
            raise
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            self.close()
            raise NeedsFullStore(f"{path} has schema version {meta.get('schema_version')!r}, "
                                 f"not {SCHEMA_VERSION}")
        self.store_id = meta.get("store_id") or ""

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(f"file:{_uri_path(self.where)}?mode={self.MODE}", uri=True,
                                   timeout=60, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise NeedsFullStore(f"cannot open {self.where} (mode {self.MODE}): {exc}") from None

    def close(self) -> None:
        self._db.close()

    # -- plumbing -------------------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:  # locked past the timeout, I/O, not ours: the full store
            raise NeedsFullStore(f"{self.where}: {exc}") from None

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction: several queries see the same state of the store."""
        self._query("BEGIN")
        try:
            yield
        finally:
            self._query("COMMIT")

    # -- workflows and versions -----------------------------------------------------------
    def find_workflow(self, key: str, environment: str,
                      include_removed: bool = False) -> dict | None:
        sql = _select("workflows", WORKFLOW_COLUMNS) + " WHERE slug = ? AND environment = ?"
        if not include_removed:
            sql += " AND removed_at IS NULL"
        rows = self._query(sql, (key, environment))
        return _WORKFLOW(rows[0]) if rows else None

    def workflow_by_id(self, workflow_id: int) -> dict | None:
        rows = self._query(_select("workflows", WORKFLOW_COLUMNS) + " WHERE workflow_id = ?",
                           (workflow_id,))
        return _WORKFLOW(rows[0]) if rows else None

    def list_workflows(self, environment: str) -> list[dict]:
        rows = self._query(_select("workflows", WORKFLOW_COLUMNS)
                           + " WHERE environment = ? AND removed_at IS NULL ORDER BY slug",
                           (environment,))
        return [_WORKFLOW(r) for r in rows]

    def all_slugs(self, environment: str) -> list[str]:
        return [w["slug"] for w in self.list_workflows(environment)]

    def latest_version(self, workflow_id: int, conn: Any = None) -> dict | None:
        rows = self._query(_select("versions", VERSION_COLUMNS)
                           + " WHERE workflow_id = ? AND removed_at IS NULL"
                           " ORDER BY job_version DESC LIMIT 1", (workflow_id,))
        return version_dict(rows[0]) if rows else None

    def get_version(self, workflow_id: int, job_version: int) -> dict | None:
        rows = self._query(_select("versions", VERSION_COLUMNS)
                           + " WHERE workflow_id = ? AND job_version = ?",
                           (workflow_id, job_version))
        return version_dict(rows[0]) if rows else None

    def list_versions(self, workflow_id: int) -> list[dict]:
        columns = ("job_version", "created_at", "task_count", "schedule", "code_hash",
                   "removed_at")
        rows = self._query(_select("versions", columns)
                           + " WHERE workflow_id = ? ORDER BY job_version", (workflow_id,))
        out = []
        for r in rows:
            d = dict(zip(columns, r))
            d["schedule"] = json.loads(d["schedule"]) if d["schedule"] else None
            out.append(d)
        return out

    # -- runs -----------------------------------------------------------------------------
    def get_run(self, run_id: int) -> dict | None:
        rows = self._query(_select("runs", ALL_RUN_COLUMNS) + " WHERE run_id = ?", (run_id,))
        if not rows:
            return None
        d = _RUN_ALL(rows[0])
        d["options"] = json.loads(d["options"] or "{}")
        return d

    def list_runs(self, workflow_id: int, *, start: float | None = None,
                  end: float | None = None, state: str | Sequence[str] | None = None,
                  limit: int | None = None, offset: int = 0, **more: Any) -> list[dict]:
        where, params = _run_filters(workflow_id, start, end, state, more)
        sql = _select("runs", RUN_COLUMNS) + f" WHERE {where} ORDER BY run_id DESC"
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params += [-1 if limit is None else limit, offset]
        return [_RUN(r) for r in self._query(sql, params)]

    def count_runs(self, workflow_id: int, *, start: float | None = None,
                   end: float | None = None, state: str | Sequence[str] | None = None,
                   **more: Any) -> int:
        where, params = _run_filters(workflow_id, start, end, state, more)
        return int(self._query(f"SELECT count(*) FROM runs WHERE {where}", params)[0][0])

    def runs_started_since(self, workflow_id: int, since: float) -> list[float]:
        return [r[0] for r in self._query(
            "SELECT start_time FROM runs WHERE workflow_id = ? AND start_time >= ?",
            (workflow_id, since))]

    def task_runs(self, run_id: int) -> list[dict]:
        rows = self._query(_select("task_runs", TASK_RUN_COLUMNS)
                           + " WHERE run_id = ? ORDER BY task_id", (run_id,))
        return [_TASK_RUN(r) for r in rows]

    def task_run(self, run_id: int, task_id: int) -> dict | None:
        rows = self._query(_select("task_runs", TASK_RUN_COLUMNS)
                           + " WHERE run_id = ? AND task_id = ?", (run_id, task_id))
        return _TASK_RUN(rows[0]) if rows else None

    def inline_result(self, run_id: int, task_id: int) -> bytes | None:
        rows = self._query("SELECT value FROM task_results WHERE run_id = ? AND task_id = ?",
                           (run_id, task_id))
        return bytes(rows[0][0]) if rows else None

    def stop_requested(self, run_id: int) -> bool:
        rows = self._query("SELECT stop_requested FROM runs WHERE run_id = ?", (run_id,))
        return bool(rows[0][0]) if rows else False

    def workflow_overview(self, environment: str, since: float,
                          recent: int = 10) -> list[dict]:
        """``MetadataStore.workflow_overview``: the same three queries, one snapshot."""
        workflow_sql = (
            f"SELECT {_columns(WORKFLOW_COLUMNS, 'w')}, v.job_version, v.task_count, v.schedule"
            " FROM workflows AS w"
            " JOIN (SELECT workflow_id, max(job_version) AS job_version FROM versions"
            " WHERE removed_at IS NULL"
            " GROUP BY workflow_id) AS n ON n.workflow_id = w.workflow_id"
            " JOIN versions AS v ON v.workflow_id = n.workflow_id"
            " AND v.job_version = n.job_version"
            " WHERE w.environment = ? AND w.removed_at IS NULL ORDER BY w.slug")
        # Per workflow, its runs from the recent-th newest run_id up, by the (workflow_id,
        # run_id) index; CROSS JOIN keeps the planner from scanning every run.
        recent_sql = (
            f"SELECT {_columns(RUN_COLUMNS, 'r')} FROM workflows AS w CROSS JOIN runs AS r"
            " WHERE w.environment = ? AND w.removed_at IS NULL AND r.workflow_id = w.workflow_id"
            " AND r.run_id >= coalesce((SELECT n.run_id FROM runs AS n"
            " WHERE n.workflow_id = w.workflow_id ORDER BY n.run_id DESC LIMIT 1 OFFSET ?), 0)"
            " ORDER BY r.workflow_id, r.run_id DESC")
        since_sql = ("SELECT runs.workflow_id, runs.start_time FROM runs JOIN workflows"
                     " ON workflows.workflow_id = runs.workflow_id"
                     " WHERE workflows.environment = ? AND workflows.removed_at IS NULL"
                     " AND runs.start_time >= ?")
        with self._snapshot():
            rows = self._query(workflow_sql, (environment,))
            by_id: dict[int, list[dict]] = {}
            if recent > 0:
                for r in self._query(recent_sql, (environment, recent - 1)):
                    by_id.setdefault(r[1], []).append(_RUN(r))
            starts: dict[int, list[float]] = {}
            for workflow_id, start_time in self._query(since_sql, (environment, since)):
                starts.setdefault(workflow_id, []).append(start_time)
        out = []
        width = len(WORKFLOW_COLUMNS)
        for r in rows:
            d = _WORKFLOW(r[:width])
            job_version, task_count, schedule = r[width:]
            d.update(version={"job_version": job_version, "task_count": task_count,
                              "schedule": json.loads(schedule) if schedule else None},
                     recent_runs=by_id.get(d["workflow_id"], []),
                     started_since=starts.get(d["workflow_id"], []))
            out.append(d)
        return out

    # -- what a reader may have to write ----------------------------------------------------
    def try_mark_abandoned(self, run_id: int, state: str, error: str) -> bool:
        """A reader found a run nobody executes: marking it is a write, for the full store."""
        raise NeedsFullStore(f"run {run_id} is to be marked {state}")


def _run_filters(workflow_id: int, start: float | None, end: float | None,
                 state: str | Sequence[str] | None, more: dict) -> tuple[str, list]:
    if any(v is not None for v in more.values()):
        raise NeedsFullStore(f"run filters {sorted(k for k, v in more.items() if v is not None)}")
    where: list[str] = ["workflow_id = ?"]
    params: list[Any] = [workflow_id]
    if start is not None:
        where.append("start_time >= ?")
        params.append(start)
    if end is not None:
        where.append("start_time <= ?")
        params.append(end)
    if isinstance(state, str):
        where.append("state = ?")
        params.append(state)
    elif state:
        states = list(state)
        where.append(f"state IN ({', '.join('?' * len(states))})")
        params.extend(states)
    return " AND ".join(where), params


def version_dict(row: Sequence[Any]) -> dict:
    """A row of ``VERSION_COLUMNS`` as the store's version dict (its JSON read)."""
    d = _VERSION(row)
    d["definition"] = json.loads(d["definition"])
    d["schedule"] = json.loads(d["schedule"]) if d.get("schedule") else None
    return d


def _uri_path(path: str) -> str:
    """A file path as the path of a ``file:`` URI (``?``, ``#`` and ``%`` escaped)."""
    return path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
