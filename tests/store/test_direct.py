"""``DirectStore``: a local SQLite store through sqlite3 answers and writes exactly as
``MetadataStore`` does, hands the rest to it, and keeps SQLAlchemy out of a script's run."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from datatailr.errors import InvalidArgumentError, StoreUnavailableError
from datatailr.store.direct import DirectStore, open_direct
from datatailr.store.metadata import MetadataStore
from tests.store.test_fastread import read_calls, same_answers, seeded

ROOT = Path(__file__).resolve().parents[2]


def test_every_read_is_the_stores(tmp_path):
    url, meta, ids, run_ids, base = seeded(tmp_path)
    direct = DirectStore(url)
    assert direct.store_id == meta.store_id != ""
    same_answers(direct, meta, read_calls(ids, run_ids, base))
    # what it does not read itself, the full store answers (and the same one as here)
    assert direct.list_runs(ids["a-flow", "dev"], trigger="deploy") == \
        meta.list_runs(ids["a-flow", "dev"], trigger="deploy") != []
    assert direct.schema_version() == meta.schema_version()
    direct.dispose()
    meta.dispose()


def _writes(store):
    """One sequence of everything the hot path writes; returns what the calls returned."""
    out = []
    with store.write() as conn:
        wid = store.ensure_workflow(conn, "flow", "dev", "Flow")
        out.append(wid)
        out.append(store.ensure_workflow(conn, "flow", "dev", "Flow"))
        out.append(store.latest_version(wid, conn))
        for n in range(2):
            out.append(store.add_version(
                conn, wid, definition={"tasks": [{"id": 0, "name": "a"}], "n": n},
                source=f"# v{n}", code_key_for=lambda v: f"code/v{v}", code_hash=f"h{n}",
                schedule={"cron": "0 6 * * *"} if n else None, task_count=2))
        out.append({k: v for k, v in store.latest_version(wid, conn).items()
                    if k != "created_at"})
        svc = store.ensure_workflow(conn, "svc", "dev", "Svc", job_type="service")
    for name, job_type in (("FLOW", "workflow"), ("Svc", "workflow")):
        with pytest.raises(InvalidArgumentError) as err, store.write() as conn:
            store.ensure_workflow(conn, name.lower() if name == "FLOW" else "svc", "dev", name,
                                  job_type)
        out.append(str(err.value))
    first = store.create_run(workflow_id=wid, job_version=2, trigger="local",
                             task_names=["a", "b"], claimed_by="h:1")
    second = store.create_run(workflow_id=svc, job_version=1, trigger="rerun", task_names=[],
                              state="scheduled", original_run_id=first, rerun_of=first,
                              full=True, scheduled_time=1.5, options={"queue": "gpu"},
                              queue="gpu", user="ann")
    out += [first, second]
    with store.write() as conn:
        store.apply(conn, [
            ("run", {"run_id": first, "state": "running", "start_time": 10.5, "pid": 7,
                     "host": "h", "heartbeat": 10.5}),
            ("task", {"b_run_id": first, "b_task_id": 0, "state": "running",
                      "start_time": 11.0, "end_time": None, "attempts": 1, "error": None,
                      "result_run_id": None, "result_task_id": None, "pid": 8, "host": "h",
                      "worker": None, "peak_rss": None, "cpu_seconds": None}),
            ("task", {"b_run_id": first, "b_task_id": 0, "state": "completed",
                      "start_time": 11.0, "end_time": 12.0, "attempts": 1, "error": None,
                      "result_run_id": first, "result_task_id": 0, "pid": None, "host": None,
                      "worker": None, "peak_rss": 4096, "cpu_seconds": 0.25}),
            ("result", {"run_id": first, "task_id": 0, "value": b"\x80\x05K\x01."}),
            ("run", {"run_id": first, "state": "completed", "end_time": 13.0, "error": None}),
        ])
    return out


def _tables(path):
    """Every row of the store's tables, times of creation left out."""
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'meta' ORDER BY name")]
        out = {}
        for name in names:
            cursor = db.execute(f"SELECT * FROM {name} ORDER BY 1, 2")
            columns = [c[0] for c in cursor.description]
            out[name] = [{c: v for c, v in zip(columns, row) if c != "created_at"}
                         for row in cursor]
    return out


