"""The hosted SDK's ``datatailr.scheduler.base`` names: ``JobType``, ``EntryPoint``,
``Resources`` and ``set_allow_unsafe_scheduling``.

``JobType`` names the kinds of job (a workflow is shown as ``batch``, as the hosted platform
does); ``EntryPoint`` is a ``module:function`` reference to a job's code; the base class
``Job`` comes from ``datatailr.scheduler.job``.
"""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Callable
from enum import Enum
from typing import Any

from datatailr.core.resources import Resources

__all__ = ["EntryPoint", "Job", "JobType", "Resources", "set_allow_unsafe_scheduling",  # noqa: F822
           "warn_about_unsafe_scheduling"]

_UNSAFE = "DATATAILR_ALLOW_UNSAFE_SCHEDULING"


def warn_about_unsafe_scheduling() -> bool:
    """Whether $DATATAILR_WARN_ABOUT_UNSAFE_SCHEDULING asks for warnings (the SDK's switch)."""
    return os.getenv("DATATAILR_WARN_ABOUT_UNSAFE_SCHEDULING", "false").lower() == "true"


def set_allow_unsafe_scheduling(allow: bool) -> None:
    """Recorded in the environment as the hosted SDK does; the local scheduler has no unsafe
    mode to allow, so nothing else changes."""
    if allow:
        os.environ[_UNSAFE] = "true"
    else:
        os.environ.pop(_UNSAFE, None)


class JobType(Enum):
    BATCH = "batch"
    WORKFLOW = "workflow"
    SERVICE = "service"
    APP = "app"
    EXCEL = "excel"
    WORKSTATION = "workstation"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return JobType.BATCH.value if self is JobType.WORKFLOW else self.value

    def __repr__(self) -> str:
        return f"JobType.{self.name}('{self.value}')"

    def display_name(self) -> str:
        return {
            "BATCH": "Workflow",
            "WORKFLOW": "Workflow",
            "EXCEL": "Excel Add-in",
            "WORKSTATION": "Workstation",
            "UNKNOWN": "Job",
        }.get(self.name, self.name.capitalize())

    @classmethod
    def from_str(cls, value: str | JobType | None) -> JobType:
        if isinstance(value, cls):
            return value
        text = str(value or cls.UNKNOWN.value).lower()
        aliases = {"batch": "workflow", "excel_addin": "excel"}
        try:
            return cls(aliases.get(text, text))
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ValueError(f"Unknown job type {value!r}: use one of {valid}.") from None


class EntryPoint:
    """Where a job's code starts: a function, a module, or a ``"module:function"`` string."""

    def __init__(self, job_type: JobType, func_or_module: Callable | str | types.ModuleType
                 ) -> None:
        self.type = JobType.from_str(job_type)
        self.func = func_or_module
        if isinstance(func_or_module, str):
            module, sep, function = func_or_module.partition(":")
            self.module_name = module
            self.function_name = function if sep else module
        elif isinstance(func_or_module, types.ModuleType):
            self.module_name = self.function_name = func_or_module.__name__
        elif callable(func_or_module):
            self.module_name = getattr(func_or_module, "__module__", "") or ""
            self.function_name = getattr(func_or_module, "__name__", str(func_or_module))
        else:
            raise TypeError(
                f"EntryPoint({job_type!r}, {func_or_module!r}): give a function, a module or "
                "a 'module:function' string."
            )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if callable(self.func) and not isinstance(self.func, (str, types.ModuleType)):
            return self.func(*args, **kwargs)
        module = importlib.import_module(self.module_name)
        return getattr(module, self.function_name)(*args, **kwargs)

    @classmethod
    def from_dict(cls, entrypoint_dict: dict) -> EntryPoint:
        return cls(JobType.from_str(entrypoint_dict.get("type")), entrypoint_dict["entrypoint"])

    def __repr__(self) -> str:
        return f"EntryPoint({self.function_name} from {self.module_name}, type={self.type})"

    def __str__(self) -> str:
        return f"{self.module_name}:{self.function_name}"


def __getattr__(name: str) -> Any:
    if name == "Job":  # the jobs' base class lives with the jobs
        return importlib.import_module("datatailr.scheduler.job").Job
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
