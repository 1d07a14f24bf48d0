"""What importing the package costs: ``import datatailr`` and ``from datatailr import task,
workflow`` load only what they need (names resolve on first use), checked in a fresh
interpreter through ``sys.modules``; every public name still resolves from ``datatailr``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import datatailr

HEAVY = ("sqlalchemy", "rich", "IPython", "anywidget", "fsspec", "click", "numpy", "pandas")


def loaded_after(statement: str) -> dict[str, list[str]]:
    """The heavy top-level packages and the datatailr modules a fresh interpreter holds after
    running ``statement``."""
    code = (
        f"{statement}\n"
        "import sys, json\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "ours = sorted(m for m in sys.modules if m == 'datatailr' or m.startswith('datatailr.'))\n"
        "print(json.dumps({'heavy': heavy, 'ours': ours}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_import_datatailr_loads_only_the_package():
    assert loaded_after("import datatailr") == {"heavy": [], "ours": ["datatailr"]}


def test_task_and_workflow_load_no_store_engine_or_display():
    loaded = loaded_after("from datatailr import task, workflow")
    assert loaded["heavy"] == []
    assert [m for m in loaded["ours"] if m.startswith(("datatailr.store", "datatailr.engine",
                                                       "datatailr.cli", "datatailr.jupyter_ext"))
            ] == []
    assert {"datatailr.core.dag", "datatailr.scheduler.batch"} <= set(loaded["ours"])


def test_task_alone_loads_only_the_dag_core():
    loaded = loaded_after("from datatailr import task")
    assert loaded["heavy"] == []
    assert all(m == "datatailr" or m == "datatailr.errors" or m.startswith("datatailr.core")
               for m in loaded["ours"]), loaded["ours"]


def test_workflow_handle_loads_no_notebook_widgets():
    loaded = loaded_after("from datatailr import Workflow")
    assert [m for m in loaded["heavy"] if m in ("IPython", "anywidget")] == []


def test_every_lazy_name_is_exported_and_resolves_to_its_module_object():
    import importlib

    lazy = datatailr._LAZY
    assert set(lazy) == set(datatailr.__all__) - {"__provider__", "__version__"}
    for name, module_name in lazy.items():
        if module_name == "datatailr.scheduler.job":
            continue  # App/Service/ExcelAddin: their module is the services part's
        assert getattr(datatailr, name) is getattr(importlib.import_module(module_name), name)


def test_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="'no_such_name'"):
        datatailr.no_such_name  # noqa: B018