def test_every_write_makes_the_rows_the_full_store_makes(tmp_path):
    stores = {}
    for kind in ("full", "direct"):
        MetadataStore(f"sqlite:///{tmp_path / kind}.db").dispose()
        url = f"sqlite:///{tmp_path / kind}.db"
        stores[kind] = MetadataStore(url) if kind == "full" else DirectStore(url)
    answers = {kind: _writes(store) for kind, store in stores.items()}
    for store in stores.values():
        store.dispose()
    assert answers["direct"] == answers["full"]
    wid, again, before, v1, v2, latest, clash, kind, first, second = answers["full"]
    assert (again, before, v1, v2, latest["job_version"], latest["schedule"], clash, kind,
            second) == (
        wid, None, 1, 2, 2, {"cron": "0 6 * * *"},
        "'FLOW' would share the slug 'flow' with 'Flow' in dev: rename one (or use the name "
        "'Flow').",
        "'Svc' is a service in dev, not a workflow: give the workflow another name, or remove "
        "the service first.", first + 1)
    tables = {kind: _tables(tmp_path / f"{kind}.db") for kind in stores}
    assert tables["direct"] == tables["full"]
    assert [t["state"] for t in tables["full"]["task_runs"]] == ["completed", "pending"]


def test_a_store_it_cannot_serve_is_left_to_the_full_store(tmp_path):
    assert open_direct(f"sqlite:///{tmp_path / 'missing.db'}") is None
    assert not (tmp_path / "missing.db").exists()  # nothing made
    url = f"sqlite:///{tmp_path / 'old.db'}"
    MetadataStore(url).dispose()
    with sqlite3.connect(tmp_path / "old.db") as raw:
        raw.execute("UPDATE meta SET value='4' WHERE key='schema_version'")
    assert open_direct(url) is None  # the full store migrates it
    assert open_direct("postgresql://nobody@127.0.0.1/none") is None


def test_inside_its_write_transaction_nothing_reaches_the_full_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    MetadataStore(url).dispose()
    direct = DirectStore(url)
    with pytest.raises(RuntimeError, match="inside a write transaction of the direct store"), \
            direct.write():
        direct.list_agents()
    assert direct.list_agents() == []  # outside, it does
    direct.dispose()


def test_a_locked_store_fails_in_the_full_stores_words(tmp_path):
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    full = MetadataStore(url)
    direct = DirectStore(url)
    holder = sqlite3.connect(tmp_path / "meta.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        errors = []
        for store in (full, direct):
            with pytest.raises(StoreUnavailableError) as err, \
                    store.write(busy_seconds=0.1, retry=False):
                pass
            errors.append(str(err.value))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert errors[0] == errors[1] == (
        f"the metadata database {tmp_path / 'meta.db'} is locked: another process held its "
        f"write lock past the busy timeout (database is locked)")
    direct.dispose()
    full.dispose()


def test_another_thread_never_sees_a_write_before_its_commit(tmp_path):
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    MetadataStore(url).dispose()
    direct = DirectStore(url)
    seen = []
    with direct.write() as conn:
        wid = direct.ensure_workflow(conn, "flow", "dev", "Flow")
        reader = threading.Thread(target=lambda: seen.append(direct.workflow_by_id(wid)))
        reader.start()
        reader.join()
    assert (seen, direct.workflow_by_id(wid)["slug"]) == ([None], "flow")
    direct.dispose()


SCRIPT = textwrap.dedent("""
    import sys
    from datatailr import task, workflow

    @task()
    def one():
        return 1

    @task()
    def two(x):
        return x + 1

    @workflow(name="direct")
    def wf():
        two(one())

    run = wf(local_run=True, progress=False)
    print(run.state, run.result("two"), "sqlalchemy" in sys.modules)
""")


@pytest.mark.parametrize("fast", ["1", "0"])
def test_a_scripts_local_run_never_imports_sqlalchemy(tmp_path, fast):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "DATATAILR_HOME": str(tmp_path / "home"), "DATATAILR_FAST_READ": fast}
    outputs = [subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, check=True).stdout for _ in range(2)]
    # the first run makes the store (the full store's job); the next never needs SQLAlchemy
    assert outputs == ["completed 2 True\n", f"completed 2 {fast == '0'}\n"]


def test_the_full_store_never_opens_the_file_by_hand_under_a_direct_store(tmp_path,
                                                                          monkeypatch):
    from datatailr.store import metadata

    url = f"sqlite:///{tmp_path / 'meta.db'}"
    MetadataStore(url).dispose()
    direct = DirectStore(url)
    metadata._STORES.clear()

    def opened_by_hand(path):  # closing that descriptor would drop SQLite's locks
        raise AssertionError(f"{path} opened by hand")

    monkeypatch.setattr(metadata, "_prepare_sqlite_file", opened_by_hand)
    assert direct.list_agents() == []  # the full store, opened beside the direct one
    direct.dispose()
