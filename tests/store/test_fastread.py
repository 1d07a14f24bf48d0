"""``FastReader``: the read-only sqlite3 reader answers every read exactly as ``MetadataStore``
does (values and types), on a real store with runs in every state; it never writes, and what
it cannot do is ``NeedsFullStore``."""

from __future__ import annotations

import hashlib
import sqlite3
import time

import pytest
import sqlalchemy as sa

from datatailr.store import fastread, metadata
from datatailr.store.fastread import FastReader, NeedsFullStore
from datatailr.store.metadata import open_metadata

STATES = ("pending", "scheduled", "running", "completed", "failed", "failed_after", "stopped",
          "expired", "did_not_run", "unknown")


def test_the_schema_is_the_stores():
    assert fastread.SCHEMA_VERSION == metadata.SCHEMA_VERSION
    assert fastread.WORKFLOW_COLUMNS == tuple(c.name for c in metadata.workflows.c)
    assert fastread.VERSION_COLUMNS == tuple(c.name for c in metadata.versions.c)
    assert fastread.ALL_RUN_COLUMNS == tuple(c.name for c in metadata.runs.c)
    assert fastread.RUN_COLUMNS == tuple(c.name for c in metadata.RUN_COLUMNS)
    assert fastread.TASK_RUN_COLUMNS == tuple(c.name for c in metadata.task_runs.c)
    booleans = {c.name for t in (metadata.workflows, metadata.versions, metadata.runs,
                                 metadata.task_runs) for c in t.c if isinstance(c.type, sa.Boolean)}
    assert fastread.BOOLEAN_COLUMNS == booleans


def seeded(tmp_path):
    """Two environments, a removed workflow and a removed version, a version with a schedule,
    runs in every state with every column set somewhere, task runs with every column set."""
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    meta = open_metadata(url)
    with meta.write() as conn:
        ids = {(slug, env): meta.ensure_workflow(conn, slug, env, slug.title())
               for slug, env in [("b-flow", "dev"), ("a-flow", "dev"), ("gone", "dev"),
                                 ("a-flow", "prod"), ("no-version", "dev")]}
        ids["svc", "dev"] = meta.ensure_workflow(conn, "svc", "dev", "Svc", job_type="service")
    with meta.write() as conn:
        for (slug, _env), wid in ids.items():
            if slug == "no-version":
                continue
            for n in range(3 if slug == "b-flow" else 1):
                meta.add_version(conn, wid, definition={"tasks": [{"id": 0}], "n": n},
                                 source=f"# {slug} {n}", code_key_for=lambda v: f"code/v{v}",
                                 code_hash=f"h{n}", task_count=2 + n,
                                 schedule={"cron": "0 6 * * *"} if n == 1 else None)
    assert meta.set_removed(ids["gone", "dev"], None, True)
    assert meta.set_removed(ids["b-flow", "dev"], 3, True)
    base = 1_700_000_000.0
    run_ids = []
    for i in range(40):
        slug = ("b-flow", "a-flow", "gone", "svc")[i % 4]
        env = "dev"
        state = STATES[i % len(STATES)]
        run_id = meta.create_run(
            workflow_id=ids[slug, env], job_version=1 + i % 2, task_names=["fetch", "total"],
            trigger=("local", "deploy", "manual", "schedule", "rerun")[i % 5],
            original_run_id=run_ids[-1] if i % 7 == 3 else None,
            rerun_of=run_ids[-1] if i % 7 == 3 else None, full=i % 14 == 3,
            scheduled_time=base + i if i % 5 == 3 else None, options={"i": i, "url": "x"},
            claimed_by="agent:1" if i % 3 else None, queue="default" if i % 2 else "gpu",
            user="ann" if i % 2 else None)
        values = {"state": state}
        if state not in ("pending", "scheduled"):
            values.update(start_time=base + 3600 * i, pid=1000 + i, host="elsewhere")
        if state not in ("pending", "scheduled", "running"):
            values.update(end_time=base + 3600 * i + 1.25)
        if state == "running":
            values.update(heartbeat=time.time())
        if state in ("failed", "unknown"):
            values.update(error=f"boom {i}")
        if i % 9 == 0:
            values.update(stop_requested=True, url=f"http://127.0.0.1:{8000 + i}/")
        meta.update_run(run_id, **values)
        with meta.write() as conn:
            conn.execute(metadata.task_runs.update().where(
                metadata.task_runs.c.run_id == run_id, metadata.task_runs.c.task_id == 1).values(
                state="completed", start_time=base + i, end_time=base + i + 0.5, attempts=2,
                error=None, result_run_id=run_id, result_task_id=1, pid=7, host="h",
                worker="tcp://w:1", peak_rss=2**33 + i, cpu_seconds=0.25))
            if i % 2:
                conn.execute(metadata.task_results.insert().values(
                    run_id=run_id, task_id=1, value=f"pickle {i}".encode()))
        run_ids.append(run_id)
    meta.dispose()  # every connection closed: the WAL is checkpointed into the file
    return url, meta, ids, run_ids, base


