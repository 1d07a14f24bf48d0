"""Services and apps deployed to a real agent: reached over HTTP, killed, restarted, stopped."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from datatailr.scheduler import services as services_mod
from datatailr.scheduler.job import App, Service, list_jobs

ROOT = Path(__file__).resolve().parents[2]
SDK_VERSION = "0.2.3"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The hosted SDK's demo project (``datatailr_demo/`` of its wheel, downloaded now)."""
    import zipfile

    folder = tmp_path_factory.mktemp("sdk")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
         f"datatailr=={SDK_VERSION}", "-d", str(folder)],
        capture_output=True, text=True, timeout=300)
    wheels = sorted(folder.glob("datatailr-*.whl"))
    if done.returncode != 0 or not wheels:
        pytest.skip(f"cannot download the hosted SDK wheel datatailr=={SDK_VERSION}: "
                    f"{done.stderr.strip().splitlines()[-1:]}")
    with zipfile.ZipFile(wheels[0]) as z:
        z.extractall(folder / "wheel", [n for n in z.namelist()
                                        if n.startswith("datatailr_demo/")])
    return folder / "wheel" / "datatailr_demo"


@pytest.fixture
def deploy(home, tmp_path):
    """Run a deploy script as `python FILE` (the agent it starts inherits LEAKED_SECRET); at
    the end every service and app is stopped, then the home's agent (by ``home``)."""
    def run(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "DATATAILR_HOME": str(home), "PYTHONPATH": str(ROOT),
               "LEAKED_SECRET": "from-the-shell"}
        done = subprocess.run([sys.executable, str(path), *args], capture_output=True,
                              text=True, cwd=path.parent, env=env, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    yield run
    from datatailr.scheduler.platform import current_platform

    meta = current_platform().metadata
    for env in ("dev", "pre", "prod"):
        for job in list_jobs(env, health=False):
            if job["job_type"] in ("service", "app"):
                cls = Service if job["job_type"] == "service" else App
                cls(job["name"], environment=env, get_existing=True).stop(timeout=20)
    for run_row in meta.runs_in_states(["running"]):  # nothing may outlive the test
        if run_row.get("pid"):
            services_mod._kill_group(run_row["pid"], signal.SIGKILL)


def get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def wait_for(predicate, timeout: float = 60.0, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {predicate}")
        time.sleep(poll)


def group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    # zombies of the group do not count
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pid and fields[0] != "Z":
                return True
    return False


FLASK_SERVICE = textwrap.dedent('''
    import json, os
    from flask import Flask
    from datatailr.scheduler.job import Service

    app = Flask(__name__)

    @app.route("/health")
    def health():
        return "OK"

    @app.route("/")
    def index():
        names = ["DATATAILR_JOB_NAME", "DATATAILR_JOB_ENVIRONMENT", "DATATAILR_JOB_VERSION",
                 "DATATAILR_JOB_TYPE", "DATATAILR_USER", "DATATAILR_SERVICE_PORT", "PORT",
                 "GREETING", "LEAKED_SECRET"]
        return json.dumps({"pid": os.getpid(), "text": "TEXT",
                           **{n: os.environ.get(n) for n in names}})

    def main(port):
        print(f"listening on {port}", flush=True)
        app.run("127.0.0.1", port=port)

    if __name__ == "__main__":
        Service(name="Simple Service", entrypoint=main, env_vars={"GREETING": "hi"}).run()
''')


def test_a_flask_service_is_reached_killed_restarted_and_stopped(home, tmp_path, deploy):
    script = tmp_path / "service.py"
    script.write_text(FLASK_SERVICE.replace("TEXT", "first"))
    done = deploy(script)
    assert done.stdout.startswith("Deployed 'Simple Service' version 1 to dev: the local agent")
    svc = Service("Simple Service", get_existing=True)
    url = svc.wait_until_healthy(timeout=60)
    port = int(url.rsplit(":", 1)[1].strip("/"))
    first = json.loads(get(url))
    import getpass

    assert first == {
        "pid": first["pid"], "text": "first",
        "DATATAILR_JOB_NAME": "simple-service", "DATATAILR_JOB_ENVIRONMENT": "dev",
        "DATATAILR_JOB_VERSION": "1", "DATATAILR_JOB_TYPE": "service",
        "DATATAILR_USER": getpass.getuser(), "DATATAILR_SERVICE_PORT": str(port),
        "PORT": str(port), "GREETING": "hi",
        "LEAKED_SECRET": None,  # the agent's own environment never reaches the job
    }
    [listed] = list_jobs("dev")
    assert {k: listed[k] for k in ("name", "job_type", "job_version", "state", "url", "health",
                                   "running_version", "pid", "starts")} == {
        "name": "Simple Service", "job_type": "service", "job_version": 1, "state": "running",
        "url": url, "health": "healthy", "running_version": 1, "pid": first["pid"],
        "starts": 1}

    os.kill(first["pid"], signal.SIGKILL)
    wait_for(lambda: len(svc.runs(refresh=True)) == 2 and svc.state == "running")
    assert svc.wait_until_healthy(timeout=60) == url  # the same address after a restart
    second = json.loads(get(url))
    assert second["pid"] != first["pid"]
    runs = svc.runs(refresh=True)
    assert [(r["run_id"], r["state"], r["trigger"], r["original_run_id"], r["url"])
            for r in runs] == [(2, "running", "restart", 1, url), (1, "failed", "deploy", None, url)]
    assert svc.run_details(1)["error"] == "The process was killed by signal 9 (SIGKILL)."
    assert svc.logs(1) == (f"listening on {port}\n * Serving Flask app 'service'\n"
                           f" * Debug mode: off\n")
    assert '"GET / HTTP/1.1" 200' in svc.logs(1, stderr=True)
    assert svc.logs() == svc.logs(1)  # the latest process start: run 2, which said the same

    ok, message = svc.stop()
    assert (ok, message) == (True, "Stopped 'Simple Service' in dev (run 2).")
    assert svc.state == "stopped"
    assert not group_alive(second["pid"])
    assert services_mod.health_check(url) == "unreachable"
    time.sleep(services_mod.BACKOFF_FIRST + 1.0)  # longer than a restart would take
    assert [r["state"] for r in svc.runs(refresh=True)] == ["stopped", "failed"]
    assert list_jobs("dev")[0]["health"] is None


def test_a_version_is_frozen_and_a_new_deploy_replaces_the_running_process(home, tmp_path,
                                                                           deploy):
    script = tmp_path / "service.py"
    script.write_text(FLASK_SERVICE.replace("TEXT", "first"))
    deploy(script)
    svc = Service("Simple Service", get_existing=True)
    url = svc.wait_until_healthy(timeout=60)
    script.write_text(FLASK_SERVICE.replace("TEXT", "edited"))  # not deployed yet
    svc.restart()
    wait_for(lambda: svc.runs(refresh=True)[0]["state"] == "running"
             and len(svc.runs()) == 2)
    svc.wait_until_healthy(timeout=60)
    assert json.loads(get(url))["text"] == "first"  # restart runs the stored version 1
    deploy(script)
    wait_for(lambda: (r := svc.runs(refresh=True))[0]["state"] == "running" and len(r) == 3)
    svc.wait_until_healthy(timeout=60)
    body = json.loads(get(svc.url))
    assert (body["text"], body["DATATAILR_JOB_VERSION"]) == ("edited", "2")
    assert [(r["job_version"], r["state"], r["trigger"]) for r in svc.runs(refresh=True)] == [
        (2, "running", "deploy"), (1, "stopped", "restart"), (1, "stopped", "deploy")]
    assert svc.run_details(2)["error"] == "Replaced by run 3."


RESTARTING = textwrap.dedent('''
    from pathlib import Path
    from datatailr.scheduler.job import Service

    def main(port):
        counter = Path(__file__).parent / "starts"
        starts = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(starts))
        if starts == 1:
            raise RuntimeError("no database yet")
        if starts == 2:
            return {"port": port, "starts": starts}
        import time
        time.sleep(600)

    if __name__ == "__main__":
        Service(name="Flaky Worker", entrypoint=main).run()
''')


def test_exits_are_restarted_with_growing_backoff_and_a_return_value_is_the_result(
        home, tmp_path, deploy):
    script = tmp_path / "worker.py"
    script.write_text(RESTARTING)
    deploy(script)
    svc = Service("Flaky Worker", get_existing=True)
    wait_for(lambda: [r["state"] for r in svc.runs(refresh=True)]
             == ["running", "completed", "failed"], timeout=60)
    runs = {r["run_id"]: svc.run_details(r["run_id"]) for r in svc.runs()}
    assert runs[1]["error"] == "The process exited with code 1; its stderr says why."
    assert "RuntimeError: no database yet" in svc.logs(1, stderr=True)
    assert svc.result(1) is None
    port = runs[2]["port"]
    assert svc.result(2) == {"port": port, "starts": 2}
    assert svc.result(3) is None  # still running
    # the second restart waited twice as long as the first
    gap1 = runs[2]["start_time"] - runs[1]["end_time"]
    gap2 = runs[3]["start_time"] - runs[2]["end_time"]
    assert gap1.total_seconds() >= services_mod.BACKOFF_FIRST
    assert gap2.total_seconds() >= 2 * services_mod.BACKOFF_FIRST


def test_the_backoff_doubles_to_its_cap(home):
    from datatailr.scheduler.platform import current_platform

    meta = current_platform().metadata
    with meta.write() as conn:
        job_id = meta.ensure_workflow(conn, "worker", "dev", "Worker", job_type="service")

    def exits(*lives: float) -> None:  # process starts, oldest first, each living `life` s
        for life in lives:
            run_id = meta.create_run(workflow_id=job_id, job_version=1, trigger="restart",
                                     task_names=["Worker"], queue=services_mod.START_CLAIM,
                                     claimed_by=services_mod.START_CLAIM)
            meta.update_run(run_id, state="failed", start_time=100.0, end_time=100.0 + life)

    class Agent:  # what the supervisor reads of its agent
        platform = current_platform()

    sup = services_mod.Supervisor(Agent())
    delays = []
    for quick in (1, 1, 1, 1, 6):
        exits(*[0.5] * quick)
        delays.append(sup.backoff(job_id))
    assert delays == [1.0, 2.0, 4.0, 8.0, services_mod.BACKOFF_CAP]
    exits(services_mod.STABLE_SECONDS + 1, 0.5)  # a process that lived long resets it
    assert sup.backoff(job_id) == 1.0


STREAMLIT_APP = textwrap.dedent('''
    import os
    import streamlit as st

    st.title("Sales dashboard")
    print("rendered for", os.environ.get("DATATAILR_JOB_TYPE"), flush=True)
''')

DASH_APP = textwrap.dedent('''
    from dash import Dash, html

    app = Dash(__name__)
    server = app.server
    app.layout = html.Div([html.H1("Dash report")])
''')

APP_DEPLOY = textwrap.dedent('''
    import sys
    from datatailr.scheduler.job import App
    import dashboards.{module} as entrypoint

    if __name__ == "__main__":
        App(name="{name}", entrypoint=entrypoint, framework={framework!r}).run()
''')


def write_app(tmp_path: Path, module: str, source: str, name: str, framework: str | None) -> Path:
    package = tmp_path / "dashboards"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / f"{module}.py").write_text(source)
    script = tmp_path / f"deploy_{module}.py"
    script.write_text(APP_DEPLOY.format(module=module, name=name, framework=framework))
    return script


def test_a_streamlit_app_serves_its_page_and_stops_with_its_group(home, tmp_path, deploy):
    deploy(write_app(tmp_path, "sales", STREAMLIT_APP, "Sales Dashboard", None))
    app = App("Sales Dashboard", get_existing=True)
    assert app.framework == "streamlit"  # found from the module's imports
    url = app.wait_until_healthy(timeout=90)
    assert get(url + "_stcore/health") == "ok"
    assert "<title>Streamlit</title>" in get(url)
    pid = app.run_details()["pid"]
    assert list_jobs("dev")[0]["job_type"] == "app"
    app.stop()
    assert not group_alive(pid)
    assert "URL: " + url.rstrip("/") in app.logs()


def test_a_dash_app_under_gunicorn_is_killed_restarted_and_stopped(home, tmp_path, deploy):
    deploy(write_app(tmp_path, "report", DASH_APP, "Dash Report", "dash"))
    app = App("Dash Report", get_existing=True)
    url = app.wait_until_healthy(timeout=60)
    assert "<title>Dash</title>" in get(url)
    master = app.run_details()["pid"]
    os.kill(master, signal.SIGKILL)  # its gunicorn worker is left in the group
    wait_for(lambda: len(app.runs(refresh=True)) == 2 and app.state == "running")
    assert not group_alive(master)  # the supervisor ended what the dead master left
    assert app.wait_until_healthy(timeout=60) == url
    assert "<title>Dash</title>" in get(url)
    second = app.run_details()["pid"]
    assert "Listening at: " + url.rstrip("/") in app.logs(1, stderr=True)
    app.stop()
    assert not group_alive(second)
    assert [r["state"] for r in app.runs(refresh=True)] == ["stopped", "failed"]


def test_the_sdk_demos_fastapi_service_runs_unchanged(home, tmp_path, deploy, demo):
    shutil.copytree(demo / "services", tmp_path / "services")
    script = tmp_path / "deploy_service.py"
    script.write_text(textwrap.dedent('''
        from services.fastapi_service import main
        from datatailr.scheduler.job import Service

        Service(name="Simple Service", entrypoint=main, python_version="auto",
                python_requirements="auto").run()
    '''))
    deploy(script)
    svc = Service("Simple Service", get_existing=True)
    url = svc.wait_until_healthy(timeout=60)
    assert get(url + "health") == "OK\n"
    assert json.loads(get(url + "greet?name=Ada")) == {
        "greeting": "Hello, Ada from Data Service!"}
    assert get(url) == "Data Service running on datatailr!\n"
    assert svc.versions()[0]["entrypoint"] == "services.fastapi_service:main"
    svc.stop()
    assert "Uvicorn running on http://0.0.0.0:" in svc.logs(stderr=True)


def test_the_sdk_demos_deploy_script_deploys_its_service(home, tmp_path, deploy, demo):
    shutil.copytree(demo, tmp_path / "demo")
    deploy(tmp_path / "demo" / "deploy.py", "service")
    deploy(tmp_path / "demo" / "deploy.py", "app", "dash")
    deploy(tmp_path / "demo" / "deploy.py", "excel")  # saves only, as the demo does
    jobs = {j["job_type"]: j for j in list_jobs("dev", health=False)}
    assert sorted(jobs) == ["app", "excel_addin", "service"]
    svc = Service(jobs["service"]["name"], get_existing=True)
    assert get(svc.wait_until_healthy(timeout=60) + "health") == "OK\n"
    app = App(jobs["app"]["name"], get_existing=True)
    assert "<title>Dash Showcase</title>" in get(app.wait_until_healthy(timeout=90))
    assert (jobs["excel_addin"]["job_version"], jobs["excel_addin"]["state"]) == (1, None)


def test_a_function_without_a_file_is_frozen_by_value(home, tmp_path, deploy):
    script = tmp_path / "nested.py"
    script.write_text(textwrap.dedent('''
        from datatailr.scheduler.job import Service

        def make(offset):
            def main(port):
                return port + offset
            return main

        if __name__ == "__main__":
            Service(name="Nested", entrypoint=make(7)).run()
    '''))
    deploy(script)
    script.unlink()  # the version does not need the file
    svc = Service("Nested", get_existing=True)
    wait_for(lambda: svc.runs(refresh=True)[-1]["state"] == "completed")
    first = svc.run_details(1)
    assert svc.result(1) == first["port"] + 7
    assert svc.versions()[0]["entrypoint"] == "<function>"


def test_an_agent_that_comes_back_adopts_a_running_service(home, tmp_path, deploy):
    from datatailr.scheduler.agent import start_agent, stop_agent

    script = tmp_path / "service.py"
    script.write_text(FLASK_SERVICE.replace("TEXT", "first"))
    deploy(script)
    svc = Service("Simple Service", get_existing=True)
    url = svc.wait_until_healthy(timeout=60)
    pid = json.loads(get(url))["pid"]
    assert stop_agent() is True
    assert json.loads(get(url))["pid"] == pid  # the service outlives its agent
    start_agent()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: len(svc.runs(refresh=True)) == 2 and svc.state == "running")
    assert svc.wait_until_healthy(timeout=60) == url
    assert svc.run_details(1)["state"] in ("unknown", "failed")


