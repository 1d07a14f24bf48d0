"""The metadata store: workflows, versions, runs and task runs in SQL (SQLite or PostgreSQL).

Owns the schema, its version and migrations, and every query the platform makes. Rows go in
and plain dicts come out (times as POSIX seconds); the composition layer turns them into the
public API's shapes. Must not know about tasks' code or results: those are blobs elsewhere.

SQLite runs in WAL mode with a busy timeout, and every write transaction is ``BEGIN
IMMEDIATE`` so that concurrent writers (a notebook, a script, the agent, the CLI) queue for the
lock instead of failing with "database is locked" on a read-to-write upgrade. PostgreSQL gets
the same discipline from a transaction-scoped advisory lock taken first by every write
transaction: read-then-write sequences (next job_version, ensure_workflow, migrations run by
several processes at once) never interleave, on one machine or many.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from datatailr.errors import StorageError

SCHEMA_VERSION = 1

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
    sa.UniqueConstraint("slug", "environment", name="uq_workflow_slug_env"),
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
    sa.Index("ix_runs_workflow_start", "workflow_id", "start_time"),
    sa.Index("ix_runs_workflow_run", "workflow_id", "run_id"),
    sa.Index("ix_runs_state", "state"),
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
)

schedule_fires = sa.Table(
    "schedule_fires", md,
    sa.Column("workflow_id", sa.Integer, primary_key=True),
    sa.Column("scheduled_time", sa.Float, primary_key=True),
    sa.Column("run_id", sa.Integer),
)

RUN_COLUMNS = [c for c in runs.c if c.name not in ("options",)]


def _row(row: Any) -> dict:
    return dict(row._mapping)


class MetadataStore:
    """All SQL of the platform. One instance per process and URL is enough (see ``open``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        try:
            if self.is_sqlite:
                path = url.split("///", 1)[1] if "///" in url else ""
                if path and path != ":memory:":
                    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
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
            self.migrate()
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"Cannot open the metadata database {url!r}: {exc}") from exc

    # -- connections ----------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with self._writer.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------
    def migrate(self) -> None:
        """Create the schema, or bring an older one up to SCHEMA_VERSION."""
        with self.write() as conn:
            md.create_all(conn)
            current = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar()
            if current is None:
                conn.execute(meta_table.insert().values(key="schema_version",
                                                        value=str(SCHEMA_VERSION)))
                return
            found = int(current)
            if found > SCHEMA_VERSION:
                raise StorageError(
                    f"The database {self.url!r} has schema version {found}, newer than this "
                    f"datatailr understands ({SCHEMA_VERSION}): upgrade datatailr."
                )
            for step in range(found, SCHEMA_VERSION):
                MIGRATIONS[step](conn)
            conn.execute(meta_table.update().where(meta_table.c.key == "schema_version")
                         .values(value=str(SCHEMA_VERSION)))

    def schema_version(self) -> int:
        with self.read() as conn:
            return int(conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar_one())

    # -- workflows and versions -----------------------------------------------------------
    def ensure_workflow(self, conn: sa.Connection, slug: str, environment: str, name: str) -> int:
        found = conn.execute(
            sa.select(workflows.c.workflow_id, workflows.c.name)
            .where(workflows.c.slug == slug, workflows.c.environment == environment)
        ).first()
        if found is not None:
            if found.name != name:
                conn.execute(workflows.update().where(workflows.c.workflow_id == found.workflow_id)
                             .values(name=name))
            return int(found.workflow_id)
        key = conn.execute(workflows.insert().values(
            slug=slug, environment=environment, name=name, created_at=time.time()
        )).inserted_primary_key
        assert key is not None
        return int(key[0])

    def find_workflow(self, key: str, environment: str) -> dict | None:
        """By slug or display name (the caller slugifies)."""
        with self.read() as conn:
            row = conn.execute(
                sa.select(workflows).where(workflows.c.slug == key,
                                           workflows.c.environment == environment)
            ).first()
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
                sa.select(workflows).where(workflows.c.environment == environment)
                .order_by(workflows.c.slug)
            ).all()
            return [_row(r) for r in rows]

    def all_slugs(self, environment: str) -> list[str]:
        return [w["slug"] for w in self.list_workflows(environment)]

    def add_version(self, conn: sa.Connection, workflow_id: int, *, definition: dict,
                    source: str, code_key_for: Any, code_hash: str, schedule: dict | None,
                    task_count: int) -> int:
        """A new immutable version; ``code_key_for(job_version)`` names its code blob."""
        latest = conn.execute(
            sa.select(sa.func.max(versions.c.job_version))
            .where(versions.c.workflow_id == workflow_id)
        ).scalar()
        job_version = int(latest or 0) + 1
        conn.execute(versions.insert().values(
            workflow_id=workflow_id, job_version=job_version, created_at=time.time(),
            definition=json.dumps(definition), source=source,
            code_key=code_key_for(job_version), code_hash=code_hash,
            schedule=json.dumps(schedule) if schedule else None, task_count=task_count,
        ))
        return job_version

    def latest_version(self, workflow_id: int, conn: sa.Connection | None = None) -> dict | None:
        query = (sa.select(versions).where(versions.c.workflow_id == workflow_id)
                 .order_by(versions.c.job_version.desc()).limit(1))
        with contextlib.ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self.read())
            row = conn.execute(query).first()
            return _version(row) if row else None

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
                          versions.c.schedule, versions.c.code_hash)
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
                  .group_by(versions.c.workflow_id).subquery())
        query = (sa.select(versions, workflows.c.slug, workflows.c.environment,
                           workflows.c.name, workflows.c.created_at.label("workflow_created_at"))
                 .join(latest, sa.and_(versions.c.workflow_id == latest.c.workflow_id,
                                       versions.c.job_version == latest.c.job_version))
                 .join(workflows, workflows.c.workflow_id == versions.c.workflow_id)
                 .where(versions.c.schedule.is_not(None)))
        with self.read() as conn:
            return [_version(r) for r in conn.execute(query).all()]

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
                   conn: sa.Connection | None = None) -> int:
        with contextlib.ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self.write())
            key = conn.execute(runs.insert().values(
                workflow_id=workflow_id, job_version=job_version, state=state,
                created_at=round(time.time(), 6), original_run_id=original_run_id,
                rerun_of=rerun_of, full=full, trigger=trigger, scheduled_time=scheduled_time,
                stop_requested=False, options=json.dumps(options or {}),
                claimed_by=claimed_by,
            )).inserted_primary_key
            assert key is not None
            run_id = int(key[0])
            if task_names:
                conn.execute(task_runs.insert(), [
                    {"run_id": run_id, "task_id": i, "name": n, "state": "pending", "attempts": 0}
                    for i, n in enumerate(task_names)
                ])
            return run_id

    def claim_run(self, run_id: int, owner: str) -> bool:
        """Atomically take a pending run for execution; False when someone else has it."""
        with self.write() as conn:
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

    def pending_runs(self) -> list[dict]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(*RUN_COLUMNS).where(runs.c.state == "pending",
                                              runs.c.claimed_by.is_(None))
                .order_by(runs.c.run_id)
            ).all()
            return [_row(r) for r in rows]

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
                  offset: int = 0) -> list[dict]:
        query = sa.select(*RUN_COLUMNS).where(*self._run_filters(workflow_id, start, end, state))
        query = query.order_by(runs.c.run_id.desc()).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.read() as conn:
            return [_row(r) for r in conn.execute(query).all()]

    def count_runs(self, workflow_id: int, *, start: float | None = None,
                   end: float | None = None, state: str | Sequence[str] | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(runs).where(
            *self._run_filters(workflow_id, start, end, state))
        with self.read() as conn:
            return int(conn.execute(query).scalar_one())

    @staticmethod
    def _run_filters(workflow_id: int, start: float | None, end: float | None,
                     state: str | Sequence[str] | None) -> list:
        filters: list = [runs.c.workflow_id == workflow_id]
        if start is not None:
            filters.append(runs.c.start_time >= start)
        if end is not None:
            filters.append(runs.c.start_time <= end)
        if isinstance(state, str):
            filters.append(runs.c.state == state)
        elif state:
            filters.append(runs.c.state.in_(list(state)))
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

    def mark_abandoned(self, run_id: int, state: str, error: str) -> None:
        """A run whose process died: it and its unfinished tasks end in ``state``."""
        now = time.time()
        with self.write() as conn:
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
        with self.write() as conn:
            for chunk in _chunks(list(run_ids), 500):
                conn.execute(task_runs.update().where(task_runs.c.run_id.in_(chunk),
                                                      task_runs.c.state == "completed")
                             .values(state="expired"))

    # -- recording run events -------------------------------------------------------------
    def apply(self, conn: sa.Connection, statements: list[tuple[str, dict]]) -> None:
        """Execute recorder statements: ("run", values) or ("task", values) updates."""
        task_updates: dict[tuple, list[dict]] = {}
        for kind, values in statements:
            if kind == "run":
                run_id = values.pop("run_id")
                conn.execute(runs.update().where(runs.c.run_id == run_id).values(**values))
            else:
                key = tuple(sorted(k for k in values if k not in ("b_run_id", "b_task_id")))
                task_updates.setdefault(key, []).append(values)
        for key, rows in task_updates.items():
            # The hot path of every run (two rows a task): plain SQL in the driver's parameter
            # style, executemany'd, skips SQLAlchemy's per-row parameter processing.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            sql = (f"UPDATE task_runs SET {', '.join(f'{k} = {mark}' for k in key)} "
                   f"WHERE run_id = {mark} AND task_id = {mark}")
            conn.exec_driver_sql(sql, [tuple(r[k] for k in key) + (r["b_run_id"], r["b_task_id"])
                                       for r in rows])


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
    if parsed.drivername == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            parsed = parsed.set(drivername="postgresql+psycopg2")
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
        if conn.get_execution_options().get("datatailr_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


MIGRATIONS: dict[int, Any] = {
    # schema_version N -> N+1: a function of a connection, e.g.
    # 1: lambda conn: conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN ..."),
}

_STORES: dict[tuple[int, str], MetadataStore] = {}


def open_metadata(url: str) -> MetadataStore:
    """The process's store for ``url`` (a forked child gets its own connections)."""
    key = (os.getpid(), url)
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = MetadataStore(url)
    return store


def owner_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
