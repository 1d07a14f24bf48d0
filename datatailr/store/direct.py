"""The direct store: a plain SQLite metadata store through the standard library's ``sqlite3``.

Owns the process's way into a local SQLite store that exists at the current schema: every
read of ``FastReader``, and the writes of a run's hot path (``store.sql``: the workflow row, a
version, the run, the recorder's batches) in write transactions of its own - ``BEGIN
IMMEDIATE``, the same busy timeout, backoff and one-line failures as ``MetadataStore``. So a
script's local run (and every process that only does that) never imports SQLAlchemy, whose
import is most of a cold start. Everything else - a migration, a new store, the agent's
claims, history filters - goes to the full ``MetadataStore`` of the same URL, opened when
first needed; a read this store cannot make (``NeedsFullStore``) is made there instead. Both
write the same file under SQLite's own locking, so they never disagree.

One ``sqlite3`` connection per thread: a widget polling from its thread never shares a
transaction with the run it watches. A write transaction of this store must not call into
the full store (its own write would wait for the lock this thread holds): that is refused.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from datatailr.errors import StorageError, StoreUnavailableError
from datatailr.store import sql
from datatailr.store.fastread import VERSION_COLUMNS, FastReader, NeedsFullStore, version_dict

#: How long a write waits for another writer's lock unless told otherwise (as the full store).
BUSY_SECONDS = 60.0


class _Sqlite3:
    """A ``sqlite3`` connection in a transaction, as ``store.sql`` uses one."""

    __slots__ = ("db",)
    mark = "?"

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.db.execute(text, tuple(params)).fetchall()

    def execute(self, text: str, params: Sequence[Any] = ()) -> None:
        self.db.execute(text, tuple(params))

    def many(self, text: str, rows: list[tuple]) -> None:
        self.db.executemany(text, rows)

    def insert(self, text: str, params: Sequence[Any], id_column: str) -> int:
        cursor = self.db.execute(text, tuple(params))
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)


class DirectStore(FastReader):
    """``MetadataStore``'s methods for a local SQLite file: the hot path here, the rest there."""

    MODE = "rw"

    def __init__(self, url: str) -> None:
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._full: Any = None
        super().__init__(url)
        sql.OPEN_SQLITE_FILES.add(self.where)

    # -- connections ----------------------------------------------------------------------
    @property  # type: ignore[override]
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self._db = db = self._connect()
        return db

    @_db.setter
    def _db(self, db: sqlite3.Connection) -> None:
        """This thread's connection (FastReader sets the first one), set up as the full
        store sets up its own."""
        for pragma in ("synchronous=NORMAL", "foreign_keys=ON",
                       f"busy_timeout={int(BUSY_SECONDS * 1000)}"):
            db.execute(f"PRAGMA {pragma}")
        self._local.db = db
        with self._lock:
            self._all.append(db)

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                with contextlib.suppress(Exception):
                    db.close()
            self._all.clear()
        self._local = threading.local()

    def dispose(self) -> None:
        self.close()
        if self._full is not None:
            self._full.dispose()

    @property
    def full(self) -> Any:
        """The full store of the same URL (SQLAlchemy: imported now, if not before)."""
        if getattr(self._local, "writing", False):
            raise RuntimeError("datatailr: the full metadata store was asked for inside a "
                               "write transaction of the direct store (it would wait for its "
                               "own lock)")
        if self._full is None:
            from datatailr.store.metadata import open_metadata

            self._full = open_metadata(self.url)
        return self._full

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.full, name)

    # -- writes ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self, *, busy_seconds: float | None = None,
              retry: bool = True) -> Iterator[_Sqlite3]:
        """A write transaction (``BEGIN IMMEDIATE``), as ``MetadataStore.write``: a lock not
        had within ``busy_seconds`` (default 60) is retried with backoff for the store's retry
        period (once with ``retry=False``), then a ``StoreUnavailableError``."""
        db = self._db
        deadline = time.monotonic() + (sql.retry_seconds() if retry else 0.0)
        delay = 0.05
        while True:
            try:
                db.execute(f"PRAGMA busy_timeout="
                           f"{int((BUSY_SECONDS if busy_seconds is None else busy_seconds) * 1000)}")
                db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if not sql.transient(str(exc)):
                    raise StorageError(f"Cannot use the metadata database {self.where}: "
                                       f"{exc}") from exc
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailableError(sql.what_failed(str(exc), self.where)) from exc
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        self._local.writing = True
        try:
            yield _Sqlite3(db)
            db.execute("COMMIT")
        except sqlite3.IntegrityError:
            _rollback(db)
            raise  # the caller's business, as in the full store
        except sqlite3.OperationalError as exc:
            _rollback(db)
            if sql.transient(str(exc)):
                raise StoreUnavailableError(sql.what_failed(str(exc), self.where)) from exc
            raise StorageError(f"The metadata database {self.where} refused a statement: "
                               f"{exc}") from exc
        except sqlite3.Error as exc:
            _rollback(db)
            raise StorageError(f"The metadata database {self.where} refused a statement: "
                               f"{exc}") from exc
        except BaseException:
            _rollback(db)
            raise
        finally:
            self._local.writing = False

    def ensure_workflow(self, conn: _Sqlite3, slug: str, environment: str, name: str,
                        job_type: str = "workflow") -> int:
        return sql.ensure_workflow(conn, slug, environment, name, job_type)

    def add_version(self, conn: _Sqlite3, workflow_id: int, **version: Any) -> int:
        return sql.add_version(conn, workflow_id, **version)

    def latest_version(self, workflow_id: int, conn: Any = None) -> dict | None:
        if conn is None:
            return super().latest_version(workflow_id)
        row = sql.latest_version_row(conn, VERSION_COLUMNS, workflow_id)
        return version_dict(row) if row else None

    def create_run(self, *, conn: Any = None, **run: Any) -> int:
        if conn is not None:
            return sql.create_run(conn, **run)
        with self.write() as db:
            return sql.create_run(db, **run)

    def apply(self, conn: _Sqlite3, statements: list[tuple[str, dict]]) -> None:
        sql.apply(conn, statements)

    # -- reads this store cannot make: the full store's ------------------------------------
    def _query(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        if getattr(self._local, "writing", False):
            # inside this thread's write transaction: its errors are the transaction's
            return self._db.execute(text, params).fetchall()
        return super()._query(text, params)


def _rollback(db: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        db.execute("ROLLBACK")


def _or_full(name: str) -> Any:
    fast = getattr(FastReader, name)

    def method(self: DirectStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return fast(self, *args, **kwargs)
        except NeedsFullStore:
            return getattr(self.full, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``MetadataStore.{name}``, read here (or there, when it must be)."
    return method


for _name in [n for n, v in vars(FastReader).items() if callable(v) and not n.startswith("_")
              and n not in ("close", "latest_version")]:
    setattr(DirectStore, _name, _or_full(_name))


def open_direct(url: str) -> DirectStore | None:
    """The direct store of ``url``, or None when the full store must serve it (not a plain
    SQLite file, missing, another schema version: the full store makes or migrates it)."""
    try:
        return DirectStore(url)
    except NeedsFullStore:
        return None
