"""The composition layer: the public ``Workflow`` handle and ``@workflow``, deploys, local
runs, reruns and the agent. The one place that sees core, store and engine together.

Exports the hosted SDK's ``datatailr.scheduler`` names. ``App``, ``Service``, ``ExcelAddin``
and ``Job`` (``datatailr.scheduler.job``) and ``InstantRunHandle`` (``batch``) are imported on
first use, so that importing this package stays cheap.
"""

from datatailr.core.dag import Task
from datatailr.core.environment import Environment
from datatailr.errors import CodePackageMismatchError, DuplicateJobNameError, TaskError
from datatailr.scheduler.base import EntryPoint, JobType, Resources, set_allow_unsafe_scheduling
from datatailr.scheduler.batch import Workflow
from datatailr.scheduler.batch_decorator import batch_decorator as task
from datatailr.scheduler.schedule import Schedule
from datatailr.scheduler.workflow import workflow

#: Names defined by modules imported on first use: name -> module.
LAZY = {
    "App": "datatailr.scheduler.job",
    "Service": "datatailr.scheduler.job",
    "ExcelAddin": "datatailr.scheduler.job",
    "Job": "datatailr.scheduler.job",
    "InstantRunHandle": "datatailr.scheduler.batch",
}

__all__ = [
    "App",
    "CodePackageMismatchError",
    "DuplicateJobNameError",
    "EntryPoint",
    "Environment",
    "ExcelAddin",
    "InstantRunHandle",
    "Job",
    "JobType",
    "Resources",
    "Schedule",
    "Service",
    "Task",
    "TaskError",
    "Workflow",
    "set_allow_unsafe_scheduling",
    "task",
    "workflow",
]


def __getattr__(name: str) -> object:
    module_name = LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(LAZY))
