"""The metadata store: workflows, versions, runs and task runs in SQL (SQLite or PostgreSQL).

Owns the schema, its version and migrations, and every query the platform makes. Rows go in
and plain dicts come out (times as POSIX seconds); the composition layer turns them into the
public API's shapes. Must not know about tasks' code or results: those are blobs elsewhere,
except the pickles of small results, kept opaque in ``task_results`` (see ``store.results``).

SQLite runs in WAL mode with a busy timeout, and every write transaction is ``BEGIN
IMMEDIATE`` so that concurrent writers (a notebook, a script, the agent, the CLI) queue for the
lock instead of failing with "database is locked" on a read-to-write upgrade. PostgreSQL gets
the same discipline from a transaction-scoped advisory lock taken first by every write
transaction: read-then-write sequences (next job_version, ensure_workflow, migrations run by
several processes at once) never interleave, on one machine or many.

Failures of the database are one mechanism for both: a transaction that cannot begin because
the database is locked past the busy timeout, the disk is full, or the server went away is
retried with backoff for a bounded time (``DATATAILR_STORE_RETRY_SECONDS``, default 60); what
stays unavailable is a ``StoreUnavailableError`` saying which, with the path. Opening the store
and reading never take the write lock: the schema is created or migrated only when it is
missing or older. A database file that is empty or not ours is an error, never a fresh start.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from datatailr.errors import InvalidArgumentError, StorageError, StoreUnavailableError
from datatailr.store import sql
from datatailr.store.fastread import (  # SCHEMA_VERSION: one number, read by both stores
    SCHEMA_VERSION,
    VERSION_COLUMNS,
    version_dict,
)
from datatailr.store.sql import owner_tag, retry_seconds  # noqa: F401 - owner_tag also here

md = sa.MetaData()

meta_table = sa.Table(
    "meta", md,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

workflows = sa.Table(
    "workflows", md,
    sa.Column("workflow_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(8), nullable=False),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # 'workflow' | 'service' | 'app' | 'excel_addin'
    sa.Column("job_type", sa.String(16), nullable=False, server_default="workflow"),
    # `dt job rm` is a soft delete, undone by `dt job restore`; history stays readable
    sa.Column("removed_at", sa.Float),
    sa.UniqueConstraint("slug", "environment", name="uq_workflow_slug_env"),
    sqlite_autoincrement=True,  # ids are never reused, even after a workflow is removed
)

versions = sa.Table(
    "versions", md,
    sa.Column("workflow_id", sa.Integer, sa.ForeignKey("workflows.workflow_id"), primary_key=True),
    sa.Column("job_version", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),  # JSON: tasks, edges, options
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("code_key", sa.String(400), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("schedule", sa.Text, nullable=True),  # JSON of Schedule.to_dict()
    sa.Column("task_count", sa.Integer, nullable=False),
    sa.Column("removed_at", sa.Float),  # a removed version is never the latest
)

runs = sa.Table(
    "runs", md,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workflow_id", sa.Integer, sa.ForeignKey("workflows.workflow_id"), nullable=False),
    sa.Column("job_version", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("start_time", sa.Float),
    sa.Column("end_time", sa.Float),
    sa.Column("original_run_id", sa.Integer),
    sa.Column("rerun_of", sa.Integer),
    sa.Column("full", sa.Boolean, nullable=False, default=False),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("scheduled_time", sa.Float),
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(200)),
    sa.Column("error", sa.Text),
    sa.Column("stop_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("claimed_by", sa.String(200)),
    sa.Column("options", sa.Text),  # JSON: fail_after, environment variables of the caller ...
    # written by the process executing the run while it is in flight (see Recorder.tick)
    sa.Column("heartbeat", sa.Float),
    sa.Column("queue", sa.String(64), nullable=False, server_default="default"),
    sa.Column("user", sa.String(200)),
    sa.Column("url", sa.String(400)),  # where a service or app listens
    sa.Index("ix_runs_workflow_start", "workflow_id", "start_time"),
    sa.Index("ix_runs_workflow_run", "workflow_id", "run_id"),
    sa.Index("ix_runs_state", "state"),
    sa.Index("ix_runs_rerun_of", "rerun_of"),  # a run's reruns ("superseded by")
    sqlite_autoincrement=True,
)

task_runs = sa.Table(
    "task_runs", md,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("task_id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("start_time", sa.Float),
    sa.Column("end_time", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    # where the result is stored: this run and task, or an earlier run's (partial rerun)
    sa.Column("result_run_id", sa.Integer),
    sa.Column("result_task_id", sa.Integer),
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(200)),
    sa.Column("worker", sa.String(200)),  # the Dask worker's address
    sa.Column("peak_rss", sa.BigInteger),  # bytes, of the task's process tree
    sa.Column("cpu_seconds", sa.Float),
)

#: small task results (a pickle of at most a few KiB), kept here instead of in storage and
#: written in the transaction that marks their task completed; larger ones are blobs
task_results = sa.Table(
    "task_results", md,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("task_id", sa.Integer, primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
)

schedule_fires = sa.Table(
    "schedule_fires", md,
    sa.Column("workflow_id", sa.Integer, primary_key=True),
    sa.Column("scheduled_time", sa.Float, primary_key=True),
    sa.Column("run_id", sa.Integer),
)

kv = sa.Table(
    "kv", md,
    sa.Column("environment", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("acl", sa.Text),  # JSON, recorded as given
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

#: the agents serving this store, wherever they run: which queues, and a heartbeat (a row
#: whose heartbeat is older than the recorder's stale bound is an agent that is gone)
agents = sa.Table(
    "agents", md,
    sa.Column("agent_id", sa.String(200), primary_key=True),  # owner_tag(): host:pid
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("home", sa.Text, nullable=False),
    sa.Column("queues", sa.Text, nullable=False),  # JSON list of queue names
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("heartbeat", sa.Float, nullable=False),
)

RUN_COLUMNS = [c for c in runs.c if c.name not in ("options",)]

def _transient(exc: BaseException) -> bool:
    """A failure that may pass: the database is locked or busy, the disk is full, or the
    connection to the server is gone. Not: a missing file, bad SQL, a constraint."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return False
    return sql.transient(str(getattr(exc, "orig", exc)))


