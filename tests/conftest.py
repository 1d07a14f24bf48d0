"""Shared fixtures: every test gets its own DATATAILR_HOME, and leaves no agent behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh platform home; the agent a test starts there is stopped afterwards."""
    path = tmp_path / "dt-home"
    monkeypatch.setenv("DATATAILR_HOME", str(path))
    for name in ("DATATAILR_DB_URL", "DATATAILR_STORAGE_URL", "DATATAILR_EXECUTOR",
                 "DATATAILR_JOB_ENVIRONMENT", "DATATAILR_MAX_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    yield path
    from datatailr.scheduler.agent import running_queues, stop_agent

    for queue in running_queues():
        stop_agent(queue=queue)


@pytest.fixture
def run_python(home, tmp_path):
    """Run a Python file or snippet in a fresh interpreter against the test's home."""
    import subprocess

    def run(code_or_path, *args, cwd=None, timeout=120, check=True):
        env = {**os.environ, "DATATAILR_HOME": str(home), "PYTHONPATH": str(ROOT)}
        if isinstance(code_or_path, Path):
            cmd = [sys.executable, str(code_or_path), *args]
        else:
            cmd = [sys.executable, "-c", code_or_path, *args]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd or tmp_path,
                              env=env, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"exit {done.returncode}\nstdout:\n{done.stdout}\n"
                                 f"stderr:\n{done.stderr}")
        return done

    return run
