"""``dt ui``: the explorer as a web page from a real `dt ui` process, in Debian's chromium.

The token is checked on the page, the scripts and the websocket; with it, the page renders
the notebook's explorer bundle and its clicks go through the server's explorer state.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ROOT

SEED = """
from tests.jupyter_ext import explorer_workflows as ew
ew.frame_report(local_run=True, progress=False)
ew.failing_pipeline(local_run=True, progress=False)
import tempfile
ew.flaky_twice(tempfile.mkdtemp(), local_run=True, progress=False)
"""


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    base = tmp_path_factory.mktemp("dtui")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DATATAILR_")},
           "DATATAILR_HOME": str(base / "dt-home"), "PYTHONPATH": str(ROOT), "HOME": str(base)}
    subprocess.run([sys.executable, "-c", SEED], env=env, check=True, cwd=ROOT, timeout=180)
    dt = Path(sys.executable).parent / "dt"
    proc = subprocess.Popen([str(dt), "ui", "--no-browser"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+", line)
        assert url, (line, proc.stderr.read() if proc.poll() is not None else "")
        yield url.group(0)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_without_the_token_everything_is_refused(ui):
    base = ui.split("?")[0]
    assert (status(base), status(base + "?token=wrong"), status(base + "static/explorer.js"),
            status(base + "ws")) == (403, 403, 403, 403)
    assert status(ui) == 200
    token = ui.split("=", 1)[1]
    assert status(f"{base}static/explorer.js?token={token}") == 200


def test_the_page_is_the_explorer(ui, browser, page, screenshot):
    base = ui.split("?")[0]
    # A browser that never opened the tokened URL: the page and its websocket are refused.
    stranger = browser.new_context()
    other = stranger.new_page()
    other.goto(base)
    assert "403" in other.content()
    refused = other.evaluate("""() => new Promise(done => {
        const ws = new WebSocket(`ws://${location.host}/ws`);
        ws.onopen = () => done("opened"); ws.onerror = () => done("refused"); })""")
    assert refused == "refused"
    stranger.close()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(ui)
    ex = page.locator(".dt-explorer")
    expect(ex.locator(".dt-overview-table tbody tr")).to_have_count(3)
    ex.locator("tr[data-workflow='failing-pipeline']").click()
    expect(ex.locator(".dt-fail-line")).to_have_text(
        "failed at boom: ZeroDivisionError: cannot divide by zero")
    ex.locator(".dt-fail-task").click()
    expect(ex.locator(".dt-task-panel pre.dt-log")).to_contain_text("ZeroDivisionError")
    expect(ex.locator(".dt-task-panel .dt-tab.dt-on")).to_have_attribute("data-tab", "stderr")
    screenshot(page, "50-dt-ui-1400-light")
    # A retried task: the latest attempt first; the server serves the one picked.
    ex.locator(".dt-workflow-select").select_option("flaky-twice")
    ex.locator(".dt-node[data-task-name='fails_twice']").click()
    note, log = ex.locator(".dt-attempt-note"), ex.locator(".dt-task-panel pre.dt-log")
    expect(note).to_have_text("Showing attempt 3 of 3, the latest.")
    expect(log).to_have_text("attempt 3 starts")
    ex.locator(".dt-attempt[data-attempt='1']").focus()
    page.keyboard.press("Enter")
    expect(note).to_have_text("Showing attempt 1 of 3.")
    expect(log).to_have_text("attempt 1 starts")
    screenshot(page, "52-dt-ui-1400-attempt-1")
    # The state lives on the server: a reload opens the page's own fresh explorer.
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 360, "height": 800})
    page.reload()
    expect(ex.locator(".dt-overview-table tbody tr")).to_have_count(3)
    ex.locator(".dt-workflow-select").select_option("frame-report")
    expect(ex.locator(".dt-node")).to_have_count(2)
    ex.locator(".dt-node[data-task-name='summarize']").click()
    ex.locator(".dt-tab[data-tab='result']").click()
    expect(ex.locator(".dt-result-text")).to_have_text("{'total': 425, 'note': '<i>not italic</i>'}")
    assert page.evaluate("document.body.dataset.jpThemeLight") == "false"
    screenshot(page, "51-dt-ui-360-dark")
    assert errors == []
    time.sleep(0.1)