def typed(value):
    """The value with the type of every scalar beside it (True == 1, 1.0 == 1 otherwise)."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def read_calls(ids, run_ids, base):
    """(method, args, kwargs) of every read the fast paths make, over ``seeded``'s store."""
    calls = [("find_workflow", (slug, env), {}) for slug, env in ids] + [
        ("find_workflow", ("gone", "dev"), {"include_removed": True}),
        ("find_workflow", ("nothing", "dev"), {}),
        ("list_workflows", ("dev",), {}), ("list_workflows", ("prod",), {}),
        ("list_workflows", ("pre",), {}), ("all_slugs", ("dev",), {}),
        ("workflow_by_id", (ids["gone", "dev"],), {}), ("workflow_by_id", (999,), {}),
        ("get_run", (999,), {}), ("task_runs", (999,), {}), ("task_run", (run_ids[0], 9), {}),
        ("stop_requested", (999,), {}),
    ]
    for wid in [*ids.values(), 999]:
        calls += [("latest_version", (wid,), {}), ("list_versions", (wid,), {}),
                  ("get_version", (wid, 1), {}), ("get_version", (wid, 3), {}),
                  ("runs_started_since", (wid, base + 3600 * 10), {})]
        for kwargs in [{}, {"limit": 3}, {"limit": 2, "offset": 3}, {"offset": 4},
                       {"limit": 0}, {"state": "failed"}, {"state": ["running", "unknown"]},
                       {"state": []}, {"start": base + 3600 * 5, "end": base + 3600 * 30},
                       {"start": base + 3600 * 12, "state": "completed", "limit": 1}]:
            calls.append(("list_runs", (wid,), kwargs))
            if "limit" not in kwargs and "offset" not in kwargs:
                calls.append(("count_runs", (wid,), kwargs))
    for run_id in run_ids:
        calls += [("get_run", (run_id,), {}), ("task_runs", (run_id,), {}),
                  ("task_run", (run_id, 0), {}), ("task_run", (run_id, 1), {}),
                  ("inline_result", (run_id, 0), {}), ("inline_result", (run_id, 1), {}),
                  ("stop_requested", (run_id,), {})]
    for env in ("dev", "prod", "pre"):
        for since, recent in [(base + 3600 * 10, 10), (0.0, 3), (base * 2, 1), (base, 0)]:
            calls.append(("workflow_overview", (env, since), {"recent": recent}))
    return calls


def same_answers(reader, meta, calls):
    for name, args, kwargs in calls:
        expected = getattr(meta, name)(*args, **kwargs)
        got = getattr(reader, name)(*args, **kwargs)
        if name == "workflow_overview":  # the start times of a workflow come in no order
            for entry in (*expected, *got):
                entry["started_since"].sort()
        assert typed(got) == typed(expected), (name, args, kwargs)


