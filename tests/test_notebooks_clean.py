"""Example notebooks are committed clean (no outputs, execution counts or widget state) and,
run by nbval, leave no process behind (notebooks/conftest.py)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_the_examples_are_there():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert (dirty, "widgets" in nb.get("metadata", {})) == ([], False)


def first_code_cell(path):
    nb = json.loads(path.read_text())
    return "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_first_cell_keeps_a_given_home_and_picks_a_temporary_one_otherwise(path, tmp_path):
    import os
    import subprocess
    import sys

    probe = first_code_cell(path) + "\nprint(os.environ['DATATAILR_HOME'])\n"
    env = {k: v for k, v in os.environ.items() if k != "DATATAILR_HOME"}
    env["TMPDIR"] = str(tmp_path)

    def home_after(extra):
        done = subprocess.run([sys.executable, "-c", probe], env={**env, **extra},
                              capture_output=True, text=True, check=True)
        return Path(done.stdout.strip())

    given = home_after({"DATATAILR_HOME": "/srv/the-demo-home"})
    picked = home_after({})
    assert (given, picked.parent, picked.is_dir()) == (Path("/srv/the-demo-home"), tmp_path, True)


def test_a_notebook_that_leaves_a_process_running_fails_and_one_that_ends_it_passes(tmp_path):
    """notebooks/conftest.py, run by nbval as the suite runs the examples: a process the
    kernel started and left running fails the notebook's last cell, naming it."""
    import os
    import shutil
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(root / "notebooks" / "conftest.py", folder / "conftest.py")
    pid_file = tmp_path / "leaked.pid"

    def notebook(name, *cells):
        nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
              "cells": [{"id": f"c{i}", "cell_type": "code", "metadata": {}, "source": source,
                         "execution_count": None, "outputs": []}
                        for i, source in enumerate(cells)]}
        (folder / name).write_text(json.dumps(nb))

    start = ("import subprocess\n"
             "p = subprocess.Popen(['sleep', '300'], start_new_session=True)\n")
    notebook("leaky.ipynb", start, f"open({str(pid_file)!r}, 'w').write(str(p.pid))")
    notebook("tidy.ipynb", start, "p.kill()\np.wait()")
    (tmp_path / "home").mkdir()
    env = {**os.environ, "HOME": str(tmp_path / "home"), "PYTHONPATH": str(root)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:dash", "-q",
             "--nbval-lax", "--nbval-current-env", f"--basetemp={tmp_path / 'bt'}", "-rE",
             str(folder)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
    leaked = int(pid_file.read_text())
    summary = done.stdout.strip().splitlines()[-1]
    assert (f"leaky.ipynb left 1 process(es) running after its last cell: pid {leaked}: "
            f"sleep 300." in done.stdout, summary.split(" in ")[0]) \
        == (True, "4 passed, 1 error"), done.stdout[-3000:]