def _what_failed(exc: BaseException, where: str) -> str:
    return sql.what_failed(str(getattr(exc, "orig", exc)) if str(exc) else repr(exc), where)


class _Driver:
    """An SQLAlchemy connection as ``store.sql`` uses one: its driver, in the driver's
    parameter style (no per-row parameter processing on the hot path)."""

    __slots__ = ("conn", "mark", "returning")

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.returning = conn.dialect.name != "sqlite"

    def _sql(self, text: str) -> str:
        return text if self.mark == "?" else text.replace("?", self.mark)

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        return [tuple(r) for r in self.conn.exec_driver_sql(self._sql(text), tuple(params))]

    def execute(self, text: str, params: Sequence[Any] = ()) -> None:
        self.conn.exec_driver_sql(self._sql(text), tuple(params))

    def many(self, text: str, rows: list[tuple]) -> None:
        self.conn.exec_driver_sql(self._sql(text), rows)

    def insert(self, text: str, params: Sequence[Any], id_column: str) -> int:
        if self.returning:
            result = self.conn.exec_driver_sql(self._sql(f'{text} RETURNING "{id_column}"'),
                                               tuple(params))
            return int(result.scalar_one())
        return int(self.conn.exec_driver_sql(self._sql(text), tuple(params)).lastrowid)


def _row(row: Any) -> dict:
    return dict(zip(row._fields, row))  # 2x faster than dict(row._mapping), the same dict


def _rows(rows: Sequence[Any]) -> list[dict]:
    """Many rows of one query as dicts: the keys read once (7x faster than ``_row`` each)."""
    if not rows:
        return []
    keys = rows[0]._fields
    return [dict(zip(keys, r)) for r in rows]