def test_every_read_is_the_stores(tmp_path):
    url, meta, ids, run_ids, base = seeded(tmp_path)
    reader = FastReader(url)
    assert reader.store_id == meta.store_id != ""
    calls = read_calls(ids, run_ids, base)
    same_answers(reader, meta, calls)
    # every read method of the reader was compared
    assert {name for name, _, _ in calls} == {
        name for name in vars(FastReader) if not name.startswith("_")
        and callable(getattr(FastReader, name))} - {"close", "try_mark_abandoned"}
    meta.dispose()
    reader.close()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_it_never_writes(tmp_path):
    url, meta, ids, run_ids, base = seeded(tmp_path)
    db = tmp_path / "meta.db"
    before = (digest(db), db.stat().st_mtime_ns)
    reader = FastReader(url)
    reader.workflow_overview("dev", 0.0)
    reader.list_runs(ids["a-flow", "dev"])
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader._db.execute("UPDATE runs SET state = 'completed'")
    running = next(r for r in run_ids if meta.get_run(r)["state"] == "running")
    with pytest.raises(NeedsFullStore, match=f"run {running} is to be marked unknown"):
        reader.try_mark_abandoned(running, "unknown", "gone")
    reader.close()
    meta.dispose()
    assert (digest(db), db.stat().st_mtime_ns) == before
    assert open_metadata(url).get_run(running)["state"] == "running"


def test_filters_it_does_not_make_are_for_the_full_store(tmp_path):
    url, _meta, ids, _run_ids, _base = seeded(tmp_path)
    reader = FastReader(url)
    wid = ids["a-flow", "dev"]
    # the filters the explorer adds to the store's run queries, when not given, change nothing
    assert reader.list_runs(wid, trigger=None, job_version=None, rerun_of=None) == \
        reader.list_runs(wid) != []
    assert reader.count_runs(wid, trigger=None, job_version=None) == reader.count_runs(wid)
    with pytest.raises(NeedsFullStore, match=r"run filters \['trigger'\]"):
        reader.list_runs(ids["a-flow", "dev"], trigger="local")
    with pytest.raises(NeedsFullStore, match=r"run filters \['job_version'\]"):
        reader.count_runs(ids["a-flow", "dev"], job_version=[1])
    reader.close()


def test_what_only_the_full_store_can_open(tmp_path):
    missing = tmp_path / "none" / "meta.db"
    with pytest.raises(NeedsFullStore, match=r"cannot open .* \(mode ro\)"):
        FastReader(f"sqlite:///{missing}")
    assert not missing.parent.exists()  # nothing made
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(NeedsFullStore, match="no such table: meta"):
        FastReader(f"sqlite:///{empty}")
    assert empty.read_bytes() == b""
    other = tmp_path / "other.db"
    other.write_bytes(b"not a database, just text" * 100)
    with pytest.raises(NeedsFullStore, match="file is not a database"):
        FastReader(f"sqlite:///{other}")
    for url in ("sqlite://", "sqlite:///:memory:", f"sqlite:///{empty}?timeout=5",
                f"sqlite+pysqlite:///{empty}", "postgresql://u@host/db"):
        with pytest.raises(NeedsFullStore, match="is not a plain SQLite file URL"):
            FastReader(url)


def test_another_schema_version_is_for_the_full_store(tmp_path):
    url, _meta, _ids, _run_ids, _base = seeded(tmp_path)
    with sqlite3.connect(tmp_path / "meta.db") as raw:
        raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    (str(fastread.SCHEMA_VERSION - 1),))
    with pytest.raises(NeedsFullStore, match=f"schema version '{fastread.SCHEMA_VERSION - 1}'"
                                              f", not {fastread.SCHEMA_VERSION}"):
        FastReader(url)


def test_a_relative_path_is_read_from_the_current_folder(tmp_path, monkeypatch):
    seeded(tmp_path)
    monkeypatch.chdir(tmp_path)
    reader = FastReader("sqlite:///meta.db")
    assert reader.where == str(tmp_path / "meta.db")
    assert reader.all_slugs("dev") == ["a-flow", "b-flow", "no-version", "svc"]
    reader.close()