def test_cli_start_stop_restart_and_ls(home, tmp_path, deploy):
    from click.testing import CliRunner

    from datatailr.cli import main

    script = tmp_path / "service.py"
    script.write_text(FLASK_SERVICE.replace("TEXT", "first"))
    deploy(script)
    svc = Service("Simple Service", get_existing=True)
    url = svc.wait_until_healthy(timeout=60)
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["job", "ls", "--json"]).output)
    assert [(j["name"], j["job_type"], j["url"], j["health"]) for j in listed] == [
        ("Simple Service", "service", url, "healthy")]
    table = runner.invoke(main, ["job", "ls"]).output
    assert f"service  {url} (healthy)" in table
    stopped = runner.invoke(main, ["job", "stop", "simple-service", "--json"])
    assert stopped.exit_code == 0, stopped.output
    assert json.loads(stopped.output)["state"] == "stopped"
    started = runner.invoke(main, ["job", "start", "Simple Service", "--wait", "--json"])
    assert started.exit_code == 0, started.output
    body = json.loads(started.output)
    assert (body["state"], body["health"], body["url"]) == ("running", "healthy", url)
    restarted = runner.invoke(main, ["job", "restart", "simple-service", "--wait", "--json"])
    assert restarted.exit_code == 0, restarted.output
    assert json.loads(restarted.output)["starts"] == 3
    missing = runner.invoke(main, ["job", "stop", "nothing-here"])
    assert missing.exit_code == 1
    assert missing.output == ("Error: No service, app or Excel add-in 'nothing-here' in "
                              "environment 'dev'. Jobs there: simple-service (service).\n")


