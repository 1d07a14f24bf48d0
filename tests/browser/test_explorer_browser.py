"""%dt_runs in a real JupyterLab: click through the explorer and check the kernel side.

One JupyterLab for the module; each test opens its own notebook. Screenshots of every state
land in test-artifacts/browser/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import PROBE_CELL, cell, open_notebook, probe, run_cell
from tests.jupyter_ext import explorer_workflows as ew

SEED = """
from tests.jupyter_ext import explorer_workflows as ew
from tests.fixtures import spec_workflows as sw
ew.frame_report(local_run=True, progress=False)
ew.frame_report(local_run=True, progress=False)
sw.complex_pipeline(local_run=True, progress=False)
ew.failing_pipeline(local_run=True, progress=False)
ew.wide_fan_out(local_run=True, progress=False)
ew.nightly_load(save_only=True)
"""


@pytest.fixture(scope="module")
def server(lab):
    lab.python(SEED)
    lab.start()
    return lab


def widget(page):
    return page.locator(".dt-explorer").first


def test_click_through_the_explorer(server, page, screenshot):
    url = server.notebook("explore.ipynb", ["%load_ext datatailr", "w = %dt_runs", PROBE_CELL])
    open_notebook(page, url)
    run_cell(page, cell(page, "%load_ext"))
    run_cell(page, cell(page, "%dt_runs"))
    ex = widget(page)
    rows = ex.locator(".dt-overview-table tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("Complex Pipeline")
    screenshot(ex, "01-overview")
    state = probe(page)
    assert (state["workflow"], state["environment"], state["error"], state["polling"]) == (
        "", "dev", "", True)

    # A workflow from the overview: its runs, the newest one's DAG.
    ex.locator(".dt-overview-table tr[data-workflow='frame-report']").click()
    expect(ex.locator(".dt-runs-table tbody tr")).to_have_count(2)
    expect(ex.locator(".dt-node")).to_have_count(2)
    screenshot(ex, "02-workflow")
    state = probe(page)
    assert (state["workflow"], state["run_id"], state["run_count"], state["runs"]) == (
        "frame-report", 2, 2, [[2, "completed", None, False, 1], [1, "completed", None, False, 1]])

    # An older run.
    ex.locator(".dt-runs-table tr[data-run-id='1']").click()
    expect(ex.locator(".dt-runs-table tr.dt-selected")).to_have_attribute("data-run-id", "1")
    assert probe(page)["run_id"] == 1

    # A task: its stdout, shown as text (the task printed a <script> tag).
    ex.locator(".dt-node[data-task-name='make_frame']").click()
    log = ex.locator(".dt-task-panel pre.dt-log")
    expect(log).to_have_text(f"making the frame\n{ew.SCRIPT}\n")
    assert ex.locator("script").count() == 0
    screenshot(ex, "03-task-stdout")
    state = probe(page)
    assert (state["run_id"], state["task_id"]) == (1, 0)

    ex.locator(".dt-tab[data-tab='stderr']").click()
    expect(log).to_have_text(f"{ew.IMG}\n")
    assert ex.locator("img").count() == 0
    screenshot(ex, "04-task-stderr")

    # Its return value: a DataFrame as a table with its shape; HTML in cells stays text.
    ex.locator(".dt-tab[data-tab='result']").click()
    table = ex.locator("table.dt-df")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(ex.locator(".dt-result-summary")).to_have_text("3 rows × 2 columns")
    expect(table.locator("tbody tr").nth(2).locator("td").first).to_have_text("<b>east</b>")
    assert table.locator("b").count() == 0
    screenshot(ex, "05-task-result")

    # Load into a cell: a kernel variable and a new cell below the explorer.
    ex.locator(".dt-load-btn").click()
    new_cell = page.locator(".jp-Notebook .jp-Cell").nth(2)
    expect(new_cell.locator(".jp-InputArea-editor")).to_contain_text(
        "make_frame_1 = Workflow(name='Frame Report', environment='dev', get_existing=True)"
        ".result(run_id=1, task_name='make_frame')")
    expect(ex.locator(".dt-loaded .dt-var")).to_have_text("make_frame_1")
    screenshot(page, "06-loaded-into-a-cell")
    state = probe(page)
    assert {k: state["loaded"][k] for k in ("variable", "run_id", "task_id", "inserted", "where")} == {
        "variable": "make_frame_1", "run_id": 1, "task_id": 0, "inserted": True,
        "where": "inserted@2"}
    run_cell(page, new_cell)
    expect(new_cell.locator(".jp-OutputArea-output")).to_contain_text("<b>east</b>")

    # Rerun run 1 with version 1, full: the popup, then the new run appears and finishes.
    ex.locator(".dt-runs-table tr[data-run-id='1'] .dt-rerun-btn").click()
    dialog = ex.locator(".dt-dialog")
    expect(dialog).to_be_visible()
    dialog.locator(".dt-version").fill("1")
    dialog.locator(".dt-full").check()
    screenshot(ex, "07-rerun-popup")
    dialog.locator(".dt-confirm").click()
    expect(dialog).to_have_count(0)
    # The new run sits under run 1 (reruns are grouped under their original), selected.
    new_row = ex.locator(".dt-runs-table tr.dt-child")
    expect(new_row).to_have_class(re.compile("dt-selected"))
    expect(new_row.locator(".dt-tag")).to_have_text("rerun of #1 · full")
    new_id = int(new_row.get_attribute("data-run-id"))
    expect(new_row.locator(".dt-badge")).to_have_text("completed", timeout=60_000)
    expect(ex.locator(".dt-node.dt-state-completed")).to_have_count(2)
    screenshot(ex, "08-rerun-completed")
    state = probe(page)
    assert (state["run_id"], state["runs"], state["error"]) == (
        new_id, [[new_id, "completed", 1, True, 1], [2, "completed", None, False, 1],
                 [1, "completed", None, False, 1]], "")
    assert [m for m in state["messages"] if m not in ("hello", "bye")] == [
        "select_workflow", "select_run", "select_task", "task_result", "load_result",
        "inserted", "rerun", "task_result"]
    # The new run kept the selected task and its Result tab: its result was asked for.
    expect(ex.locator(".dt-task-name")).to_have_text("make_frame")


def test_live_updates_while_the_kernel_is_busy_and_closing_stops_them(server, page, screenshot):
    gate, ack = server.base / "gate", server.base / "ack"
    server.python("from tests.jupyter_ext import explorer_workflows as ew\n"
                  f"ew.gated_pipeline({str(gate)!r})")
    busy = ("import time\nfrom pathlib import Path\n"
            f"Path({str(gate)!r}).touch()\n"
            "deadline = time.monotonic() + 120\n"
            f"while not Path({str(ack)!r}).exists() and time.monotonic() < deadline:\n"
            "    time.sleep(0.05)\n"
            "print('released')")
    url = server.notebook("live.ipynb", ["%load_ext datatailr", "w = %dt_runs Gated Pipeline",
                                         busy, PROBE_CELL, "w.close()\nprint('closed', w.polling)"])
    open_notebook(page, url)
    run_cell(page, cell(page, "%load_ext"))
    run_cell(page, cell(page, "%dt_runs"))
    ex = widget(page)
    expect(ex.locator(".dt-run-head .dt-badge").first).to_have_text("running", timeout=60_000)
    ex.locator(".dt-node[data-task-name='wait_for_file']").click()
    expect(ex.locator(".dt-task-panel pre.dt-log")).to_have_text("waiting for the gate\n",
                                                                 timeout=30_000)
    expect(ex.locator(".dt-live")).to_have_text("live")
    screenshot(ex, "10-live-running")

    # The next cell opens the gate and keeps the kernel busy until the test has seen the
    # explorer catch up: only the kernel-side thread can have updated it meanwhile.
    busy_cell = cell(page, "Path(")
    run_cell(page, busy_cell, wait=False)
    expect(ex.locator(".dt-node.dt-state-completed")).to_have_count(2, timeout=60_000)
    expect(ex.locator(".dt-task-panel pre.dt-log")).to_have_text("waiting for the gate\ngate open\n")
    expect(ex.locator(".dt-run-head .dt-badge").first).to_have_text("completed")
    expect(busy_cell.locator(".jp-InputArea-prompt")).to_have_text("[*]:")
    expect(ex.locator(".dt-live")).to_have_text("idle")
    screenshot(ex, "11-live-completed-while-kernel-busy")
    # A click now waits for the kernel, and says so; it is handled once the cell is done.
    ex.locator(".dt-node[data-task-name='after_gate']").click()
    expect(ex.locator(".dt-waiting")).to_have_text("waiting for the kernel…")
    screenshot(ex, "11b-click-while-kernel-busy")
    ack.touch()
    expect(busy_cell.locator(".jp-OutputArea-output")).to_have_text("released", timeout=30_000)
    expect(ex.locator(".dt-task-name")).to_have_text("after_gate")
    expect(ex.locator(".dt-waiting")).to_have_text("")

    state = probe(page)
    assert (state["run_state"], state["live"], state["polling"]) == ("completed", False, True)
    assert [m for m in state["messages"] if m != "hello"] == ["select_task", "select_task"]

    close = cell(page, "w.close()")
    run_cell(page, close)
    expect(close.locator(".jp-OutputArea-output")).to_have_text("closed False")
    expect(page.locator(".dt-explorer")).to_have_count(0)


def test_a_big_dag_zoom_pan_find_paging_and_dark_theme(server, page, screenshot):
    url = server.notebook("big.ipynb", [
        "%load_ext datatailr", "w = %dt_runs Wide Fan Out", PROBE_CELL,
        "from datatailr.jupyter_ext import ExplorerWidget\n"
        "w2 = ExplorerWidget(workflow='Frame Report', page_size=1)\nw2"])
    open_notebook(page, url)
    run_cell(page, cell(page, "%load_ext"))
    run_cell(page, cell(page, "%dt_runs"))
    ex = widget(page)
    expect(ex.locator(".dt-node")).to_have_count(241)
    dag = ex.locator(".dt-dag")
    assert (dag.get_attribute("data-engine"), dag.get_attribute("data-nodes")) == ("layered", "241")
    screenshot(ex, "12-big-dag-fit")

    viewport = ex.locator(".dt-viewport")

    def transform():
        x, y, k = map(float, re.match(r"translate\(([-\d.]+),([-\d.]+)\) scale\(([-\d.]+)\)",
                                      viewport.get_attribute("transform")).groups())
        return x, y, k

    _, _, k0 = transform()
    ex.locator(".dt-zoom-in").click()
    ex.locator(".dt-zoom-in").click()
    assert transform()[2] == pytest.approx(k0 * 1.25 * 1.25, rel=1e-3)
    x1, y1, _ = transform()
    # The drag starts inside the window: running the cell moved the notebook on to the next
    # one, which scrolls the graph's top out of it (and JupyterLab keeps it there). Near the
    # graph's bottom-left corner, then.
    box = ex.locator(".dt-dag-view").bounding_box()
    assert 0 < box["y"] + box["height"] - 80 < page.viewport_size["height"], box
    # On a loaded machine the first drag can land before the view listens: drag again while
    # it has not moved at all (a drag that moves it wrongly still fails below).
    for _ in range(5):
        page.mouse.move(box["x"] + 12, box["y"] + box["height"] - 80)
        page.mouse.down()
        page.mouse.move(box["x"] + 62, box["y"] + box["height"] - 50, steps=5)
        page.mouse.up()
        x2, y2, _ = transform()
        if (x2, y2) != (x1, y1):
            break
        page.wait_for_timeout(200)
    assert (x2 - x1, y2 - y1) == (pytest.approx(50, abs=0.2), pytest.approx(30, abs=0.2))
    assert probe(page)["task_id"] is None  # a drag is not a click on a task

    find = ex.locator(".dt-find")
    find.fill("collect")
    expect(ex.locator(".dt-found")).to_have_text("1 match")
    find.press("Enter")
    expect(ex.locator(".dt-node[data-task-name='collect']")).to_have_class(re.compile("dt-selected"))
    expect(ex.locator(".dt-task-name")).to_have_text("collect")
    screenshot(ex, "13-big-dag-found")
    assert probe(page)["task_id"] == 240
    ex.locator(".dt-fit").click()
    assert transform() == pytest.approx((0.0 + transform()[0], transform()[1], k0))

    # Paging and the time range, on a second explorer with one run a page.
    run_cell(page, cell(page, "w2 = ExplorerWidget"))
    ex2 = page.locator(".dt-explorer").nth(1)
    expect(ex2.locator(".dt-page-label")).to_have_text(re.compile(r"Page 1 of \d"))
    ex2.locator(".dt-next").click()
    expect(ex2.locator(".dt-page-label")).to_have_text(re.compile(r"Page 2 of \d"))
    ex2.locator(".dt-preset[data-preset='1h']").click()
    expect(ex2.locator(".dt-preset[data-preset='1h']")).to_have_class(re.compile("dt-on"))
    expect(ex2.locator(".dt-page-label")).to_have_text(re.compile(r"Page 1 of \d"))
    expect(ex2.locator(".dt-from")).not_to_have_value("")
    ex2.locator(".dt-preset[data-preset='all']").click()
    expect(ex2.locator(".dt-from")).to_have_value("")

    # JupyterLab's dark theme: the explorer follows the --jp-* variables.
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Dark$")).click()
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    ex2.locator(".dt-node[data-task-name='make_frame']").click()
    ex2.locator(".dt-tab[data-tab='result']").click()
    expect(ex2.locator("table.dt-df tbody tr")).to_have_count(3)
    screenshot(ex, "14-dark-big-dag")
    screenshot(ex2, "15-dark-task-result")
    background = ex2.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background != "rgb(255, 255, 255)"
