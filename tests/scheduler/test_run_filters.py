"""Workflow.runs() and count_runs() filter in the store by trigger, version and rerun_of."""

from __future__ import annotations

import pytest

from datatailr import Workflow
from datatailr.errors import InvalidArgumentError
from datatailr.scheduler.batch import Run
from tests.jupyter_ext import explorer_workflows as ew


def ids(rows):
    return [r["run_id"] for r in rows]


@pytest.fixture
def history(home):
    """Runs 1-6 of Frame Report: local v1, local v1, local v2, a local rerun of 1 (v2), then
    on the agent a manual start (v2), a deploy with instant_run (v2), a rerun of 2 (v2)."""
    ew.frame_report(local_run=True, progress=False)
    ew.frame_report(local_run=True, progress=False)
    ew.frame_report_v2(local_run=True, progress=False)
    wf = Workflow("Frame Report")
    wf.rerun(1, local_run=True, progress=False)
    manual = wf.start(quiet=True)
    assert manual.wait(timeout=120) == "completed"
    deployed = ew.frame_report_v2(instant_run=True, progress=False)
    assert Run(wf, deployed.run_id).wait(timeout=120) == "completed"
    rerun = wf.rerun(2)
    assert rerun.wait(timeout=120) == "completed"
    return Workflow("Frame Report")


def test_filters_by_trigger_version_and_rerun_of(history):
    wf = history
    assert [(r["run_id"], r["trigger"], r["job_version"], r["rerun_of"]) for r in wf.runs()] == [
        (7, "rerun", 2, 2), (6, "deploy", 2, None), (5, "manual", 2, None),
        (4, "local", 2, 1), (3, "local", 2, None), (2, "local", 1, None), (1, "local", 1, None)]
    assert ids(wf.runs(trigger="local")) == [4, 3, 2, 1]
    assert ids(wf.runs(trigger=["manual", "deploy"])) == [6, 5]
    assert ids(wf.runs(trigger="schedule")) == []
    assert ids(wf.runs(job_version=1)) == [2, 1]
    assert ids(wf.runs(job_version=[1, 2], trigger="rerun")) == [7]
    assert ids(wf.runs(rerun_of=1)) == [4]
    assert ids(wf.runs(rerun_of=2, trigger="rerun")) == [7]
    assert ids(wf.runs(rerun_of=3)) == []
    assert ids(wf.runs(trigger="local", limit=2, offset=1)) == [3, 2]
    assert ids(wf.runs(state="completed", job_version=2, trigger="local")) == [4, 3]
    assert [wf.count_runs(), wf.count_runs(trigger="local"), wf.count_runs(job_version=[2]),
            wf.count_runs(trigger=("deploy",), job_version=2), wf.count_runs(rerun_of=1),
            wf.count_runs(rerun_of="2")] == [7, 4, 5, 1, 1, 1]


def test_the_cache_keeps_each_filter_apart(history):
    wf = history
    assert ids(wf.runs(trigger="local")) == [4, 3, 2, 1]
    assert ids(wf.runs(trigger="manual")) == [5]  # not the cached local runs
    assert ids(wf.runs(job_version=1)) == [2, 1]
    assert ids(wf.runs(job_version=[1])) == [2, 1]
    assert ids(wf.runs(rerun_of=1)) == [4]


@pytest.mark.parametrize("kwargs, message", [
    ({"trigger": "cron"}, "trigger='cron': 'cron' is not a trigger; give one of local, deploy, "
                          "manual, schedule, rerun, restart (or a list of them)."),
    ({"trigger": ["local", 3]}, "trigger=['local', 3]: 3 is not a trigger; give one of local, "
                                "deploy, manual, schedule, rerun, restart (or a list of them)."),
    ({"trigger": []}, "trigger=[]: an empty list matches no run; give None for every trigger, "
                      "or some of local, deploy, manual, schedule, rerun, restart."),
    ({"job_version": 0}, "job_version=0: 0 is not a version; versions are whole numbers from 1 "
                         "(give one, e.g. job_version=2, or a list of them)."),
    ({"job_version": "2"}, "job_version='2': '2' is not a version; versions are whole numbers "
                           "from 1 (give one, e.g. job_version=2, or a list of them)."),
    ({"job_version": [1, True]}, "job_version=[1, True]: True is not a version; versions are "
                                 "whole numbers from 1 (give one, e.g. job_version=2, or a list "
                                 "of them)."),
    ({"job_version": []}, "job_version=[]: an empty list matches no run; give None for every "
                          "version, or some versions, e.g. [1, 2]."),
    ({"rerun_of": 1.5}, "rerun_of=1.5: give a whole number (e.g. rerun_of=12); a float is not "
                        "an id."),
])
def test_bad_filters_are_errors_naming_the_value(home, kwargs, message):
    ew.frame_report(local_run=True, progress=False)
    wf = Workflow("Frame Report")
    for call in (wf.runs, wf.count_runs):
        with pytest.raises(InvalidArgumentError) as err:
            call(**kwargs)
        assert str(err.value) == message


def test_the_store_filters_the_same_way(home):
    from datatailr.scheduler.platform import current_platform

    ew.frame_report(local_run=True, progress=False)
    ew.frame_report_v2(local_run=True, progress=False)
    Workflow("Frame Report").rerun(1, local_run=True, progress=False)
    meta = current_platform().metadata
    run = meta.get_run(1)
    assert ([r["run_id"] for r in meta.list_runs(run["workflow_id"], job_version=2)],
            [r["run_id"] for r in meta.list_runs(run["workflow_id"], rerun_of=1)],
            meta.count_runs(run["workflow_id"], trigger=["local"], job_version=(1, 2)),
            meta.count_runs(run["workflow_id"], trigger="schedule")) == ([3, 2], [3], 3, 0)
    with pytest.raises(InvalidArgumentError, match=r"^rerun_of=-1: give the id of the run"):
        meta.list_runs(run["workflow_id"], rerun_of=-1)