def test_the_sdk_demos_dashboards_run_unchanged_as_far_as_they_can(home, tmp_path, deploy, demo):
    shutil.copytree(demo / "dashboards", tmp_path / "dashboards")
    script = tmp_path / "deploy_dashboards.py"
    script.write_text(textwrap.dedent('''
        from datatailr.scheduler.job import App

        for framework in ("streamlit", "dash", "flask"):
            # by name, as the hosted CLI's definitions do: nothing of the demo runs here
            App(name=f"Demo {framework}", entrypoint=f"dashboards.{framework}.app",
                framework=framework).run()
    '''))
    deploy(script)
    streamlit_app = App("Demo streamlit", get_existing=True)
    dash_app = App("Demo dash", get_existing=True)
    flask_app = App("Demo flask", get_existing=True)
    url = dash_app.wait_until_healthy(timeout=90)
    assert "<title>Dash Showcase</title>" in get(url)
    url = streamlit_app.wait_until_healthy(timeout=90)
    assert get(url + "_stcore/health") == "ok"
    # The demo's Flask dashboard calls datetime.UTC on the datetime class, which Python does
    # not have: its process fails at import, and the run says so.
    wait_for(lambda: flask_app.runs(refresh=True)[-1]["state"] == "failed", timeout=60)
    first = flask_app.runs()[-1]["run_id"]
    assert "AttributeError" in flask_app.logs(first, stderr=True)
    assert flask_app.run_details(first)["error"] == (  # gunicorn's code for a worker that
        "The process exited with code 3; its stderr says why.")  # could not boot


