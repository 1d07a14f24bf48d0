"""The metadata store on a real SQLite file: schema, versions, concurrency."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from datatailr.errors import StorageError
from datatailr.store.metadata import SCHEMA_VERSION, MetadataStore


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'meta.db'}"


def test_a_new_database_gets_the_schema_in_wal_mode(url, tmp_path):
    store = MetadataStore(url)
    assert store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(tmp_path / "meta.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"meta", "workflows", "versions", "runs", "task_runs", "task_results",
                      "schedule_fires", "kv", "agents", "sqlite_sequence"}


def test_a_newer_schema_is_refused_with_advice(url, tmp_path):
    MetadataStore(url).dispose()
    with sqlite3.connect(tmp_path / "meta.db") as raw:
        raw.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StorageError, match="schema version 99, newer than this datatailr"):
        MetadataStore(url)


def test_an_older_schema_is_migrated(url, tmp_path, monkeypatch):
    from datatailr.store import metadata

    MetadataStore(url).dispose()
    with sqlite3.connect(tmp_path / "meta.db") as raw:
        raw.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION - 1),))
    ran = []
    monkeypatch.setitem(metadata.MIGRATIONS, SCHEMA_VERSION - 1,
                        lambda conn: ran.append(conn.exec_driver_sql("SELECT 1").scalar()))
    assert MetadataStore(url).schema_version() == SCHEMA_VERSION
    assert ran == [1]


def _writer(url, slug, n, queue):
    try:
        store = MetadataStore(url)
        with store.write() as conn:
            wid = store.ensure_workflow(conn, slug, "dev", slug)
        for _ in range(n):
            run_id = store.create_run(workflow_id=wid, job_version=1, trigger="local",
                                      task_names=["a", "b"])
            store.update_run(run_id, state="completed")
            store.list_runs(wid, limit=5)
        queue.put(("ok", slug))
    except Exception as exc:  # reported to the test, whatever it is
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def test_several_processes_write_at_once_without_locking_errors(url):
    MetadataStore(url).dispose()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, f"wf{i}", 40, queue)) for i in range(4)]
    for p in procs:
        p.start()
    results = sorted(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join()
    assert results == [("ok", "wf0"), ("ok", "wf1"), ("ok", "wf2"), ("ok", "wf3")]
    store = MetadataStore(url)
    counts = [store.count_runs(w["workflow_id"]) for w in store.list_workflows("dev")]
    assert counts == [40, 40, 40, 40]


def test_a_pending_run_is_claimed_once(url):
    store = MetadataStore(url)
    with store.write() as conn:
        wid = store.ensure_workflow(conn, "w", "dev", "w")
    run_id = store.create_run(workflow_id=wid, job_version=1, trigger="deploy", task_names=["a"])
    assert [store.claim_run(run_id, f"agent{i}") for i in range(3)] == [True, False, False]
    assert store.pending_runs() == []


def test_a_schedule_fires_once_per_due_time(url):
    store = MetadataStore(url)
    assert [store.record_fire(1, 60.0), store.record_fire(1, 60.0), store.record_fire(1, 120.0)
            ] == [True, False, True]
    assert store.last_fire(1) == 120.0


def test_a_version_3_store_gets_the_agents_registry_and_the_rerun_index(url, tmp_path):
    store = MetadataStore(url)
    with store.write() as conn:
        wid = store.ensure_workflow(conn, "kept", "dev", "kept")
    first = store.create_run(workflow_id=wid, job_version=1, trigger="local", task_names=["a"])
    store.dispose()
    with sqlite3.connect(tmp_path / "meta.db") as raw:  # as a round-2 (version 3) store was
        raw.execute("DROP TABLE agents")
        raw.execute("DROP INDEX ix_runs_rerun_of")
        raw.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    store = MetadataStore(url)
    assert (store.schema_version(), [r["run_id"] for r in store.list_runs(wid)]) == (
        SCHEMA_VERSION, [first])
    with sqlite3.connect(tmp_path / "meta.db") as raw:
        indexes = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "ix_runs_rerun_of" in indexes
    store.register_agent("h:1", host="h", pid=1, home="/h", queues=["default"], now=10.0)
    assert store.list_agents() == [{"agent_id": "h:1", "host": "h", "pid": 1, "home": "/h",
                                    "queues": ["default"], "started_at": 10.0,
                                    "heartbeat": 10.0}]


def test_a_version_4_store_gets_the_table_of_small_results(url, tmp_path):
    store = MetadataStore(url)
    with store.write() as conn:
        wid = store.ensure_workflow(conn, "kept", "dev", "kept")
    first = store.create_run(workflow_id=wid, job_version=1, trigger="local", task_names=["a"])
    store.dispose()
    with sqlite3.connect(tmp_path / "meta.db") as raw:  # as a session-3 (version 4) store was
        raw.execute("DROP TABLE task_results")
        raw.execute("UPDATE meta SET value='4' WHERE key='schema_version'")
    store = MetadataStore(url)
    assert (store.schema_version(), [r["run_id"] for r in store.list_runs(wid)],
            store.inline_result(first, 0)) == (SCHEMA_VERSION, [first], None)


def test_small_results_are_written_with_their_rows_and_go_with_their_runs(url):
    store = MetadataStore(url)
    with store.write() as conn:
        wid = store.ensure_workflow(conn, "flow", "dev", "flow")
    runs = [store.create_run(workflow_id=wid, job_version=1, trigger="local",
                             task_names=["a", "b"]) for _ in range(3)]
    done = [("task", {"b_run_id": r, "b_task_id": 0, "state": "completed", "result_run_id": r,
                      "result_task_id": 0}) for r in runs]
    kept = [("result", {"run_id": r, "task_id": 0, "value": f"v{r}".encode()}) for r in runs]
    for _ in range(2):  # a batch written again after a failed commit changes nothing
        with store.write() as conn:
            store.apply(conn, [*done, *kept])
    assert [(t["state"], store.inline_result(r, 0), store.inline_result(r, 1))
            for r in runs for t in store.task_runs(r)[:1]] == [
        ("completed", f"v{r}".encode(), None) for r in runs]
    assert store.inline_results([(runs[0], 0), (runs[0], 1), (runs[1], 0), (99, 0)]) == {
        (runs[0], 0): f"v{runs[0]}".encode(), (runs[1], 0): f"v{runs[1]}".encode()}
    store.expire_task_results([runs[0]])
    assert (store.task_runs(runs[0])[0]["state"], store.inline_result(runs[0], 0),
            store.inline_result(runs[1], 0)) == ("expired", None, f"v{runs[1]}".encode())
    store.remove_workflow(wid)
    assert store.inline_results([(r, 0) for r in runs]) == {}
