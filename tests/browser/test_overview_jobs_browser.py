"""The overview's services and apps, the run list's trigger and version filters, and the
timeline of a run with hundreds of tasks, in a real `dt ui` page in Debian's chromium (the
same bundle as the notebook's explorer).

The home holds a running service (on the agent), a saved Excel add-in, Frame Report with two
local runs of version 1, one of version 2 and a rerun of run 1 queued on the agent, and a run
of Wide Fan Out (241 tasks).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ROOT

SEED = """
from datatailr import Workflow
from tests.jupyter_ext import explorer_workflows as ew
ew.frame_report(local_run=True, progress=False)
ew.frame_report(local_run=True, progress=False)
ew.frame_report_v2(local_run=True, progress=False)
assert Workflow("Frame Report").rerun(1).wait(timeout=120) == "completed"
ew.wide_fan_out(local_run=True, progress=False)
"""

WAIT = """
import time
from datatailr.scheduler.job import list_jobs
deadline = time.monotonic() + 90
while True:
    job = next(j for j in list_jobs("dev") if j["name"] == "Price Service")
    if job["state"] == "running" and job["health"] == "healthy":
        print(job["url"])
        break
    assert time.monotonic() < deadline, job
    time.sleep(0.2)
"""

STOP = """
from datatailr.scheduler.agent import agent_status, stop_agent
from datatailr.scheduler.job import Service
Service("Price Service", get_existing=True).stop(timeout=20)
if agent_status()["running"]:
    stop_agent()
