"""Every public name of the hosted SDK 0.2.3 imports from the same module path here.

The names are read from the SDK's wheel, downloaded at test time and parsed with ``ast`` (never
imported): a module's ``__all__`` when it has one, else its public top-level classes and
functions (and ``import x as x`` re-exports). Modules that are the hosted service's own
machinery, and hosted runtime helpers inside user-facing modules, are listed below with why.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

import datatailr

SDK_VERSION = "0.2.3"

#: Whole modules of the wheel that user code does not import: the hosted service's machinery.
HOSTED_MACHINERY = {
    "datatailr.sbin": "entry points of the hosted containers",
    "datatailr.wrapper": "the RPC wrapper around the hosted native `dt`",
    "datatailr.tag": "tags of hosted nodes, read through the hosted `dt`",
    "datatailr.dt_json": "the hosted CLI's JSON encoding",
    "datatailr.entrypoint_bundle": "code bundles uploaded to the hosted image builder",
    "datatailr.scheduler.arguments_cache": "argument passing between hosted containers",
    "datatailr.scheduler.jupyter_widget": "the hosted widgets (%dt_runs is jupyter_ext's)",
    "datatailr.scheduler.utils": "repository checks of the hosted image builder",
    "datatailr.scheduler.constants": "the hosted containers' defaults",
    "datatailr.build.pyproject": "the hosted image builder's pyproject reader",
    "datatailr.build.utils": "vendored packaging helpers of the hosted image builder",
    "datatailr.excel.addin": "the hosted Excel runtime (datatailr.excel exports Addin)",
    "datatailr.excel.stubs": "the hosted Excel runtime (datatailr.excel exports Queue)",
    "datatailr.excel.type_check": "the hosted Excel runtime's type checks",
    "datatailr.joblib.backend": "the hosted broker client (datatailr.joblib exports its names)",
    "datatailr.utils": "hosted CLI helpers; its user-facing names are exported by datatailr",
    "datatailr.version": "the version string, exported as datatailr.__version__",
}

#: Hosted runtime helpers inside user-facing modules (functions the hosted containers call).
HOSTED_HELPERS = {
    "datatailr.scheduler.batch": {
        "platform_job_id", "get_arguments_cache", "get_current_manager",
        "resolve_workstation_name", "fetch_workstation_runner",
        "upload_source_entrypoint_bundle", "parse_duration",
    },
    "datatailr.scheduler.batch_decorator": {
        "get_arguments_cache", "batch_run_id", "is_partial_rerun", "cache_run_id", "dag_id",
        "batch_version", "load_instant_run_arguments", "handle_dag_args",
        "extract_task_dependencies",
    },
}

#: Names another part of this project provides and has not landed yet: (module, name) -> who.
#: Keep this exact: the test fails when one lands, so that the entry is removed.
PENDING: dict[tuple[str, str], str] = {
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sdk")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
         f"datatailr=={SDK_VERSION}", "-d", str(folder)],
        capture_output=True, text=True, timeout=300,
    )
    wheels = sorted(folder.glob("datatailr-*.whl"))
    if done.returncode != 0 or not wheels:
        pytest.skip(f"cannot download the hosted SDK wheel datatailr=={SDK_VERSION} (no "
                    f"index reachable?): {done.stderr.strip().splitlines()[-1:]}")
    return wheels[0]


def _module_name(path: str) -> str | None:
    if not path.startswith("datatailr/") or not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if any(p.startswith("_") for p in parts[1:]) or "agent_skills" in parts:
        return None
    return ".".join(parts)


def _public_names(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    names = []
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.append(node.name)
        elif isinstance(node, ast.ImportFrom):  # `from x import Y as Y`: an explicit re-export
            names.extend(a.asname for a in node.names if a.asname and a.asname == a.name)
    return [n for n in names if not n.startswith("_")]


@pytest.fixture(scope="module")
def sdk_names(wheel: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with zipfile.ZipFile(wheel) as z:
        for path in z.namelist():
            module = _module_name(path)
            if module is None or any(
                module == m or module.startswith(m + ".") for m in HOSTED_MACHINERY
            ):
                continue
            tree = ast.parse(z.read(path).decode("utf-8"))
            names = [n for n in _public_names(tree) if n not in HOSTED_HELPERS.get(module, ())]
            if names:
                out[module] = names
    return out


def test_the_wheel_has_the_modules_this_test_knows(sdk_names):
    assert sorted(sdk_names) == [
        "datatailr", "datatailr.acl", "datatailr.blob", "datatailr.budget", "datatailr.build",
        "datatailr.build.image", "datatailr.errors", "datatailr.excel", "datatailr.group",
        "datatailr.joblib", "datatailr.kv", "datatailr.logging", "datatailr.node",
        "datatailr.scheduler", "datatailr.scheduler.base", "datatailr.scheduler.batch",
        "datatailr.scheduler.batch_decorator", "datatailr.scheduler.job",
        "datatailr.scheduler.jupyter_magic", "datatailr.scheduler.schedule",
        "datatailr.scheduler.workflow", "datatailr.secrets", "datatailr.user",
    ]


def test_every_public_name_imports_from_the_same_module(sdk_names):
    missing = set()
    for module_name, names in sdk_names.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            missing.update((module_name, name) for name in names)
            continue
        for name in names:
            try:
                getattr(module, name)
            except (AttributeError, ImportError):
                missing.add((module_name, name))
    assert missing == set(PENDING), (
        f"missing here: {sorted(missing - set(PENDING))}; "
        f"landed (remove from PENDING): {sorted(set(PENDING) - missing)}"
    )


def test_names_exported_in_the_sdk_all_are_in_ours(sdk_names):
    for module_name in ("datatailr", "datatailr.scheduler", "datatailr.excel", "datatailr.joblib"):
        module = importlib.import_module(module_name)
        assert set(sdk_names[module_name]) <= set(module.__all__), module_name


def test_datatailr_all_is_exactly_its_public_names():
    """httpx's rule: every public attribute of ``datatailr`` is in ``__all__`` and every name in
    ``__all__`` exists (the names made on first use included), modules and the IPython hook
    apart."""
    for name in datatailr.__all__:  # every name resolves (most are imported on first read)
        if name not in {"App", "Service", "ExcelAddin"}:
            getattr(datatailr, name)
    public = {
        name for name, value in vars(datatailr).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"load_ipython_extension"}
    lazy = {"App", "Service", "ExcelAddin"}
    exported = set(datatailr.__all__) - {"__provider__", "__version__"}
    assert exported - lazy == public - lazy
    assert lazy <= exported
    assert len(datatailr.__all__) == len(set(datatailr.__all__))


def test_scheduler_all_names_exist_apart_from_those_made_on_first_use():
    import datatailr.scheduler as scheduler

    public = {
        name for name, value in vars(scheduler).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"LAZY"}
    # A lazy name, once used, is cached in the module: compare without them.
    assert set(scheduler.__all__) - set(scheduler.LAZY) == public - set(scheduler.LAZY)


def test_the_same_objects_under_every_path():
    import datatailr.scheduler as scheduler
    from datatailr.core.schedule import Schedule
    from datatailr.scheduler import batch, batch_decorator
    from datatailr.scheduler import schedule as schedule_module

    assert datatailr.Workflow is scheduler.Workflow is batch.Workflow
    assert datatailr.workflow is scheduler.workflow is batch.workflow
    assert datatailr.task is scheduler.task is batch_decorator.batch_decorator
    assert datatailr.Schedule is scheduler.Schedule is schedule_module.Schedule is Schedule
    assert datatailr.Resources is scheduler.Resources
    assert datatailr.Environment is scheduler.Environment
