"""The explorer at 360, 800 and 1400 px, light and dark: layout, failures and reruns, logs,
a retried task's attempts, timeline, grid, definition, keyboard, the rerun popup and the
saved-notebook snapshot, each click checked on the kernel side.

One JupyterLab for the module. Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import Lab, cell, open_notebook, run_cell

SEED = """
from datatailr import Workflow
from tests.jupyter_ext import explorer_workflows as ew
ew.frame_report(local_run=True, progress=False)
ew.failing_pipeline(local_run=True, progress=False)
ew.chatty(local_run=True, progress=False)
Workflow("Frame Report").rerun(1).wait(timeout=60)
import tempfile
ew.flaky_twice(tempfile.mkdtemp(), local_run=True, progress=False)
"""

PROBE = '''import json
def probe(w):
    print("PROBE " + json.dumps({
        "workflow": w.workflow, "run_id": w.run_id, "task_id": w.task_id, "view": w.view,
        "state_filter": w.state_filter, "error": w.error, "status": w.status,
        "superseded_by": w.run.get("superseded_by"),
        "messages": [m.get("type") for m in w.messages if m.get("type") not in ("hello", "bye")]}))
probe(w)'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("layout"))
    lab.python(SEED)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


def probe(page) -> dict:
    c = cell(page, "def probe")
    run_cell(page, c)
    text = c.locator(".jp-OutputArea-output").last.inner_text()
    match = re.search(r"PROBE (\{.*\})", text, re.S)
    assert match, text
    return json.loads(match.group(1))


def box(locator) -> dict:
    b = locator.bounding_box()
    assert b is not None
    return b


def no_horizontal_cut(page, ex) -> None:
    """The explorer fits the output area: what is wider scrolls inside it."""
    out = box(ex.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea-output')][1]"))
    mine = box(ex)
    assert mine["x"] >= out["x"] - 1 and mine["x"] + mine["width"] <= out["x"] + out["width"] + 1


def set_theme(page, name: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{name}$")).click()
    expect(page.locator("body")).to_have_attribute(
        "data-jp-theme-light", "false" if "Dark" in name else "true")


def test_layout_failures_reruns_logs_and_views(server, page, screenshot):
    url = server.notebook("layout.ipynb", ["%load_ext datatailr", "w = %dt_runs Failing Pipeline",
                                           PROBE])
    page.set_viewport_size({"width": 1400, "height": 900})
    open_notebook(page, url)
    run_cell(page, cell(page, "%load_ext"))
    run_cell(page, cell(page, "%dt_runs"))
    ex = page.locator(".dt-explorer").first
    # The run header says where it failed; the link opens that task on its stderr.
    expect(ex.locator(".dt-fail-line")).to_have_text(
        "failed at boom: ZeroDivisionError: cannot divide by zero")
    ex.locator(".dt-fail-task").click()
    expect(ex.locator(".dt-task-panel .dt-tab.dt-on")).to_have_attribute("data-tab", "stderr")
    expect(ex.locator(".dt-task-panel pre.dt-log")).to_contain_text("ZeroDivisionError")
    # Wide: the graph and the task side by side, both in view.
    run_panel, task_panel = box(ex.locator(".dt-run-panel")), box(ex.locator(".dt-task-panel"))
    assert task_panel["x"] > run_panel["x"] + run_panel["width"] - 1
    assert abs(task_panel["y"] - run_panel["y"]) < 5
    # The selected outline is the text colour, not the running blue.
    stroke = ex.locator(".dt-node.dt-selected rect").first.evaluate("e => getComputedStyle(e).stroke")
    running = ex.evaluate("e => getComputedStyle(e).getPropertyValue('--jp-brand-color1')")
    assert stroke not in ("", running)
    no_horizontal_cut(page, ex)
    screenshot(ex, "30-1400-failed-task-side-by-side")
    state = probe(page)
    assert (state["workflow"], state["task_id"], state["error"]) == ("failing-pipeline", 0, "")
    # The failed chip picks the failed tasks out (and selects the first).
    ex.locator(".dt-chip[data-state='failed']").click()
    expect(ex.locator(".dt-chip[data-state='failed']")).to_have_attribute("aria-pressed", "true")

    # A partial rerun: reused marks in the graph, header and task panel; links both ways.
    ex.locator(".dt-workflow-select").select_option("frame-report")
    rerun_row = ex.locator(".dt-runs-table tr.dt-child")
    expect(rerun_row).to_have_count(1)
    rerun_row.click()
    expect(ex.locator(".dt-reuse-counts")).to_have_text("2 reused · 0 executed")
    expect(ex.locator(".dt-node.dt-reused")).to_have_count(2)
    ex.locator(".dt-node[data-task-name='summarize']").click()
    expect(ex.locator(".dt-reused-tag")).to_have_text("reused from run #1")
    ex.locator(".dt-rerun-of-link").click()
    expect(ex.locator(".dt-superseded-link")).to_have_count(1)
    # Switching runs kept the selected task.
    expect(ex.locator(".dt-task-name")).to_have_text("summarize")
    screenshot(ex, "31-1400-original-superseded")
    state = probe(page)
    rerun_id = int(rerun_row.get_attribute("data-run-id"))
    assert (state["run_id"], state["superseded_by"], state["task_id"]) == (1, [rerun_id], 1)

    # Keyboard: the selected node is in the tab order; arrows move, Enter opens.
    ex.locator(".dt-node[data-task-name='summarize']").focus()
    page.keyboard.press("ArrowLeft")
    expect(ex.locator(".dt-node[data-task-name='make_frame']")).to_be_focused()
    page.keyboard.press("Enter")
    expect(ex.locator(".dt-task-name")).to_have_text("make_frame")
    screenshot(ex, "32-keyboard-focus")
    assert probe(page)["task_id"] == 0

    # Timeline, grid and definition, each a kernel-side view.
    ex.locator(".dt-view-tab[data-view='timeline']").click()
    expect(ex.locator(".dt-tl-row")).to_have_count(2)
    screenshot(ex, "33-timeline")
    ex.locator(".dt-view-tab[data-view='grid']").click()
    expect(ex.locator(".dt-grid-table tbody tr")).to_have_count(2)
    ex.locator(f".dt-grid-cell[data-run-id='{rerun_id}'][data-task-id='1']").click()
    expect(ex.locator(".dt-task-panel .dt-kv b").first).to_have_text(f"#{rerun_id}")
    screenshot(ex, "34-grid")
    state = probe(page)
    assert (state["view"], state["run_id"], state["task_id"]) == ("grid", rerun_id, 1)
    ex.locator(".dt-view-tab[data-view='definition']").click()
    expect(ex.locator(".dt-source")).to_contain_text("def make_frame")
    screenshot(ex, "35-definition")
    assert probe(page)["view"] == "definition"
    ex.locator(".dt-view-tab[data-view='graph']").click()

    # The rerun popup: letters are refused with a message; empty means the latest.
    ex.locator(".dt-run-rerun").click()
    dialog = ex.locator(".dt-dialog")
    expect(dialog.locator(".dt-version")).to_have_attribute("placeholder", "latest (1)")
    dialog.locator(".dt-version").fill("two")
    expect(dialog.locator(".dt-dialog-error")).to_have_text(
        '"two" is not a version: type a whole number ≥ 1, or leave it empty for the latest.')
    dialog.locator(".dt-confirm").click()
    expect(dialog).to_be_visible()
    screenshot(ex, "36-rerun-version-refused")
    dialog.locator(".dt-cancel").click()

    # The run-state filter is the kernel's.
    ex.locator(".dt-filter[data-state='failed']").click()
    expect(ex.locator(".dt-runs-table .dt-empty")).to_have_text("No runs match the range and filters.")
    assert probe(page)["state_filter"] == ["failed"]
    ex.locator(".dt-filter[data-state='']").click()
    expect(ex.locator(".dt-runs-table tbody tr")).to_have_count(2)

    # Narrower: stacked, nothing cut off; opening a task scrolls its panel into view. (At
    # phone widths JupyterLab's own file browser would take the whole window: fold it.)
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
    for width in (800, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        ex.locator(".dt-fit").click()
        ex.locator(".dt-node[data-task-name='summarize']").click()
        expect(ex.locator(".dt-task-name")).to_have_text("summarize")
        expect(ex.locator(".dt-task-panel")).to_be_in_viewport()
        run_panel, task_panel = box(ex.locator(".dt-run-panel")), box(ex.locator(".dt-task-panel"))
        assert task_panel["y"] >= run_panel["y"] + run_panel["height"] - 1
        no_horizontal_cut(page, ex)
        screenshot(page, f"37-{width}-stacked-task-in-view")
        ex.locator(".dt-node[data-task-name='make_frame']").click()
    set_theme(page, "JupyterLab Dark")
    page.wait_for_timeout(300)
    screenshot(page, "38-360-dark")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.wait_for_timeout(300)
    screenshot(ex, "39-1400-dark")
    set_theme(page, "JupyterLab Light")

    # The saved notebook keeps a static snapshot beside the widget; the live view hides it.
    expect(page.locator(".dt-snapshot")).to_be_hidden()
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)
    saved = json.loads((server.root / "layout.ipynb").read_text())
    outputs = saved["cells"][1]["outputs"]
    html = "".join("".join(o["data"]["text/html"]) for o in outputs  # str or list of lines
                   if "text/html" in o.get("data", {}))
    assert "run this cell again for the live explorer" in html
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


def test_logs_counts_colours_search_and_download(server, page, screenshot):
    url = server.notebook("logs.ipynb", ["%load_ext datatailr", "w = %dt_runs Chatty", PROBE])
    page.set_viewport_size({"width": 1400, "height": 900})
    open_notebook(page, url)
    run_cell(page, cell(page, "%load_ext"))
    run_cell(page, cell(page, "%dt_runs"))
    page.set_viewport_size({"width": 800, "height": 900})
    ex = page.locator(".dt-explorer").first
    ex.locator(".dt-node[data-task-name='talk']").click()
    expect(ex.locator(".dt-tab[data-tab='stdout'] .dt-tab-n")).to_have_text("20,001", timeout=30_000)  # a 20,001-line log
    expect(ex.locator(".dt-log-cut code")).to_have_text(
        "Workflow(name='Chatty', environment='dev', get_existing=True)"
        ".logs(run_id=3, task_name='talk', lines=20001)")
    # Colours as colours, and the escape codes gone from the text.
    red = ex.locator("pre.dt-log .dt-fg-red").first
    expect(red).to_have_text("red")
    assert "\x1b" not in ex.locator("pre.dt-log").inner_text()
    # Search: the tail at once, the whole log with Enter.
    search = ex.locator(".dt-log-search")
    search.fill("line 1999")
    expect(ex.locator("pre.dt-log mark.dt-log-hit")).to_have_count(10)
    search.press("Enter")
    expect(ex.locator(".dt-log-found .dt-note")).to_have_text(
        '11 lines of the whole log contain "line 1999":')
    screenshot(ex, "40-logs-search")
    with page.expect_download() as download:
        ex.locator(".dt-download").click()
    path = download.value.path()
    assert download.value.suggested_filename == "chatty-run3-talk.stdout.log"
    assert open(path).read().count("\n") == 20_001
    assert probe(page)["messages"] == ["select_task", "log_search", "log_download"]


ATTEMPT_PROBE = '''import json
def probe(w):
    print("PROBE " + json.dumps({
        "task_id": w.task_id, "attempt": w.task.get("attempt"),
        "log_attempts": w.task.get("log_attempts"), "stdout": w.task.get("stdout"),
        "stderr_tail": (w.task.get("stderr") or "").splitlines()[-1:], "error": w.error,
        "picks": [m.get("attempt") for m in w.messages if m.get("type") == "select_attempt"],
        "messages": [m.get("type") for m in w.messages if m.get("type") not in ("hello", "bye")]}))
probe(w)'''


def test_a_retried_task_shows_its_latest_attempt_and_picks_another(server, page, screenshot):
    url = server.notebook("attempts.ipynb", ["%load_ext datatailr", "w = %dt_runs Flaky Twice",
                                             ATTEMPT_PROBE])
    page.set_viewport_size({"width": 1400, "height": 900})
    open_notebook(page, url)
    run_cell(page, cell(page, "%load_ext"))
    run_cell(page, cell(page, "%dt_runs"))
    ex = page.locator(".dt-explorer").first
    ex.locator(".dt-node[data-task-name='fails_twice']").click()
    bar, log = ex.locator(".dt-attempts-bar"), ex.locator(".dt-task-panel pre.dt-log")
    note = bar.locator(".dt-attempt-note")
    # The latest attempt, said so; the others one click away.
    expect(note).to_have_text("Showing attempt 3 of 3, the latest.")
    expect(bar.locator("button")).to_have_text(["all", "1", "2", "3 · latest"])
    expect(bar.locator("button[aria-pressed='true']")).to_have_text("3 · latest")
    expect(log).to_have_text("attempt 3 starts")
    expect(ex.locator(".dt-tab[data-tab='stderr'] .dt-tab-n")).to_have_text("0")
    screenshot(ex, "41-1400-attempts-latest")
    state = probe(page)
    assert (state["attempt"], state["log_attempts"], state["stdout"], state["picks"]) == (
        3, 3, "attempt 3 starts\n", [])

    # A click: the kernel serves attempt 1's logs.
    bar.locator("button[data-attempt='1']").click()
    expect(note).to_have_text("Showing attempt 1 of 3.")
    expect(log).to_have_text("attempt 1 starts")
    ex.locator(".dt-tab[data-tab='stderr']").click()
    expect(log).to_contain_text("RuntimeError: transient failure 1")
    expect(log).not_to_contain_text("transient failure 2")
    screenshot(ex, "42-1400-attempt-1-stderr")
    state = probe(page)
    assert (state["attempt"], state["stdout"], state["stderr_tail"], state["picks"], state["error"]) == (
        1, "attempt 1 starts\n", ["RuntimeError: transient failure 1"], [1], "")

    # The keyboard: arrows move between the attempts, Enter picks; focus stays on the pick.
    bar.locator("button[data-attempt='1']").focus()
    page.keyboard.press("ArrowRight")
    expect(bar.locator("button[data-attempt='2']")).to_be_focused()
    page.keyboard.press("Enter")
    expect(note).to_have_text("Showing attempt 2 of 3.")
    expect(bar.locator("button[data-attempt='2']")).to_be_focused()
    expect(log).to_contain_text("RuntimeError: transient failure 2")
    # Download (and search) act on the shown attempt.
    with page.expect_download() as download:
        ex.locator(".dt-download").click()
    assert download.value.suggested_filename == "flaky-twice-run5-fails_twice.attempt2.stderr.log"
    text = open(download.value.path()).read()
    assert (text.splitlines()[0], text.splitlines()[-1]) == (
        "attempt 2 fails", "RuntimeError: transient failure 2")
    # Tab reaches the picker right after the tab row's buttons; the arrows wrap around.
    ex.locator(".dt-load-btn").focus()
    page.keyboard.press("Tab")
    expect(bar.locator("button[data-attempt='all']")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(bar.locator("button[data-attempt='3']")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(bar.locator("button[data-attempt='all']")).to_be_focused()
    page.keyboard.press("Space")
    expect(note).to_have_text("Showing all 3 attempts, oldest first.")
    ex.locator(".dt-tab[data-tab='stdout']").click()
    expect(log).to_have_text("attempt 1 starts\nattempt 2 starts\nattempt 3 starts")
    state = probe(page)
    assert (state["attempt"], state["stdout"], state["picks"]) == (
        None, "attempt 1 starts\nattempt 2 starts\nattempt 3 starts\n", [1, 2, "all"])
    assert state["messages"] == ["select_task", "select_attempt", "select_attempt",
                                 "log_download", "select_attempt"]
    # The result is the task's, not an attempt's: no picker there.
    ex.locator(".dt-tab[data-tab='result']").click()
    expect(bar).to_be_hidden()
    ex.locator(".dt-tab[data-tab='stdout']").click()
    expect(bar).to_be_visible()
    # At phone width the row wraps inside the panel.
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
    page.set_viewport_size({"width": 360, "height": 900})
    page.wait_for_timeout(300)
    bar.scroll_into_view_if_needed()
    panel, row = box(ex.locator(".dt-task-panel")), box(bar)
    assert row["x"] >= panel["x"] - 1 and row["x"] + row["width"] <= panel["x"] + panel["width"] + 1
    no_horizontal_cut(page, ex)
    screenshot(ex.locator(".dt-task-panel"), "43-360-attempts")