"""


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    base = tmp_path_factory.mktemp("dtui-jobs")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DATATAILR_")},
           "DATATAILR_HOME": str(base / "dt-home"), "PYTHONPATH": str(ROOT), "HOME": str(base)}
    services = ROOT / "tests" / "jupyter_ext" / "explorer_services.py"
    proc = None
    try:
        for args in (["-c", SEED], [str(services)], ["-c", WAIT]):
            seeded = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, timeout=300,
                                    capture_output=True, text=True)
            assert seeded.returncode == 0, seeded.stderr
        service_url = seeded.stdout.strip().splitlines()[-1]
        dt = Path(sys.executable).parent / "dt"
        proc = subprocess.Popen([str(dt), "ui", "--no-browser"], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+", line)
        assert url, (line, proc.stderr.read() if proc.poll() is not None else "")
        yield url.group(0), service_url
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        subprocess.run([sys.executable, "-c", STOP], env=env, cwd=ROOT, timeout=120)


def test_services_and_apps_sit_beside_the_workflows(ui, page, screenshot):
    url, service_url = ui
    with urllib.request.urlopen(service_url, timeout=10) as response:
        assert response.read() == b"hello from the price service"
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(url)
    ex = page.locator(".dt-explorer")
    expect(ex.locator(".dt-overview-table tbody tr")).to_have_count(2)
    jobs = ex.locator(".dt-jobs-table tbody tr")
    expect(jobs).to_have_count(2)
    rows = [[c.inner_text().strip() for c in r.locator("td").all()] for r in jobs.all()]
    assert rows == [["Price Service\nservice · v1", "running", service_url],
                    ["Price Sheet\nExcel add-in · v1", "never started", "—"]]
    link = ex.locator(".dt-jobs-table a")
    assert (link.count(), link.get_attribute("href"), link.get_attribute("target"),
            link.get_attribute("rel")) == (1, service_url, "_blank", "noopener noreferrer")
    expect(ex.locator(".dt-overview-section .dt-h")).to_have_text(
        ["Workflows2 in dev", "Services and apps2 in dev"])
    # Wide enough: the two sections side by side, tops aligned.
    wf_box = ex.locator(".dt-overview-section.dt-workflows").bounding_box()
    jobs_box = ex.locator(".dt-overview-section.dt-jobs").bounding_box()
    assert wf_box and jobs_box
    assert (jobs_box["x"] >= wf_box["x"] + wf_box["width"], jobs_box["y"] == wf_box["y"]) == (
        True, True), (wf_box, jobs_box)
    screenshot(page, "60-overview-jobs-1400")
    # Narrow: below the workflows, still whole.
    page.set_viewport_size({"width": 600, "height": 1000})
    wf_box = ex.locator(".dt-overview-section.dt-workflows").bounding_box()
    jobs_box = ex.locator(".dt-overview-section.dt-jobs").bounding_box()
    assert wf_box and jobs_box
    assert jobs_box["y"] >= wf_box["y"] + wf_box["height"], (wf_box, jobs_box)
    assert jobs_box["x"] + jobs_box["width"] <= 600
    screenshot(page, "61-overview-jobs-600")
    assert errors == []


def test_the_run_list_filters_by_trigger_and_version(ui, page, screenshot):
    url, _ = ui
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(url)
    ex = page.locator(".dt-explorer")
    ex.locator("tr[data-workflow='frame-report']").click()
    runs = ex.locator(".dt-runs-table tbody tr")
    expect(runs).to_have_count(4)
    ex.locator("button.dt-trigger-filter[data-trigger='local']").click()
    expect(ex.locator(".dt-runs-panel .dt-count")).to_have_text("3 runs shown")
    expect(runs).to_have_count(3)
    expect(ex.locator("button.dt-trigger-filter[data-trigger='local']")).to_have_attribute(
        "aria-pressed", "true")
    ex.locator("select.dt-version-filter").select_option("1")
    expect(ex.locator(".dt-runs-panel .dt-count")).to_have_text("2 runs shown")
    assert [r.get_attribute("data-run-id") for r in runs.all()] == ["2", "1"]
    screenshot(page, "62-runs-filtered-local-v1")
    ex.locator("button.dt-trigger-filter[data-trigger='']").click()
    ex.locator("button.dt-trigger-filter[data-trigger='rerun']").click()
    ex.locator("select.dt-version-filter").select_option("")
    expect(ex.locator(".dt-runs-panel .dt-count")).to_have_text("1 run shown")
    assert [r.get_attribute("data-run-id") for r in runs.all()] == ["4"]
    # Run 1's "superseded by" link comes from the store, whatever the filters show.
    ex.locator("button.dt-trigger-filter[data-trigger='']").click()
    expect(runs).to_have_count(4)
    ex.locator(".dt-runs-table tr[data-run-id='1']").click()
    expect(ex.locator(".dt-superseded")).to_have_text("superseded by #4")
    screenshot(page, "63-runs-superseded")


def test_a_long_timeline_draws_the_rows_in_view_and_follows_scroll_and_keys(ui, page,
                                                                            screenshot):
    url, _ = ui
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(url)
    ex = page.locator(".dt-explorer")
    ex.locator("tr[data-workflow='wide-fan-out']").click()
    ex.locator(".dt-view-tab[data-view='timeline']").click()
    timeline = ex.locator(".dt-timeline")
    expect(timeline).to_have_attribute("data-rows", "241")
    rows = ex.locator(".dt-tl-row")
    # 400 px of rows in view (20) and 20 more below: not 241 elements.
    expect(rows).to_have_count(40)
    assert ex.locator(".dt-tl-rows").evaluate("e => e.offsetHeight") == 241 * 20
    first = rows.first
    assert (first.get_attribute("data-index"), first.get_attribute("tabindex"),
            first.get_attribute("aria-setsize")) == ("0", "0", "241")
    # Scrolled to the end: the last rows exist, at their places, the first ones are gone.
    ex.locator(".dt-tl-scroll").evaluate("e => { e.scrollTop = e.scrollHeight; }")
    last = ex.locator(".dt-tl-row[data-index='240']")
    expect(last).to_have_attribute("aria-posinset", "241")
    assert last.locator(".dt-tl-name").inner_text() == "collect"
    scroll_box = ex.locator(".dt-tl-scroll").bounding_box()
    last_box = last.bounding_box()
    assert scroll_box and last_box
    assert scroll_box["y"] <= last_box["y"] and \
        last_box["y"] + last_box["height"] <= scroll_box["y"] + scroll_box["height"] + 0.5
    # The row with the tab stop stays even when scrolled away.
    expect(ex.locator(".dt-tl-row[data-index='0']")).to_have_count(1)
    expect(ex.locator(".dt-tl-row[data-index='5']")).to_have_count(0)
    screenshot(page, "64-timeline-241-scrolled-to-end")
    # Keys: from the first row, 30 times down reaches a row that was not drawn at first.
    ex.locator(".dt-tl-scroll").evaluate("e => { e.scrollTop = 0; }")
    expect(ex.locator(".dt-tl-row[data-index='5']")).to_have_count(1)
    ex.locator(".dt-tl-row[data-index='0']").focus()
    for _ in range(45):
        page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.dataset.index")
    assert focused == "45"
    row_box = ex.locator(".dt-tl-row[data-index='45']").bounding_box()
    scroll_box = ex.locator(".dt-tl-scroll").bounding_box()
    assert row_box and scroll_box
    assert scroll_box["y"] <= row_box["y"] and \
        row_box["y"] + row_box["height"] <= scroll_box["y"] + scroll_box["height"] + 0.5
    assert ex.locator(".dt-tl-row[tabindex='0']").evaluate_all(
        "rows => rows.map(r => r.dataset.index)") == ["45"]
    page.keyboard.press("Enter")
    name = ex.locator(".dt-tl-row[data-index='45'] .dt-tl-name").inner_text()
    expect(ex.locator(".dt-task-panel")).to_contain_text(name)
    expect(ex.locator(".dt-tl-row.dt-selected")).to_have_attribute("data-index", "45")
    screenshot(page, "65-timeline-241-keyboard")
    assert errors == []
