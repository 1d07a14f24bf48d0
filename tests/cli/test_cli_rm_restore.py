"""`dt job rm` is a soft removal (a whole workflow, or one version: a rollback) undone by
`dt job restore`; `--purge` deletes for good. On a store filled by real local runs."""

from __future__ import annotations

import pytest

from datatailr import Workflow
from datatailr.errors import NotFoundError
from tests.cli.conftest import dt
from tests.fixtures import spec_workflows


@pytest.fixture
def three_versions(home):
    for _ in range(3):
        spec_workflows.sales_pipeline(save_only=True)
    run = spec_workflows.sales_pipeline(local_run=True, progress=False)
    return run


def test_removing_the_current_version_rolls_back_and_restore_undoes_it(three_versions):
    assert Workflow("daily_sales_report").job_version == 3
    done = dt("job", "rm", "daily_sales_report", "-v", "3", "--yes")
    assert (done.exit_code, done.stdout) == (0, (
        "Removed version 3 of 'daily_sales_report' in dev: version 2 is current. "
        "Undo with: dt job restore daily-sales-report -v 3 -e dev\n"))
    wf = Workflow("daily_sales_report")
    assert wf.job_version == 2
    assert [(v["job_version"], v["removed"]) for v in wf.versions()] == [
        (1, False), (2, False), (3, True)]
    assert wf.result(three_versions.run_id, "calculate_total") == 450  # history stays
    done = dt("job", "restore", "daily_sales_report", "-v", "3")
    assert (done.exit_code, done.stdout) == (0, "Restored version 3 of 'daily_sales_report' "
                                                "in dev.\n")
    assert Workflow("daily_sales_report").job_version == 3


def test_a_removed_workflow_is_gone_from_lists_until_restored(three_versions):
    done = dt("job", "rm", "daily_sales_report", "--yes")
    assert (done.exit_code, done.stdout) == (0, (
        "Removed 'daily_sales_report' from dev. Undo with: dt job restore daily-sales-report "
        "-e dev\n"))
    with pytest.raises(NotFoundError, match="It was removed; bring it back with"):
        Workflow("daily_sales_report")
    assert "daily_sales_report" not in dt("job", "ls").stdout
    assert dt("job", "restore", "daily_sales_report").exit_code == 0
    wf = Workflow("daily_sales_report")
    assert (wf.job_version, wf.result(three_versions.run_id, "fetch_data")) == (
        3, {"sales": [100, 200, 150]})
    again = dt("job", "restore", "daily_sales_report")
    assert (again.exit_code, again.stderr) == (1, (
        "Error: 'daily_sales_report' is not removed in dev; to make an earlier version "
        "current, remove the later ones (remove(version=N)).\n"))


def test_purge_deletes_for_good(three_versions):
    assert dt("job", "rm", "daily_sales_report", "--yes", "--purge").exit_code == 0
    done = dt("job", "restore", "daily_sales_report")
    assert done.exit_code == 1 and "No workflow 'daily_sales_report'" in done.stderr


def test_a_deploy_brings_a_removed_workflow_back_with_its_history(three_versions):
    Workflow("daily_sales_report").remove()
    spec_workflows.sales_pipeline(save_only=True)
    wf = Workflow("daily_sales_report")
    assert (wf.job_version, [r["run_id"] for r in wf.runs()]) == (4, [three_versions.run_id])
