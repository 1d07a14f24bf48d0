"""Fixtures of the CLI tests: a store filled by real runs, a fresh home, and ways to call `dt`.

`history_home` is filled once per session by really running the workflows of
``cli_workflows`` (``local_run=True``); its runs are numbered 1.. in the order below. Tests that
change a store (deploys, the agent, rerun, stop, promote, rm) get a `fresh_home` of their own,
whose agent is stopped afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from datatailr.cli import main

#: The runs of `history_home`, in order: run_id -> (workflow, environment, final state).
HISTORY = {
    1: ("Daily Sales Report", "dev", "completed"),
    2: ("Flaky Pipeline", "dev", "failed"),
    3: ("Complex Pipeline", "dev", "completed"),
    4: ("Frame Report", "dev", "completed"),
    5: ("Daily Sales Report", "dev", "completed"),
    6: ("Daily Sales Report", "prod", "completed"),
}

SLUGS = {
    "Daily Sales Report": "daily-sales-report",
    "Flaky Pipeline": "flaky-pipeline",
    "Complex Pipeline": "complex-pipeline",
    "Frame Report": "frame-report",
    "Fixable Pipeline": "fixable-pipeline",
    "Waiting Pipeline": "waiting-pipeline",
}

VOLATILE = ("start_time", "end_time", "created_at", "duration", "started_at", "pid")
T = "<time>"  # what `masked` puts where a time was


def masked(value: Any, keys: tuple[str, ...] = VOLATILE) -> Any:
    """``value`` with the volatile fields replaced by "<time>" (after checking their type:
    ISO 8601 strings for times, numbers for durations and pids). None stays None."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in keys and v is not None:
                if k in ("duration", "pid"):
                    assert isinstance(v, (int, float)) and v >= 0, (k, v)
                else:
                    assert isinstance(v, str) and datetime.fromisoformat(v).tzinfo is not None, (
                        k,
                        v,
                    )
                out[k] = T
            else:
                out[k] = masked(v, keys)
        return out
    if isinstance(value, list):
        return [masked(v, keys) for v in value]
    return value


def run_dict(
    run_id: int,
    workflow: str,
    state: str,
    *,
    env: str = "dev",
    job_version: int = 1,
    trigger: str = "local",
    ended: bool = True,
    **changes: Any,
) -> dict:
    """A run dict of the public API as --json prints it, times masked."""
    return {
        "run_id": run_id,
        "workflow": workflow,
        "slug": SLUGS[workflow],
        "environment": env,
        "state": state,
        "job_version": job_version,
        "start_time": T,
        "end_time": T if ended else None,
        "created_at": T,
        "duration": T if ended else None,
        "original_run_id": None,
        "rerun_of": None,
        "full": False,
        "trigger": trigger,
        "scheduled_time": None,
        **changes,
    }


def dt(*args: str, input: str | None = None, env: dict | None = None) -> Result:
    """`dt ARGS` through click's runner, in this process (stdout and stderr kept apart)."""
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def dt_json(*args: str) -> Any:
    result = dt(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def dt_error(*args: str, exit_code: int = 1) -> str:
    """The one stderr line of a failing `dt ARGS` (stdout must stay empty)."""
    result = dt(*args)
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def dt_command() -> list[str]:
    """The installed console script, or `python -m datatailr.cli` before `pip install -e .`."""
    script = Path(sys.executable).with_name("dt")
    return [str(script)] if script.exists() else [sys.executable, "-m", "datatailr.cli"]


def dt_process(
    *args: str, timeout: float = 60, extra_env: dict | None = None
) -> subprocess.CompletedProcess:
    """`dt ARGS` as a child process: the real console script, its real exit status."""
    return subprocess.run(
        [*dt_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(extra_env or {})},
    )


def _clean_environment(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("DATATAILR_HOME", str(home))
    for name in (
        "DATATAILR_JOB_ENVIRONMENT",
        "DATATAILR_DEBUG",
        "FORCE_COLOR",
        "DATATAILR_DB_URL",
        "DATATAILR_STORAGE_URL",
        "DATATAILR_EXECUTOR",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def history_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose store holds the runs of HISTORY, made by really running the workflows."""
    home = tmp_path_factory.mktemp("history") / "home"
    with pytest.MonkeyPatch.context() as mp:
        _clean_environment(mp, home)
        import cli_workflows as w

        pytest.importorskip("pandas")
        runs = [
            w.daily_sales_report(local_run=True),
            w.flaky_pipeline(local_run=True),
            w.complex_pipeline(local_run=True),
            w.frame_report(local_run=True),
            w.daily_sales_report(local_run=True),
            w.daily_sales_report(local_run=True, environment="prod"),
        ]
        got = {r.run_id: (r.workflow.name, str(r.workflow.environment), r.state) for r in runs}
        assert got == HISTORY
    return home


@pytest.fixture
def history(history_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point this test at the filled store (read-only use)."""
    _clean_environment(monkeypatch, history_home)
    return history_home


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty home of this test's own; its agent (if a deploy started one) is stopped after."""
    home = tmp_path / "home"
    _clean_environment(monkeypatch, home)
    yield home
    from datatailr.scheduler.agent import stop_agent

    stop_agent(timeout=20)
    shutil.rmtree(tmp_path / "flags", ignore_errors=True)
