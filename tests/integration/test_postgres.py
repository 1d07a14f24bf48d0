"""PostgreSQL as the metadata store: schema, migrations, and several processes at once.

Each test talks to the real server the session started (see conftest). What must hold when
agents, notebooks and CLIs on different machines share one database: a queued run is run by
one agent only, deploys racing for the next version number all get one, and what one home
records every other home reads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa

from datatailr.errors import StorageError
from datatailr.store import metadata as metadata_mod
from datatailr.store.metadata import MetadataStore
from tests.conftest import ROOT

pytestmark = pytest.mark.postgres


def test_a_fresh_database_gets_the_schema_with_its_indexes(postgres_url):
    store = MetadataStore(postgres_url)
    try:
        assert store.engine.dialect.name == "postgresql"
        assert store.schema_version() == metadata_mod.SCHEMA_VERSION
        inspector = sa.inspect(store.engine)
        assert set(inspector.get_table_names()) >= {
            "meta", "workflows", "versions", "runs", "task_runs", "schedule_fires"}
        assert {ix["name"] for ix in inspector.get_indexes("runs")} >= {
            "ix_runs_workflow_start", "ix_runs_workflow_run", "ix_runs_state"}
        MetadataStore(postgres_url).dispose()  # opening again changes nothing
        assert store.schema_version() == metadata_mod.SCHEMA_VERSION
    finally:
        store.dispose()


def test_an_older_schema_is_migrated_and_a_newer_one_refused(postgres_url, monkeypatch):
    old = MetadataStore(postgres_url)  # a database made by this version
    with old.write() as conn:
        wf = old.ensure_workflow(conn, "kept", "dev", "Kept")
    old.dispose()

    newer = metadata_mod.SCHEMA_VERSION + 1
    monkeypatch.setattr(metadata_mod, "SCHEMA_VERSION", newer)
    monkeypatch.setitem(metadata_mod.MIGRATIONS, newer - 1, lambda conn: conn.exec_driver_sql(
        "ALTER TABLE runs ADD COLUMN note TEXT"))
    upgraded = MetadataStore(postgres_url)
    try:
        assert upgraded.schema_version() == newer
        columns = {c["name"] for c in sa.inspect(upgraded.engine).get_columns("runs")}
        assert "note" in columns
        assert upgraded.workflow_by_id(wf)["name"] == "Kept"  # data survives
    finally:
        upgraded.dispose()

    monkeypatch.setattr(metadata_mod, "SCHEMA_VERSION", newer - 1)
    with pytest.raises(StorageError, match=rf"has schema version {newer}, newer than this "
                                           rf"datatailr understands \({newer - 1}\)"):
        MetadataStore(postgres_url)


AGENT = textwrap.dedent('''
    import json, sys, time
    from pathlib import Path
    from datatailr.scheduler.agent import Agent

    claimed = []
    agent = Agent(spawn=claimed.append)  # records what it would start, starts nothing
    print("ready", flush=True)
    done = Path(sys.argv[1])  # the queuer is done when this file exists
    while not (done.exists() and not agent.meta.pending_runs()):
        agent.start_pending()
        time.sleep(0.005)
    print(json.dumps(claimed), flush=True)
''')


def _env(home, db_url, **extra):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DATATAILR_")}
    return {**env, "DATATAILR_HOME": str(home), "DATATAILR_DB_URL": db_url,
            "PYTHONPATH": str(ROOT), **extra}


def test_concurrent_agents_never_start_the_same_queued_run_twice(postgres_database, tmp_path,
                                                                 monkeypatch):
    """Four agents (four homes, as on four machines) poll one database while runs queue up."""
    monkeypatch.setenv("DATATAILR_HOME", str(tmp_path / "queuer"))
    monkeypatch.setenv("DATATAILR_DB_URL", postgres_database)
    from datatailr.scheduler.execution import new_run
    from datatailr.scheduler.platform import current_platform
    from tests.fixtures import spec_workflows

    spec_workflows.sales_pipeline(save_only=True)
    platform = current_platform()
    wf = platform.metadata.find_workflow("daily-sales-report", "dev")

    done = tmp_path / "queued-all"
    agents = [subprocess.Popen([sys.executable, "-c", AGENT, str(done)], stdout=subprocess.PIPE,
                               text=True, env=_env(tmp_path / f"agent-{i}", postgres_database))
              for i in range(4)]
    try:
        for agent in agents:
            assert agent.stdout.readline() == "ready\n"
        queued = []
        for _ in range(60):
            queued.append(new_run(platform, workflow_id=wf["workflow_id"], job_version=1,
                                  task_names=["fetch_data", "calculate_total"],
                                  trigger="manual", claimed=False))
            time.sleep(0.01)
        done.touch()
        claims = [json.loads(agent.communicate(timeout=60)[0].splitlines()[-1])
                  for agent in agents]
    finally:
        for agent in agents:
            agent.kill()
    every_claim = [run_id for claim in claims for run_id in claim]
    assert sorted(every_claim) == sorted(queued)  # each queued run once, none twice
    assert sum(1 for claim in claims if claim) >= 2  # they really competed
    owners = {r["run_id"]: r["claimed_by"] for r in platform.metadata.runs_in_states(["pending"])}
    assert len(owners) == 60 and all(owners.values())


DEPLOY = textwrap.dedent('''
    import sys
    from datatailr import task, workflow

    @task()
    def value(x):
        return x

    @workflow(name="raced")
    def raced():
        value(int(sys.argv[1]))

    raced(save_only=True)
''')


def test_deploys_racing_for_the_next_version_each_get_one(postgres_database, tmp_path):
    script = tmp_path / "deploy.py"
    script.write_text(DEPLOY)
    deploys = [subprocess.Popen([sys.executable, str(script), str(i)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=_env(tmp_path / "home", postgres_database))
               for i in range(4)]
    results = [d.communicate(timeout=120) + (d.returncode,) for d in deploys]
    assert [code for _, _, code in results] == [0] * 4, results
    store = MetadataStore(postgres_database)
    try:
        wf = store.find_workflow("raced", "dev")
        assert [v["job_version"] for v in store.list_versions(wf["workflow_id"])] == [1, 2, 3, 4]
    finally:
        store.dispose()


def test_two_homes_on_one_database_share_one_history(postgres_database, tmp_path, home,
                                                     monkeypatch):
    """A run made from one home is read, and re-run, from another (as on two machines)."""
    storage = f"local://{tmp_path / 'shared-storage'}"
    code = textwrap.dedent('''
        from tests.fixtures import spec_workflows
        run = spec_workflows.sales_pipeline(local_run=True, progress=False)
        print(run.run_id, run.state)
    ''')
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120, cwd=tmp_path,
                           env=_env(tmp_path / "other-home", postgres_database,
                                    DATATAILR_STORAGE_URL=storage))
    assert first.stdout.split() == ["1", "completed"], first.stderr
    monkeypatch.setenv("DATATAILR_DB_URL", postgres_database)
    monkeypatch.setenv("DATATAILR_STORAGE_URL", storage)
    from datatailr import Workflow

    wf = Workflow("daily_sales_report")
    [row] = wf.runs()
    assert (row["run_id"], row["state"], row["trigger"]) == (1, "completed", "local")
    assert wf.result(1, "calculate_total") == 450
    assert wf.logs(1, "fetch_data") == ""
    # A shared store: the rerun is queued, and no agent is started behind the user's back.
    rerun = wf.rerun(1)
    from datatailr.scheduler import agent as agent_mod

    assert (agent_mod.running_queues(), rerun.state) == ([], "pending")
    agent_mod.start_agent()  # this home's agent runs it, reusing run 1's results
    assert rerun.wait(timeout=60) == "completed"
    assert [r["run_id"] for r in wf.runs(refresh=True)] == [2, 1]
    assert rerun.result("calculate_total") == 450
    assert {t["name"]: t["attempts"] for t in rerun.run_details()["tasks"]} == {
        "fetch_data": 0, "calculate_total": 0}