class MetadataStore:
    """All SQL of the platform. One instance per process and URL is enough (see ``open``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.where = url
        try:
            if self.is_sqlite:
                path = url.split("///", 1)[1] if "///" in url else ""
                if path and path != ":memory:":
                    self.where = os.path.abspath(path)
                    if self.where not in sql.OPEN_SQLITE_FILES:
                        # (never opened by hand while a direct store of this process has it
                        # open: closing any descriptor of the file drops SQLite's locks on it)
                        _prepare_sqlite_file(self.where)
                self.engine = sa.create_engine(
                    url, connect_args={"timeout": 60, "check_same_thread": False},
                    poolclass=sa.pool.NullPool if path == ":memory:" else None,
                )
                _sqlite_pragmas(self.engine)
            else:
                self.engine = sa.create_engine(_server_url(url), pool_pre_ping=True)
                if self.engine.dialect.name == "postgresql":
                    _postgres_write_lock(self.engine)
            self._writer = self.engine.execution_options(datatailr_write=True)
            self._open_schema()
        except StorageError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"Cannot open the metadata database {url!r}: {exc}") from exc

    def _open_schema(self) -> None:
        """``migrate()``, again with backoff while the server drops the connection midway (a
        restart): opening the store is idempotent, so a blip never fails a process's start."""
        deadline = time.monotonic() + retry_seconds()
        delay = 0.05
        while True:
            try:
                self.migrate()
                return
            except StoreUnavailableError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    # -- connections ----------------------------------------------------------------------
    def _begin(self, engine: Any, retry: bool) -> tuple[sa.Connection, sa.RootTransaction]:
        """A connection in a begun transaction; what fails to begin for a passing reason is
        retried with backoff for ``retry_seconds()`` (or not at all with ``retry=False``)."""
        deadline = time.monotonic() + (retry_seconds() if retry else 0.0)
        delay = 0.05
        while True:
            conn = None
            try:
                conn = engine.connect()
                return conn, conn.begin()
            except sa.exc.DBAPIError as exc:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                if not _transient(exc):
                    raise StorageError(f"Cannot use the metadata database {self.where}: "
                                       f"{exc.orig}") from exc
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailableError(_what_failed(exc, self.where)) from exc
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    @contextlib.contextmanager
    def _transaction(self, engine: Any, retry: bool) -> Iterator[sa.Connection]:
        conn, trans = self._begin(engine, retry)
        try:
            yield conn
            trans.commit()
        except sa.exc.IntegrityError:
            trans.rollback()
            raise  # the caller's business (e.g. a schedule that fired already)
        except sa.exc.DBAPIError as exc:
            with contextlib.suppress(Exception):
                trans.rollback()
            if _transient(exc):
                raise StoreUnavailableError(_what_failed(exc, self.where)) from exc
            raise StorageError(f"The metadata database {self.where} refused a statement: "
                               f"{exc.orig}") from exc
        except BaseException:
            with contextlib.suppress(Exception):
                trans.rollback()
            raise
        finally:
            conn.close()

    def write(self, *, busy_seconds: float | None = None,
              retry: bool = True) -> contextlib.AbstractContextManager[sa.Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory lock).

        ``busy_seconds`` bounds how long SQLite waits for another writer's lock (default 60);
        ``retry=False`` makes one attempt, for callers that retry on their own schedule."""
        engine = self._writer
        if busy_seconds is not None:
            engine = engine.execution_options(datatailr_busy_ms=int(busy_seconds * 1000))
        return self._transaction(engine, retry)

    def read(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """A read transaction: never takes the write lock, never waits for a writer (WAL)."""
        return self._transaction(self.engine, True)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------
    def _read_meta(self, conn: sa.Connection, key: str) -> str | None:
        return conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    def migrate(self) -> None:
        """Create the schema, or bring an older one up to SCHEMA_VERSION. Looks first without
        the write lock, so opening an up-to-date store never waits for a writer."""
        with self.read() as conn:
            names = set(sa.inspect(conn).get_table_names())
            current = self._read_meta(conn, "schema_version") if "meta" in names else None
            if current is not None and int(current) == SCHEMA_VERSION:
                self.store_id = self._read_meta(conn, "store_id") or ""
                return
        if current is None and names - {"meta"}:
            raise StorageError(
                f"{self.where} holds tables of something else ({', '.join(sorted(names)[:5])}) "
                f"and no datatailr schema: point DATATAILR_DB_URL at a new or datatailr database."
            )
        with contextlib.ExitStack() as stack:
            conn = stack.enter_context(self._writer.connect())
            if self.is_sqlite:
                # A table rebuild (see _migrate_1_to_2) needs foreign keys off, which SQLite
                # only allows outside a transaction.
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
                stack.callback(lambda: conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                    "PRAGMA foreign_keys=ON"))
            with conn.begin():
                found_text = (self._read_meta(conn, "schema_version")
                              if sa.inspect(conn).has_table("meta") else None)
                if found_text is None:  # a new database (we hold the lock: nobody else made it)
                    md.create_all(conn)
                    import uuid  # (only here: it imports platform, ~1 ms of every start)

                    self.store_id = uuid.uuid4().hex[:12]
                    conn.execute(meta_table.insert(), [
                        {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                        {"key": "store_id", "value": self.store_id}])
                    return
                found = int(found_text)
                if found > SCHEMA_VERSION:
                    raise StorageError(
                        f"The database {self.url!r} has schema version {found}, newer than this "
                        f"datatailr understands ({SCHEMA_VERSION}): upgrade datatailr."
                    )
                for step in range(found, SCHEMA_VERSION):
                    MIGRATIONS[step](conn)
                md.create_all(conn)  # tables that are new in this version
                conn.execute(meta_table.update().where(meta_table.c.key == "schema_version")
                             .values(value=str(SCHEMA_VERSION)))
                self.store_id = self._read_meta(conn, "store_id") or ""

    def schema_version(self) -> int:
        with self.read() as conn:
            return int(conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar_one())

    # -- workflows and versions -----------------------------------------------------------
    def ensure_workflow(self, conn: sa.Connection, slug: str, environment: str, name: str,
                        job_type: str = "workflow") -> int:
        """The id of the job ``name`` (slug ``slug``), made if new (``store.sql``)."""
        return sql.ensure_workflow(_Driver(conn), slug, environment, name, job_type)

    def find_workflow(self, key: str, environment: str,
                      include_removed: bool = False) -> dict | None:
        """By slug (the caller slugifies); a removed job only with ``include_removed``."""
        query = sa.select(workflows).where(workflows.c.slug == key,
                                           workflows.c.environment == environment)
        if not include_removed:
            query = query.where(workflows.c.removed_at.is_(None))
        with self.read() as conn:
            row = conn.execute(query).first()
            return _row(row) if row else None

    def workflow_by_id(self, workflow_id: int) -> dict | None:
        with self.read() as conn:
            row = conn.execute(
                sa.select(workflows).where(workflows.c.workflow_id == workflow_id)
            ).first()
            return _row(row) if row else None

    def list_workflows(self, environment: str) -> list[dict]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(workflows).where(workflows.c.environment == environment,
                                           workflows.c.removed_at.is_(None))
                .order_by(workflows.c.slug)
            ).all()
            return [_row(r) for r in rows]

    def all_slugs(self, environment: str) -> list[str]:
        return [w["slug"] for w in self.list_workflows(environment)]

    def add_version(self, conn: sa.Connection, workflow_id: int, *, definition: dict,
                    source: str, code_key_for: Any, code_hash: str, schedule: dict | None,
                    task_count: int) -> int:
        """A new immutable version; ``code_key_for(job_version)`` names its code blob."""
        return sql.add_version(_Driver(conn), workflow_id, definition=definition,
                               source=source, code_key_for=code_key_for, code_hash=code_hash,
                               schedule=schedule, task_count=task_count)

    def latest_version(self, workflow_id: int, conn: sa.Connection | None = None) -> dict | None:
        """The newest version that is not removed."""
        with contextlib.ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self.read())
            row = sql.latest_version_row(_Driver(conn), VERSION_COLUMNS, workflow_id)
            return version_dict(row) if row else None

    def get_version(self, workflow_id: int, job_version: int) -> dict | None:
        with self.read() as conn:
            row = conn.execute(
                sa.select(versions).where(versions.c.workflow_id == workflow_id,
                                          versions.c.job_version == job_version)
            ).first()
            return _version(row) if row else None

    def list_versions(self, workflow_id: int) -> list[dict]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(versions.c.job_version, versions.c.created_at, versions.c.task_count,
                          versions.c.schedule, versions.c.code_hash, versions.c.removed_at)
                .where(versions.c.workflow_id == workflow_id)
                .order_by(versions.c.job_version)
            ).all()
        out = []
        for r in rows:
            d = _row(r)
            d["schedule"] = json.loads(d["schedule"]) if d["schedule"] else None
            out.append(d)
        return out

    def scheduled_versions(self) -> list[dict]:
        """The latest version of every workflow whose latest version has a schedule."""
        latest = (sa.select(versions.c.workflow_id,
                            sa.func.max(versions.c.job_version).label("job_version"))
                  .where(versions.c.removed_at.is_(None))
                  .group_by(versions.c.workflow_id).subquery())
        query = (sa.select(versions, workflows.c.slug, workflows.c.environment,
                           workflows.c.name, workflows.c.created_at.label("workflow_created_at"))
                 .join(latest, sa.and_(versions.c.workflow_id == latest.c.workflow_id,
                                       versions.c.job_version == latest.c.job_version))
                 .join(workflows, workflows.c.workflow_id == versions.c.workflow_id)
                 .where(versions.c.schedule.is_not(None), workflows.c.removed_at.is_(None)))
        with self.read() as conn:
            return [_version(r) for r in conn.execute(query).all()]

    def set_removed(self, workflow_id: int, job_version: int | None, removed: bool) -> bool:
        """Soft-remove (or restore) a job, or one of its versions; False when nothing changed.
        A removed job is not listed, found by name or scheduled; a removed version is never
        the latest, so removing the current version rolls back to the one before."""
        value = time.time() if removed else None
        with self.write() as conn:
            if job_version is None:
                done = conn.execute(workflows.update().where(
                    workflows.c.workflow_id == workflow_id,
                    workflows.c.removed_at.is_(None) if removed
                    else workflows.c.removed_at.is_not(None)).values(removed_at=value))
            else:
                done = conn.execute(versions.update().where(
                    versions.c.workflow_id == workflow_id, versions.c.job_version == job_version,
                    versions.c.removed_at.is_(None) if removed
                    else versions.c.removed_at.is_not(None)).values(removed_at=value))
            return done.rowcount == 1

    def remove_workflow(self, workflow_id: int) -> dict:
        """Delete a workflow with its versions and history; returns what the caller must
        delete from blob storage: {"run_ids": [...], "code_keys": [...]}"""
        with self.write() as conn:
            run_ids = [r[0] for r in conn.execute(
                sa.select(runs.c.run_id).where(runs.c.workflow_id == workflow_id)).all()]
            code_keys = [r[0] for r in conn.execute(
                sa.select(versions.c.code_key).where(versions.c.workflow_id == workflow_id)
            ).all()]
            for chunk in _chunks(run_ids, 500):
                conn.execute(task_runs.delete().where(task_runs.c.run_id.in_(chunk)))
                conn.execute(task_results.delete().where(task_results.c.run_id.in_(chunk)))
            conn.execute(runs.delete().where(runs.c.workflow_id == workflow_id))
            conn.execute(versions.delete().where(versions.c.workflow_id == workflow_id))
            conn.execute(schedule_fires.delete().where(schedule_fires.c.workflow_id == workflow_id))
            conn.execute(workflows.delete().where(workflows.c.workflow_id == workflow_id))
        return {"run_ids": run_ids, "code_keys": code_keys}

    # -- runs -----------------------------------------------------------------------------
    def create_run(self, *, workflow_id: int, job_version: int, trigger: str,
                   task_names: Sequence[str], state: str = "pending",
                   original_run_id: int | None = None, rerun_of: int | None = None,
                   full: bool = False, scheduled_time: float | None = None,
                   options: dict | None = None, claimed_by: str | None = None,
                   queue: str = "default", user: str | None = None,
                   conn: sa.Connection | None = None) -> int:
        with contextlib.ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self.write())
            return sql.create_run(
                _Driver(conn), workflow_id=workflow_id, job_version=job_version,
                trigger=trigger, task_names=task_names, state=state,
                original_run_id=original_run_id, rerun_of=rerun_of, full=full,
                scheduled_time=scheduled_time, options=options, claimed_by=claimed_by,
                queue=queue, user=user)

    def claim_run(self, run_id: int, owner: str, max_concurrent: int | None = None) -> bool:
        """Atomically take a pending run for execution; False when someone else has it, or
        when ``max_concurrent`` runs of its workflow are running (or taken) already. The
        count and the claim are one write transaction, which every writer serializes on
        (SQLite's write lock, PostgreSQL's advisory lock), so two agents never both take the
        last slot."""
        with self.write() as conn:
            if max_concurrent is not None:
                workflow_id = conn.execute(sa.select(runs.c.workflow_id)
                                           .where(runs.c.run_id == run_id)).scalar()
                busy = conn.execute(sa.select(sa.func.count()).select_from(runs).where(
                    runs.c.workflow_id == workflow_id, runs.c.run_id != run_id,
                    sa.or_(runs.c.state == "running",
                           sa.and_(runs.c.state == "pending", runs.c.claimed_by.is_not(None))),
                )).scalar_one()
                if busy >= max_concurrent:
                    return False
            result = conn.execute(
                runs.update().where(runs.c.run_id == run_id, runs.c.state == "pending",
                                    runs.c.claimed_by.is_(None))
                .values(claimed_by=owner)
            )
            return result.rowcount == 1

    def release_claim(self, run_id: int) -> None:
        """A claimed run nobody will serve goes back to the queue."""
        with self.write() as conn:
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(claimed_by=None))

    def pending_runs(self, queues: Sequence[str] | None = None) -> list[dict]:
        """Unclaimed pending runs, oldest first, with their ``options``; only those of
        ``queues`` when given."""
        filters = [runs.c.state == "pending", runs.c.claimed_by.is_(None)]
        if queues is not None:
            filters.append(runs.c.queue.in_(list(queues)))
        with self.read() as conn:
            rows = _rows(conn.execute(
                sa.select(runs).where(*filters).order_by(runs.c.run_id)).all())
        for row in rows:
            row["options"] = json.loads(row["options"] or "{}")
        return rows

    # -- agents ---------------------------------------------------------------------------
    def register_agent(self, agent_id: str, *, host: str, pid: int, home: str,
                       queues: Sequence[str], now: float | None = None) -> None:
        """Enter (or re-enter) an agent in the registry, with a fresh heartbeat."""
        now = round(now or time.time(), 6)
        with self.write() as conn:
            conn.execute(agents.delete().where(agents.c.agent_id == agent_id))
            conn.execute(agents.insert().values(
                agent_id=agent_id, host=host, pid=pid, home=home,
                queues=json.dumps(list(queues)), started_at=now, heartbeat=now))

    def agent_heartbeat(self, agent_id: str, now: float | None = None) -> bool:
        """False when the agent's row is gone (another process found it stale and removed
        it): the caller registers again."""
        with self.write() as conn:
            return conn.execute(agents.update().where(agents.c.agent_id == agent_id)
                                .values(heartbeat=round(now or time.time(), 6))).rowcount == 1

    def unregister_agent(self, agent_id: str) -> None:
        with self.write() as conn:
            conn.execute(agents.delete().where(agents.c.agent_id == agent_id))

    def list_agents(self) -> list[dict]:
        """Every registered agent, live or stale, oldest first, ``queues`` as a list."""
        with self.read() as conn:
            rows = _rows(conn.execute(sa.select(agents).order_by(agents.c.started_at)).all())
        for row in rows:
            row["queues"] = json.loads(row["queues"])
        return rows

    def runs_in_states(self, states: Sequence[str]) -> list[dict]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(*RUN_COLUMNS).where(runs.c.state.in_(list(states)))
                .order_by(runs.c.run_id)
            ).all()
            return [_row(r) for r in rows]

    def get_run(self, run_id: int) -> dict | None:
        with self.read() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).first()
        if row is None:
            return None
        d = _row(row)
        d["options"] = json.loads(d["options"] or "{}")
        return d

    def list_runs(self, workflow_id: int, *, start: float | None = None, end: float | None = None,
                  state: str | Sequence[str] | None = None, limit: int | None = None,
                  offset: int = 0, trigger: str | Sequence[str] | None = None,
                  job_version: int | Sequence[int] | None = None,
                  rerun_of: int | None = None) -> list[dict]:
        query = sa.select(*RUN_COLUMNS).where(*self._run_filters(
            workflow_id, start, end, state, trigger=trigger, job_version=job_version,
            rerun_of=rerun_of))
        query = query.order_by(runs.c.run_id.desc()).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.read() as conn:
            return _rows(conn.execute(query).all())

    def count_runs(self, workflow_id: int, *, start: float | None = None,
                   end: float | None = None, state: str | Sequence[str] | None = None,
                   trigger: str | Sequence[str] | None = None,
                   job_version: int | Sequence[int] | None = None,
                   rerun_of: int | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(runs).where(*self._run_filters(
            workflow_id, start, end, state, trigger=trigger, job_version=job_version,
            rerun_of=rerun_of))
        with self.read() as conn:
            return int(conn.execute(query).scalar_one())

    #: What started a run: a local run, a deploy, a manual start, the schedule, a rerun, or
    #: the restart of a service or app.
    RUN_TRIGGERS = ("local", "deploy", "manual", "schedule", "rerun", "restart")

    @classmethod
    def _run_filters(cls, workflow_id: int, start: float | None, end: float | None,
                     state: str | Sequence[str] | None, *,
                     trigger: str | Sequence[str] | None = None,
                     job_version: int | Sequence[int] | None = None,
                     rerun_of: int | None = None) -> list:
        """The WHERE clauses of a run query; a trigger, version or run id that cannot match
        anything is an InvalidArgumentError naming it, before any query runs."""
        filters: list = [runs.c.workflow_id == workflow_id]
        if start is not None:
            filters.append(runs.c.start_time >= start)
        if end is not None:
            filters.append(runs.c.start_time <= end)
        if isinstance(state, str):
            filters.append(runs.c.state == state)
        elif state:
            filters.append(runs.c.state.in_(list(state)))
        if trigger is not None:
            items = [trigger] if isinstance(trigger, str) else (
                list(trigger) if isinstance(trigger, list | tuple | set | frozenset) else [trigger])
            for item in items:
                if not isinstance(item, str) or item not in cls.RUN_TRIGGERS:
                    raise InvalidArgumentError(
                        f"trigger={trigger!r}: {item!r} is not a trigger; give one of "
                        f"{', '.join(cls.RUN_TRIGGERS)} (or a list of them).")
            if not items:
                raise InvalidArgumentError(
                    f"trigger={trigger!r}: an empty list matches no run; give None for every "
                    f"trigger, or some of {', '.join(cls.RUN_TRIGGERS)}.")
            filters.append(runs.c.trigger.in_(sorted(set(items))))
        if job_version is not None:
            versions = (list(job_version) if isinstance(job_version, list | tuple | set | frozenset)
                        else [job_version])
            for item in versions:
                if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                    raise InvalidArgumentError(
                        f"job_version={job_version!r}: {item!r} is not a version; versions are "
                        f"whole numbers from 1 (give one, e.g. job_version=2, or a list of them).")
            if not versions:
                raise InvalidArgumentError(
                    f"job_version={job_version!r}: an empty list matches no run; give None for "
                    f"every version, or some versions, e.g. [1, 2].")
            filters.append(runs.c.job_version.in_(sorted(set(versions))))
        if rerun_of is not None:
            if isinstance(rerun_of, bool) or not isinstance(rerun_of, int) or rerun_of < 0:
                raise InvalidArgumentError(
                    f"rerun_of={rerun_of!r}: give the id of the run that was rerun, a whole "
                    f"number (e.g. rerun_of=12).")
            # A rerun is made after the run it re-runs, so its id is larger: with the
            # (workflow_id, run_id) index only the newer runs are read.
            filters += [runs.c.rerun_of == rerun_of, runs.c.run_id > rerun_of]
        return filters

    def runs_started_since(self, workflow_id: int, since: float) -> list[float]:
        with self.read() as conn:
            return [r[0] for r in conn.execute(
                sa.select(runs.c.start_time).where(runs.c.workflow_id == workflow_id,
                                                   runs.c.start_time >= since)
            ).all()]

    def task_runs(self, run_id: int) -> list[dict]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(task_runs).where(task_runs.c.run_id == run_id)
                .order_by(task_runs.c.task_id)
            ).all()
            return [_row(r) for r in rows]

    def task_run(self, run_id: int, task_id: int) -> dict | None:
        with self.read() as conn:
            row = conn.execute(
                sa.select(task_runs).where(task_runs.c.run_id == run_id,
                                           task_runs.c.task_id == task_id)
            ).first()
            return _row(row) if row else None

    def inline_result(self, run_id: int, task_id: int) -> bytes | None:
        """The pickle of a small result kept here, or None (it is in storage, or gone)."""
        with self.read() as conn:
            return conn.execute(sa.select(task_results.c.value).where(
                task_results.c.run_id == run_id, task_results.c.task_id == task_id)).scalar()

    def inline_results(self, where: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """(run id, task id) -> pickle, for those of ``where`` whose result is kept here."""
        found: dict[tuple[int, int], bytes] = {}
        by_run: dict[int, set[int]] = {}
        for run_id, task_id in where:
            by_run.setdefault(run_id, set()).add(task_id)
        with self.read() as conn:
            for run_id, task_ids in by_run.items():
                for r in conn.execute(sa.select(task_results).where(
                        task_results.c.run_id == run_id)):
                    if r.task_id in task_ids:
                        found[(run_id, r.task_id)] = r.value
        return found

    def request_stop(self, run_id: int) -> bool:
        """Ask the process running a run to stop it; a pending run is stopped at once."""
        with self.write() as conn:
            row = conn.execute(sa.select(runs.c.state).where(runs.c.run_id == run_id)).first()
            if row is None or row.state not in ("pending", "running", "scheduled"):
                return False
            if row.state == "pending":
                now = time.time()
                conn.execute(runs.update().where(runs.c.run_id == run_id)
                             .values(state="stopped", end_time=now, stop_requested=True))
                conn.execute(task_runs.update().where(task_runs.c.run_id == run_id)
                             .values(state="did_not_run"))
            else:
                conn.execute(runs.update().where(runs.c.run_id == run_id)
                             .values(stop_requested=True))
            return True

    def stop_requested(self, run_id: int) -> bool:
        with self.read() as conn:
            return bool(conn.execute(
                sa.select(runs.c.stop_requested).where(runs.c.run_id == run_id)).scalar())

    def update_run(self, run_id: int, **values: Any) -> None:
        with self.write() as conn:
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(**values))

    def heartbeat(self, run_id: int, now: float | None = None) -> None:
        with self.write() as conn:
            conn.execute(runs.update().where(runs.c.run_id == run_id)
                         .values(heartbeat=round(now or time.time(), 6)))

    def try_mark_abandoned(self, run_id: int, state: str, error: str) -> bool:
        """``mark_abandoned`` for readers: one short attempt, never raising, so a read that
        finds a dead run never waits for (or fails on) the write lock."""
        try:
            self.mark_abandoned(run_id, state, error, wait=False)
            return True
        except StorageError:
            return False

    def mark_abandoned(self, run_id: int, state: str, error: str, *, wait: bool = True) -> None:
        """A run whose process died: it and its unfinished tasks end in ``state`` (only if it
        has not ended meanwhile)."""
        now = time.time()
        transaction = self.write() if wait else self.write(busy_seconds=0.2, retry=False)
        with transaction as conn:
            current = conn.execute(sa.select(runs.c.state).where(runs.c.run_id == run_id)
                                   ).scalar()
            if current not in ("pending", "running", "scheduled"):
                return
            conn.execute(runs.update().where(runs.c.run_id == run_id)
                         .values(state=state, end_time=now, error=error))
            conn.execute(task_runs.update().where(task_runs.c.run_id == run_id,
                                                  task_runs.c.state == "running")
                         .values(state=state, end_time=now, error=error))
            conn.execute(task_runs.update().where(task_runs.c.run_id == run_id,
                                                  task_runs.c.state == "pending")
                         .values(state="did_not_run"))

    def record_fire(self, workflow_id: int, scheduled_time: float) -> bool:
        """Remember that a schedule fired for this time; False if it already had."""
        try:
            with self.write() as conn:
                conn.execute(schedule_fires.insert().values(
                    workflow_id=workflow_id, scheduled_time=scheduled_time))
            return True
        except sa.exc.IntegrityError:
            return False

    def last_fire(self, workflow_id: int) -> float | None:
        with self.read() as conn:
            return conn.execute(
                sa.select(sa.func.max(schedule_fires.c.scheduled_time))
                .where(schedule_fires.c.workflow_id == workflow_id)).scalar()

    def set_fire_run(self, workflow_id: int, scheduled_time: float, run_id: int) -> None:
        with self.write() as conn:
            conn.execute(schedule_fires.update().where(
                schedule_fires.c.workflow_id == workflow_id,
                schedule_fires.c.scheduled_time == scheduled_time).values(run_id=run_id))

    def runs_finished_before(self, workflow_id: int, before: float) -> list[int]:
        with self.read() as conn:
            return [r[0] for r in conn.execute(
                sa.select(runs.c.run_id).where(runs.c.workflow_id == workflow_id,
                                               runs.c.end_time.is_not(None),
                                               runs.c.end_time < before)).all()]

    def expire_task_results(self, run_ids: Sequence[int]) -> None:
        """The results of these runs are gone: their tasks, and the tasks of later reruns
        that reused those results, are ``expired``."""
        with self.write() as conn:
            for chunk in _chunks(list(run_ids), 500):
                conn.execute(task_runs.update().where(
                    sa.or_(task_runs.c.run_id.in_(chunk), task_runs.c.result_run_id.in_(chunk)),
                    task_runs.c.state == "completed").values(state="expired"))
                conn.execute(task_results.delete().where(task_results.c.run_id.in_(chunk)))

    # -- key-value store ------------------------------------------------------------------
    def kv_put(self, environment: str, key: str, value: str, acl: Any = None) -> None:
        now = time.time()
        with self.write() as conn:
            updated = conn.execute(kv.update().where(kv.c.environment == environment,
                                                     kv.c.key == key)
                                   .values(value=value, updated_at=now,
                                           acl=json.dumps(acl) if acl is not None else None))
            if updated.rowcount == 0:
                conn.execute(kv.insert().values(
                    environment=environment, key=key, value=value, created_at=now,
                    updated_at=now, acl=json.dumps(acl) if acl is not None else None))

    def kv_get(self, environment: str, key: str) -> dict | None:
        with self.read() as conn:
            row = conn.execute(sa.select(kv).where(kv.c.environment == environment,
                                                   kv.c.key == key)).first()
        return _kv(row) if row else None

    def kv_list(self, environment: str, prefix: str = "") -> list[dict]:
        query = sa.select(kv).where(kv.c.environment == environment)
        if prefix:
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(kv.c.key.like(f"{escaped}%", escape="\\"))
        with self.read() as conn:
            return [_kv(r) for r in conn.execute(query.order_by(kv.c.key)).all()]

    def kv_delete(self, environment: str, key: str) -> bool:
        with self.write() as conn:
            return conn.execute(kv.delete().where(kv.c.environment == environment,
                                                  kv.c.key == key)).rowcount == 1

    # -- recording run events -------------------------------------------------------------
    def workflow_overview(self, environment: str, since: float,
                          recent: int = 10) -> list[dict]:
        """What an environment overview (``list_workflows``, ``dt job ls``) reads, in three
        queries instead of three per workflow: every workflow of ``environment`` that has a
        version and is not removed, by slug, with ``version`` (its newest version that is not
        removed: ``job_version``, ``task_count``,
        ``schedule``), ``recent_runs`` (its newest ``recent`` runs, as ``list_runs(limit=
        recent)`` gives them) and ``started_since`` (the start times of its runs started at or
        after ``since``, as ``runs_started_since``). Read-only; one read transaction."""
        newest = (sa.select(versions.c.workflow_id,
                            sa.func.max(versions.c.job_version).label("job_version"))
                  .where(versions.c.removed_at.is_(None))
                  .group_by(versions.c.workflow_id).subquery())
        query = (
            sa.select(workflows, versions.c.job_version, versions.c.task_count,
                      versions.c.schedule)
            .join(newest, newest.c.workflow_id == workflows.c.workflow_id)
            .join(versions, sa.and_(versions.c.workflow_id == newest.c.workflow_id,
                                    versions.c.job_version == newest.c.job_version))
            .where(workflows.c.environment == environment, workflows.c.removed_at.is_(None))
            .order_by(workflows.c.slug)
        )
        since_query = (
            sa.select(runs.c.workflow_id, runs.c.start_time)
            .join(workflows, workflows.c.workflow_id == runs.c.workflow_id)
            .where(workflows.c.environment == environment, workflows.c.removed_at.is_(None),
                   runs.c.start_time >= since)
        )
        with self.read() as conn:
            rows = conn.execute(query).all()
            by_id: dict[int, list[dict]] = {}
            if recent > 0:
                # Per workflow, the runs from its recent-th newest run_id up, by the (workflow_id,
                # run_id) index: CROSS JOIN keeps SQLite's planner from scanning every run
                # (a window over all runs is 30x slower at 100,000 runs). Portable SQL.
                q = conn.dialect.identifier_preparer.quote
                columns = ", ".join(f"r.{q(c.name)}" for c in RUN_COLUMNS)
                recent_sql = sa.text(
                    f"SELECT {columns} FROM workflows AS w CROSS JOIN runs AS r "
                    f"WHERE w.environment = :environment AND w.removed_at IS NULL "
                    f"AND r.workflow_id = w.workflow_id "
                    f"AND r.run_id >= coalesce((SELECT n.run_id FROM runs AS n "
                    f"WHERE n.workflow_id = w.workflow_id ORDER BY n.run_id DESC "
                    f"LIMIT 1 OFFSET :skip), 0) ORDER BY r.workflow_id, r.run_id DESC"
                ).columns(*RUN_COLUMNS)  # typed: values convert exactly as list_runs' do
                for r in conn.execute(recent_sql, {"environment": environment,
                                                   "skip": recent - 1}).all():
                    by_id.setdefault(r.workflow_id, []).append(_row(r))
            starts: dict[int, list[float]] = {}
            for workflow_id, start_time in conn.execute(since_query).all():
                starts.setdefault(workflow_id, []).append(start_time)
        out = []
        version_keys = ("job_version", "task_count", "schedule")
        for r in rows:
            d = _row(r)
            version = {k: d.pop(k) for k in version_keys}
            version["schedule"] = json.loads(version["schedule"]) if version["schedule"] else None
            d.update(version=version, recent_runs=by_id.get(d["workflow_id"], []),
                     started_since=starts.get(d["workflow_id"], []))
            out.append(d)
        return out

    def apply(self, conn: sa.Connection, statements: list[tuple[str, dict]]) -> None:
        """Execute recorder statements in the caller's transaction (``store.sql.apply``)."""
        sql.apply(_Driver(conn), statements)


