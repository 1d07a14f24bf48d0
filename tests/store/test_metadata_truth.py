"""The metadata store tells the truth: identities, never-reused ids, files that are not ours,
readers that never wait for writers, migrations from a real older store."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from datatailr.errors import InvalidArgumentError, StorageError, StoreUnavailableError
from datatailr.store.metadata import SCHEMA_VERSION, MetadataStore


@pytest.fixture
def db(tmp_path):
    return tmp_path / "meta.db"


def _workflow(store, slug, name, env="dev"):
    with store.write() as conn:
        return store.ensure_workflow(conn, slug, env, name)


def test_two_names_with_one_slug_are_refused_and_the_first_keeps_its_identity(db):
    store = MetadataStore(f"sqlite:///{db}")
    first = _workflow(store, "report-2024", "Report 2024")
    with pytest.raises(InvalidArgumentError) as err:
        _workflow(store, "report-2024", "report/2024")
    assert str(err.value) == ("'report/2024' would share the slug 'report-2024' with "
                              "'Report 2024' in dev: rename one (or use the name 'Report 2024').")
    assert _workflow(store, "report-2024", "Report 2024") == first
    assert _workflow(store, "report-2024", "report/2024", env="prod") != first  # another env


def test_a_job_of_another_type_cannot_take_a_workflows_name(db):
    store = MetadataStore(f"sqlite:///{db}")
    _workflow(store, "pricer", "pricer")
    with store.write() as conn, pytest.raises(InvalidArgumentError,
                                              match="'pricer' is a workflow in dev, not a service"):
        store.ensure_workflow(conn, "pricer", "dev", "pricer", job_type="service")


def test_run_ids_are_never_reused_after_removal(db):
    store = MetadataStore(f"sqlite:///{db}")
    wid = _workflow(store, "a", "a")
    ids = [store.create_run(workflow_id=wid, job_version=1, trigger="local", task_names=["t"])
           for _ in range(3)]
    store.remove_workflow(wid)
    wid2 = _workflow(store, "a", "a")
    assert wid2 > wid
    assert store.create_run(workflow_id=wid2, job_version=1, trigger="local",
                            task_names=["t"]) == ids[-1] + 1


def test_a_recreated_database_gets_another_store_id(db):
    first = MetadataStore(f"sqlite:///{db}")
    old_id = first.store_id
    first.dispose()
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    second = MetadataStore(f"sqlite:///{db}")
    assert len(old_id) == len(second.store_id) == 12 and second.store_id != old_id


def test_an_empty_database_file_is_an_error_not_a_fresh_store(db):
    import os

    db.write_bytes(b"")
    os.utime(db, (time.time() - 60, time.time() - 60))
    with pytest.raises(StorageError) as err:
        MetadataStore(f"sqlite:///{db}")
    assert str(err.value) == (
        f"The metadata database {db} is empty (0 bytes), so its history is lost or it is not a "
        f"datatailr database. Restore it from a backup, or move it away to start a new store.")
    assert db.read_bytes() == b""  # untouched


def test_a_foreign_file_or_database_is_refused(db, tmp_path):
    import sqlite3

    db.write_text("hello, I am a text file\n")
    with pytest.raises(StorageError, match=r"is not an SQLite database \(it starts with b'hello, I'\)"):
        MetadataStore(f"sqlite:///{db}")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StorageError, match=r"holds tables of something else \(invoices\)"):
        MetadataStore(f"sqlite:///{other}")
    with sqlite3.connect(other) as raw:
        assert [r[0] for r in raw.execute("SELECT name FROM sqlite_master")] == ["invoices"]


def test_a_new_database_file_is_private_whatever_the_umask(db):
    import os
    import stat

    old = os.umask(0o022)
    try:
        store = MetadataStore(f"sqlite:///{db}")
        with store.write() as conn:
            store.ensure_workflow(conn, "a", "dev", "a")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in db.parent.iterdir()}
    assert modes == {"meta.db": 0o600, "meta.db-wal": 0o600, "meta.db-shm": 0o600}


def _hold_write_lock(path, seconds):
    code = ("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(float(sys.argv[2]))")
    holder = subprocess.Popen([sys.executable, "-c", code, str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def test_opening_and_reading_never_wait_for_a_writer(db):
    store = MetadataStore(f"sqlite:///{db}")
    wid = _workflow(store, "a", "a")
    run_id = store.create_run(workflow_id=wid, job_version=1, trigger="local", task_names=["t"])
    store.dispose()
    holder = _hold_write_lock(db, 30)
    try:
        t0 = time.monotonic()
        reopened = MetadataStore(f"sqlite:///{db}")
        rows = reopened.list_runs(wid)
        elapsed = time.monotonic() - t0
        # A reader queued behind the writer would wait the whole 30 s.
        assert ([r["run_id"] for r in rows], elapsed < 20) == ([run_id], True)
        with pytest.raises(StoreUnavailableError) as err:
            with reopened.write(busy_seconds=0.1, retry=False):
                pass
        assert str(err.value).startswith(f"the metadata database {db} is locked: another "
                                         f"process held its write lock past the busy timeout")
    finally:
        holder.kill()
        holder.wait()


def test_a_round_1_store_is_migrated_in_place_keeping_its_history_and_layout(db, tmp_path):
    from tests.store import schema_v1

    schema_v1.make_store(db, runs=3)
    store = MetadataStore(f"sqlite:///{db}")
    assert (store.schema_version(), store.store_id) == (SCHEMA_VERSION, "")
    wf = store.find_workflow("old", "dev")
    assert wf is not None and wf["job_type"] == "workflow"
    runs = store.list_runs(wf["workflow_id"])
    assert [(r["run_id"], r["state"], r["queue"]) for r in runs] == [
        (3, "completed", "default"), (2, "completed", "default"), (1, "completed", "default")]
    assert [t["name"] for t in store.task_runs(1)] == ["a", "b"]
    store.remove_workflow(wf["workflow_id"])
    wid = _workflow(store, "new", "new")
    assert store.create_run(workflow_id=wid, job_version=1, trigger="local",
                            task_names=["t"]) == 4  # AUTOINCREMENT now: 1-3 are never reused


def test_kv_round_trip_per_environment(db):
    store = MetadataStore(f"sqlite:///{db}")
    store.kv_put("dev", "a/b", "1")
    store.kv_put("dev", "a_c", "2", acl={"read": ["alice"]})
    store.kv_put("prod", "a/b", "3")
    store.kv_put("dev", "a/b", "4")
    assert store.kv_get("dev", "a/b")["value"] == "4"
    assert [(r["key"], r["value"], r["acl"]) for r in store.kv_list("dev", prefix="a_")] == [
        ("a_c", "2", {"read": ["alice"]})]
    assert [r["key"] for r in store.kv_list("dev")] == ["a/b", "a_c"]
    assert (store.kv_delete("dev", "a/b"), store.kv_delete("dev", "a/b")) == (True, False)
    assert store.kv_get("dev", "a/b") is None and store.kv_get("prod", "a/b")["value"] == "3"


CRASH_MID_BATCH = """
import os, sys
from datatailr.store.metadata import MetadataStore

