"""A PostgreSQL restart mid-run costs no run: a server of the test's own is restarted while a
local run and a deployed run are in flight, and both complete with every row right."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from tests.integration.conftest import _pg_bindir, _PgServer

pytestmark = pytest.mark.postgres

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def own_server():
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found")
    server = _PgServer(bindir)
    server.start()
    yield server
    server.stop()


def _restart(server: _PgServer, after: float) -> threading.Thread:
    def go():
        time.sleep(after)
        thread.began = time.time()  # type: ignore[attr-defined]
        done = server._run("pg_ctl", "-D", str(server.data), "-l", str(server.log), "-m", "fast",
                           "-w", "restart")
        assert done.returncode == 0, done.stderr

    thread = threading.Thread(target=go)
    thread.start()
    return thread


def _expected(run_id):
    return [(f"step_{i}", "completed", 1) for i in range(8)] + [("total", "completed", 1)]


def test_a_local_run_survives_a_server_restart(own_server, home, monkeypatch):
    from tests.fixtures import slow_workflows

    monkeypatch.setenv("DATATAILR_DB_URL", own_server.admin_url)
    restart = _restart(own_server, after=0.3)  # the run takes about a second
    run = slow_workflows.slow_steps(local_run=True, progress=False)
    restart.join()
    details = run.run_details()
    assert restart.began < details["end_time"].timestamp()  # the server went away mid-run
    assert (details["state"], [(t["name"], t["state"], t["attempts"])
                               for t in details["tasks"]], run.result("total")) == (
        "completed", _expected(run.run_id), 28)


def test_a_deployed_run_survives_a_server_restart(own_server, home, tmp_path):
    env = {**os.environ, "DATATAILR_HOME": str(home), "DATATAILR_DB_URL": own_server.admin_url,
           "PYTHONPATH": ROOT}
    script = tmp_path / "deploy.py"
    script.write_text("from tests.fixtures.slow_workflows import slow_steps\n"
                      "run = slow_steps()\nprint(run.run_id)\n")
    os.environ["DATATAILR_DB_URL"] = own_server.admin_url
    try:
        from datatailr.scheduler.agent import start_agent

        start_agent()  # a shared store: deploys start no agent, the team runs its own
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        run_id = int(done.stdout.strip().splitlines()[-1])
        restart = _restart(own_server, after=0.3)
        restart.join()
        from datatailr import Workflow

        wf = Workflow("slow steps")
        run = wf.run(run_id)
        assert run.wait(timeout=60) == "completed"
        details = run.run_details()
        assert restart.began < details["end_time"].timestamp()
        assert [(t["name"], t["state"], t["attempts"]) for t in details["tasks"]] == \
            _expected(run_id)
    finally:
        del os.environ["DATATAILR_DB_URL"]