def _kv(row: Any) -> dict:
    d = _row(row)
    d["acl"] = json.loads(d["acl"]) if d.get("acl") else None
    return d


def _version(row: Any) -> dict:
    d = _row(row)
    d["definition"] = json.loads(d["definition"])
    d["schedule"] = json.loads(d["schedule"]) if d.get("schedule") else None
    return d


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _server_url(url: str) -> sa.URL:
    """``postgresql://`` means psycopg 3 to SQLAlchemy 2.1; use psycopg2 when that is what is
    installed (the ``postgres`` extra), so the URL users write works either way."""
    parsed = sa.make_url(url)
    if parsed.drivername.startswith("postgresql"):
        import importlib.util

        has3, has2 = (importlib.util.find_spec(m) is not None for m in ("psycopg", "psycopg2"))
        if not (has3 or has2):
            raise StorageError(
                f"DATATAILR_DB_URL={parsed.render_as_string()!r} needs a PostgreSQL driver: "
                f"pip install 'datatailr-local-first[postgres]'.")
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg" if has3 else "postgresql+psycopg2")
    return parsed


#: pg_advisory_xact_lock key of datatailr's write lock (any constant; "dtlr" in ASCII)
PG_WRITE_LOCK = 0x64746C72


def _postgres_write_lock(engine: sa.Engine) -> None:
    @event.listens_for(engine, "begin")
    def on_begin(conn):
        if conn.get_execution_options().get("datatailr_write"):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")


