"""The explorer in Notebook 7 (the `notebook` package): renders, themes, clicks, loads."""

from __future__ import annotations

import importlib.util

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import PROBE_CELL, Lab, cell, open_notebook, probe, run_cell

pytestmark = pytest.mark.skipif(importlib.util.find_spec("notebook") is None,
                                reason="Notebook 7 is not installed (pip install notebook)")


@pytest.fixture(scope="module")
def nb7(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("nb7"), app="notebook")
    server.python("from tests.jupyter_ext import explorer_workflows as ew\n"
                  "ew.frame_report(local_run=True, progress=False)")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_explorer_in_notebook_7(nb7, page, screenshot):
    url = nb7.notebook("nb7.ipynb", ["%load_ext datatailr", "w = %dt_runs Frame Report",
                                     PROBE_CELL])
    open_notebook(page, url)
    run_cell(page, cell(page, "%load_ext"))
    run_cell(page, cell(page, "%dt_runs"))
    ex = page.locator(".dt-explorer").first
    expect(ex.locator(".dt-node")).to_have_count(2)
    ex.locator(".dt-node[data-task-name='summarize']").click()
    ex.locator(".dt-tab[data-tab='result']").click()
    expect(ex.locator(".dt-result-text")).to_have_text("{'total': 425, 'note': '<i>not italic</i>'}")
    assert ex.locator("i").count() == 0
    ex.locator(".dt-load-btn").click()
    expect(ex.locator(".dt-loaded .dt-var")).to_have_text("summarize_1")
    screenshot(ex, "20-notebook7-result-loaded")
    state = probe(page)
    assert (state["task_id"], state["loaded"]["variable"], state["error"]) == (1, "summarize_1", "")
    # Notebook 7 shares JupyterLab's notebook model: the cell is inserted there too.
    assert state["loaded"]["inserted"] is True
    expect(page.locator(".jp-Notebook .jp-Cell").nth(2)).to_contain_text("summarize_1 = Workflow(")
