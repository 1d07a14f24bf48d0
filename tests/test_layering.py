"""The layers (core -> store/engine -> scheduler -> cli/jupyter_ext), checked in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

import pytest

import datatailr


def loaded_after(statement):
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("statement, forbidden", [
    ("import datatailr.core.dag, datatailr.core.schedule, datatailr.core.events",
     {"sqlite3", "sqlalchemy", "IPython", "anywidget", "datatailr.store", "datatailr.engine",
      "threading" if False else "croniter"}),
    ("import datatailr", {"IPython", "anywidget", "sqlalchemy", "sqlite3", "rich", "pandas"}),
    ("import datatailr.engine.controller, datatailr.engine.local", {"datatailr.store", "sqlalchemy"}),
    ("import datatailr.store.metadata, datatailr.store.blobs, datatailr.store.recorder",
     {"datatailr.engine"}),
])
def test_layers_do_not_import_what_they_must_not(statement, forbidden):
    assert loaded_after(statement) & forbidden == set()


def test_ui_layers_use_only_the_public_api():
    import ast
    import pathlib

    root = pathlib.Path(datatailr.__file__).parent
    offenders = []
    for folder in ("cli", "jupyter_ext"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for name in names:
                    if name.startswith(("datatailr.store", "datatailr.engine")):
                        offenders.append(f"{path.relative_to(root)} imports {name}")
    assert offenders == []


def test_public_names():
    # The whole surface is checked against the hosted SDK in tests/test_sdk_names.py.
    assert {"Environment", "Resources", "Schedule", "Task", "Workflow", "task",
            "workflow"} <= set(datatailr.__all__)
    from datatailr.scheduler.batch import Workflow

    assert datatailr.Workflow is Workflow
    assert str(datatailr.Environment.DEV) == "dev"
    import datatailr.errors as errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.DatatailrError)