store = MetadataStore(sys.argv[1])
run_id = int(sys.argv[2])
batch = [("task", {"b_run_id": run_id, "b_task_id": 0, "state": "completed",
                   "result_run_id": run_id, "result_task_id": 0}),
         ("result", {"run_id": run_id, "task_id": 0, "value": b"the result"})]
with store.write() as conn:
    execute = conn.exec_driver_sql

    def then_die(sql, *args, **kwargs):
        out = execute(sql, *args, **kwargs)
        if sql.startswith("UPDATE task_runs"):
            os._exit(9)  # killed with the batch's statements run, before its commit
        return out

    conn.exec_driver_sql = then_die
    store.apply(conn, batch)
"""


def test_a_process_dying_mid_batch_leaves_no_row_ahead_of_its_result(db):
    url = f"sqlite:///{db}"
    store = MetadataStore(url)
    wid = _workflow(store, "flow", "flow")
    run_id = store.create_run(workflow_id=wid, job_version=1, trigger="local", task_names=["a"])
    done = subprocess.run([sys.executable, "-c", CRASH_MID_BATCH, url, str(run_id)])
    assert done.returncode == 9
    [row] = store.task_runs(run_id)
    assert (row["state"], row["result_run_id"], store.inline_result(run_id, 0)) == (
        "pending", None, None)