def _sqlite_pragmas(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        options = conn.get_execution_options()
        if options.get("datatailr_write"):
            # Every write says how long it may wait for the lock (connections are pooled).
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(options.get('datatailr_busy_ms', 60000))}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _prepare_sqlite_file(path: str) -> None:
    """A new database file is made private (0600) before SQLite opens it (its -wal and -shm
    files take the same mode); an existing one must be a database: a zero-length file is an
    error, never silently made a fresh store."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it first: fine
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    if not stat.S_ISREG(info.st_mode):
        raise StorageError(f"The metadata database {path} is not a file.")
    if info.st_size == 0 and not _recently_made(info):
        raise StorageError(
            f"The metadata database {path} is empty (0 bytes), so its history is lost or it "
            f"is not a datatailr database. Restore it from a backup, or move it away to start "
            f"a new store."
        )
    with open(path, "rb") as f:
        head = f.read(16)
    if head and head != b"SQLite format 3\x00":
        raise StorageError(
            f"{path} is not an SQLite database (it starts with {head[:8]!r}): point "
            f"DATATAILR_DB_URL elsewhere or move the file away."
        )


def _recently_made(info: os.stat_result) -> bool:
    # A file another process made a moment ago and is about to initialise.
    return time.time() - info.st_mtime < 5.0


def _add_missing_columns(conn: sa.Connection) -> None:
    from sqlalchemy.schema import CreateColumn

    inspector = sa.inspect(conn)
    for table in md.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                ddl = CreateColumn(column).compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")


def _rebuild_sqlite_table(conn: sa.Connection, table: sa.Table) -> None:
    """SQLite's documented table rebuild (foreign keys are off, see migrate): to give an
    existing table AUTOINCREMENT, which only CREATE TABLE can."""
    from sqlalchemy.schema import CreateTable

    new = f"{table.name}_v2"
    ddl = str(CreateTable(table).compile(dialect=conn.dialect)).replace(
        f"CREATE TABLE {table.name} ", f"CREATE TABLE {new} ", 1)
    conn.exec_driver_sql(ddl)
    columns = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.columns)
    conn.exec_driver_sql(f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {table.name}")
    conn.exec_driver_sql(f"DROP TABLE {table.name}")
    conn.exec_driver_sql(f"ALTER TABLE {new} RENAME TO {table.name}")
    for index in table.indexes:
        index.create(conn, checkfirst=True)


def _migrate_1_to_2(conn: sa.Connection) -> None:
    """Jobs have types; runs heartbeats, queues, users and URLs; task runs where they ran and
    what they used; ids are never reused. An old store keeps its storage layout (store id '')."""
    _add_missing_columns(conn)
    if conn.dialect.name == "sqlite":
        for table in (workflows, runs):
            _rebuild_sqlite_table(conn, table)
    conn.execute(meta_table.insert().values(key="store_id", value=""))


def _migrate_3_to_4(conn: sa.Connection) -> None:
    """The registry of agents (a new table, made by create_all) and an index on a run's
    ``rerun_of``, so the reruns of any run are found at once."""
    for index in runs.indexes:
        index.create(conn, checkfirst=True)


def _migrate_4_to_5(conn: sa.Connection) -> None:
    """Small results kept in the store: the ``task_results`` table, made by create_all.
    Every result stored before stays where it is, in storage."""


MIGRATIONS: dict[int, Any] = {
    # schema_version N -> N+1: a function of a connection in the migrating transaction
    1: _migrate_1_to_2,
    2: _add_missing_columns,  # removed_at on workflows and versions (soft removal)
    3: _migrate_3_to_4,
    4: _migrate_4_to_5,
}

_STORES: dict[tuple[int, str], MetadataStore] = {}


def open_metadata(url: str) -> MetadataStore:
    """The process's store for ``url`` (a forked child gets its own connections)."""
    key = (os.getpid(), url)
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = MetadataStore(url)
    return store