def test_an_app_whose_framework_is_missing_fails_once_saying_what_to_install(home, tmp_path,
                                                                             deploy):
    if importlib.util.find_spec("panel") is not None:
        pytest.skip("panel is installed here")
    script = write_app(tmp_path, "board", "try:\n    import panel\nexcept ImportError:\n    pass\n",
                       "Panel Board", "panel")
    deploy(script)
    app = App("Panel Board", get_existing=True)
    wait_for(lambda: app.state == "failed")
    assert app.run_details()["error"] == (
        f"The process could not start: the app's framework 'panel' needs panel, not installed "
        f"where the agent runs ({sys.executable}): pip install panel")
    time.sleep(services_mod.BACKOFF_FIRST + 1.0)  # no process ran: nothing to restart
    assert [r["state"] for r in app.runs(refresh=True)] == ["failed"]


def test_with_storage_through_fsspec_logs_are_spooled_then_stored(home, tmp_path, deploy,
                                                                   monkeypatch):
    storage = tmp_path / "shared-storage"
    monkeypatch.setenv("DATATAILR_STORAGE_URL", f"local://{storage}")  # not the folder fast path
    script = tmp_path / "service.py"
    script.write_text(FLASK_SERVICE.replace("TEXT", "first"))
    deploy(script)
    svc = Service("Simple Service", get_existing=True)
    url = svc.wait_until_healthy(timeout=60)
    port = url.rsplit(":", 1)[1].strip("/")
    from datatailr.scheduler.platform import current_platform

    blobs = current_platform().blobs
    assert not blobs.local
    assert blobs.get_bytes(blobs.log_key(1, 0, "stdout")) is None  # still being written
    assert svc.logs().startswith(f"listening on {port}\n")  # read from the agent's spool
    svc.stop()
    stored = blobs.get_bytes(blobs.log_key(1, 0, "stdout"))
    assert stored is not None and stored.decode().startswith(f"listening on {port}\n")
    assert svc.logs() == stored.decode()
    assert list((home / "agent" / "services" / "logs").iterdir()) == []


def test_a_service_reads_its_environments_secrets_and_kv(home, tmp_path, deploy):
    from datatailr.kv import KV
    from datatailr.secrets import Secrets

    Secrets("pre").set("db_password", "s3cr3t")
    KV("pre").put("threshold", "7")
    KV("dev").put("threshold", "1")
    script = tmp_path / "reader.py"
    script.write_text(textwrap.dedent('''
        from datatailr.scheduler.job import Service

        def main(port):
            from datatailr.kv import KV
            from datatailr.secrets import Secrets

            return {"secret_matches": Secrets().get("db_password") == "s3cr3t",
                    "threshold": KV().get("threshold")}

        if __name__ == "__main__":
            Service(name="Reader", entrypoint=main, environment="pre").run()
    '''))
    deploy(script)
    svc = Service("Reader", environment="pre", get_existing=True)
    wait_for(lambda: svc.runs(refresh=True)[-1]["state"] == "completed")
    assert svc.result(svc.runs()[-1]["run_id"]) == {"secret_matches": True, "threshold": "7"}
