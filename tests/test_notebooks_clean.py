"""Example notebooks are committed clean: no outputs, execution counts or widget state."""

from __future__ import annotations

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
