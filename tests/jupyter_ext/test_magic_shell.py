"""%load_ext datatailr and %dt_runs in a real IPython shell (IPython.testing.globalipapp)."""

from __future__ import annotations

import IPython
import pytest
from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import capture_output

from datatailr.jupyter_ext import ExplorerWidget
from tests.fixtures import spec_workflows
from tests.jupyter_ext import explorer_workflows as ew

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def ip(home):
    shell = start_ipython() or IPython.get_ipython()
    shell.run_line_magic("load_ext", "datatailr")
    yield shell
    for name in [k for k, v in shell.user_ns.items() if isinstance(v, ExplorerWidget)]:
        shell.user_ns[name].close()
    from ipywidgets.widgets.widget import _instances

    for widget in list(_instances.values()):
        if isinstance(widget, ExplorerWidget):
            widget.close()


def widget_outputs(captured) -> list[str]:
    return [o.data[WIDGET_MIME]["model_id"] for o in captured.outputs if WIDGET_MIME in o.data]


def test_load_ext_registers_the_magic(ip):
    assert "dt_runs" in ip.magics_manager.magics["line"]


def test_vendor_extension_path_registers_it_too(ip):
    del ip.magics_manager.magics["line"]["dt_runs"]
    ip.run_line_magic("load_ext", "datatailr.scheduler.jupyter_magic")
    assert "dt_runs" in ip.magics_manager.magics["line"]


def test_assigned_magic_returns_the_widget_and_shows_it_once(ip):
    spec_workflows.complex_pipeline(local_run=True, progress=False)
    with capture_output() as captured:
        result = ip.run_cell("w = %dt_runs Complex Pipeline --env dev")
    assert result.success
    w = ip.user_ns["w"]
    assert isinstance(w, ExplorerWidget)
    assert (w.workflow, w.environment, w.run_id, w.error) == ("complex-pipeline", "dev", 1, "")
    assert widget_outputs(captured) == [w.model_id]


def test_bare_magic_shows_the_widget_once(ip):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    with capture_output() as captured:
        result = ip.run_cell("%dt_runs")
    assert result.success
    w = result.result
    assert (w.workflow, w.environment, [x["slug"] for x in w.workflows]) == (
        "", "dev", ["daily-sales-report"])
    assert widget_outputs(captured) == [w.model_id]
    # Shown again later, it displays as any widget does.
    with capture_output() as again:
        ip.run_cell("_")
    assert widget_outputs(again) == [w.model_id]


def test_env_only_and_name_words(ip):
    spec_workflows.sales_pipeline(local_run=True, progress=False, environment="pre")
    w = ip.run_cell("%dt_runs --env pre").result
    assert (w.environment, w.workflow) == ("pre", "")
    w = ip.run_cell("%dt_runs daily sales report -e pre").result
    assert (w.environment, w.workflow, w.run_count) == ("pre", "daily-sales-report", 1)


def test_a_bad_option_is_one_clear_line_without_traceback(ip, capsys):
    result = ip.run_cell("%dt_runs my-workflow --env staging")
    assert not result.success
    err = capsys.readouterr().err
    assert err.strip() == ("UsageError: Unknown environment 'staging': use one of 'dev', 'pre', "
                           "'prod' (or Environment.DEV/PRE/PROD).")


def test_load_text_form_sets_a_variable_and_the_next_input(ip, capsys):
    run = spec_workflows.sales_pipeline(local_run=True, progress=False)
    ip.rl_next_input = None
    result = ip.run_cell(f"%dt_runs load {run.run_id} fetch_data")
    assert result.success
    assert result.result == {"sales": [100, 200, 150]}
    assert ip.user_ns["fetch_data_1"] == {"sales": [100, 200, 150]}
    assert ip.rl_next_input == (
        "from datatailr import Workflow\n\n"
        "fetch_data_1 = Workflow(name='daily_sales_report', environment='dev', "
        "get_existing=True).result(run_id=1, task_name='fetch_data')\nfetch_data_1")
    assert "Loaded fetch_data of run 1 into fetch_data_1." in capsys.readouterr().out


def test_load_text_form_of_an_unknown_task_names_the_tasks(ip, capsys):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    assert not ip.run_cell("%dt_runs load 1 nope").success
    assert capsys.readouterr().err.strip() == (
        "UsageError: Run 1 of 'daily_sales_report' has no task 'nope'; its tasks: "
        "fetch_data, calculate_total.")
    assert not ip.run_cell("%dt_runs load 99 nope").success
    assert capsys.readouterr().err.strip() == "UsageError: No run with run_id 99."


def test_without_a_widget_front_end_the_magic_shows_readable_text(ip):
    ew.failing_pipeline(local_run=True, progress=False)
    with capture_output() as captured:
        ip.run_cell("%dt_runs")
    (out,) = [o.data["text/plain"] for o in captured.outputs]
    assert out.splitlines()[:4] == [
        "Workflows in dev (1)", "",
        "Workflow          Version  Tasks  State   Schedule  Last run",
        "----------------  -------  -----  ------  --------  ----------------------"]
    assert out.splitlines()[4].startswith("Failing Pipeline  v1       1      failed  manual    #1 20")
    with capture_output() as captured:
        ip.run_cell("%dt_runs Failing Pipeline")
    text = captured.outputs[0].data["text/plain"]
    assert "Failing Pipeline · dev · 1 run" in text
    assert ("failed at boom: ZeroDivisionError: cannot divide by zero") in text
    assert "ExplorerWidget" not in text


def test_in_a_kernel_a_static_snapshot_goes_beside_the_widget(home):
    import types

    shell = start_ipython() or IPython.get_ipython()
    ew.frame_report(local_run=True, progress=False)
    w = ExplorerWidget(workflow="Frame Report", poll_interval=None,
                       shell=types.SimpleNamespace(user_ns={}, kernel=object()))
    try:
        with capture_output() as captured:
            w._ipython_display_()
        snapshot, widget = captured.outputs
        assert WIDGET_MIME in widget.data and WIDGET_MIME not in snapshot.data
        html = snapshot.data["text/html"]
        assert "run this cell again for the live explorer" in html
        assert "&lt;script&gt;" not in html and "<script" not in html
        assert "Run #1 completed · version 1" in html
        assert shell is not None
    finally:
        w.close()


def test_a_terminal_ipython_prints_the_text_view(home, tmp_path):
    import os
    import subprocess
    import sys

    ew.frame_report(local_run=True, progress=False)
    script = tmp_path / "show.ipy"
    script.write_text("%load_ext datatailr\n%dt_runs Frame Report\n")
    env = {**os.environ, "DATATAILR_HOME": str(home), "IPYTHONDIR": str(tmp_path / "ipython"),
           "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor",
                           str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Frame Report · dev · 1 run"
    assert lines[2].split() == ["Run", "State", "Start", "(UTC)", "Duration", "Version"]
    assert lines[4].split()[:2] == ["#1", "completed"]
    assert any(line.startswith("Run #1 completed · version 1 · ") for line in lines)
    assert [line.split()[:2] for line in lines[-2:]] == [["make_frame", "completed"],
                                                           ["summarize", "completed"]]
