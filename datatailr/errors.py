"""The exception tree of datatailr.

Every error the package raises on purpose is a ``DatatailrError``, and also subclasses the
built-in exception it refines, so ``except ValueError`` keeps working for callers that do not
know this package::

    DatatailrError
    ├── TaskError                      a task node or task function is misused
    │   ├── TaskUsageError (TypeError)     a node is used as if it were its value
    │   └── DuplicateJobNameError (ValueError)
    ├── WorkflowDefinitionError (ValueError)
    │   ├── CyclicDependencyError
    │   └── MissingDagError
    ├── NotFoundError (ValueError, KeyError)   unknown workflow, version, run or task
    ├── InvalidArgumentError (ValueError)      a bad environment, schedule field, option ...
    ├── StorageError (OSError)                 the store cannot be read or written
    │   └── StoreUnavailableError              ... for now: locked, disk full, server gone
    ├── AgentError (RuntimeError)              the local agent cannot be started or reached
    ├── ExecutorError (RuntimeError)           the executor (a Dask cluster) cannot be used
    └── RunFailedError (RuntimeError)          raised by a local run only when asked to

Messages say what happened, name the offending value, and say how to fix it.
"""

from __future__ import annotations


class DatatailrError(Exception):
    """Base of every error raised on purpose by datatailr."""


class TaskError(DatatailrError):
    """A task function or task node is used in a way that cannot work."""


class TaskUsageError(TaskError, TypeError):
    """A task node was used as if it were its value while a workflow was being traced."""


class DuplicateJobNameError(TaskError, ValueError):
    """Two tasks of one workflow would share a name."""


class WorkflowDefinitionError(DatatailrError, ValueError):
    """The workflow body does not describe a valid DAG."""


class CyclicDependencyError(WorkflowDefinitionError):
    """The task dependencies form a cycle."""


class MissingDagError(WorkflowDefinitionError):
    """The workflow body called no task."""


class NotFoundError(DatatailrError, ValueError, KeyError):
    """An unknown workflow, version, run or task was asked for."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(DatatailrError, ValueError):
    """A value given to datatailr is not one it accepts."""


class StorageError(DatatailrError, OSError):
    """The metadata database or result storage cannot be used."""


class StoreUnavailableError(StorageError):
    """The metadata database cannot be used for now (locked past the busy timeout, disk
    full, server gone) and stayed so for the store's retry period."""


class AgentError(DatatailrError, RuntimeError):
    """The local agent cannot be started, stopped or reached."""


class ExecutorError(DatatailrError, RuntimeError):
    """The executor (a Dask cluster) cannot be reached or used."""


class RunFailedError(DatatailrError, RuntimeError):
    """A local run ended in a state other than completed (only with ``raise_on_failure``)."""


__all__ = [
    "AgentError",
    "CyclicDependencyError",
    "DatatailrError",
    "DuplicateJobNameError",
    "ExecutorError",
    "InvalidArgumentError",
    "MissingDagError",
    "NotFoundError",
    "RunFailedError",
    "StorageError",
    "StoreUnavailableError",
    "TaskError",
    "TaskUsageError",
    "WorkflowDefinitionError",
]


class HostedOnlyError(DatatailrError, NotImplementedError):
    """Something that only the hosted Datatailr platform can do was asked of the local one.

    The name exists here (so code written for the hosted SDK imports and runs); the action,
    e.g. building a container image or listing cloud nodes, has no local meaning.
    """


def hosted_only(what: str, hint: str = "") -> HostedOnlyError:
    """The one error for ``what`` (e.g. "Node.ls()"), with an optional local alternative."""
    tail = f" {hint}" if hint else ""
    return HostedOnlyError(
        f"{what} needs the hosted Datatailr platform; this local platform cannot do it.{tail}"
    )


class SecretError(DatatailrError, ValueError):
    """A secret cannot be stored or read (never carries the secret's value)."""


__all__ += ["HostedOnlyError", "SecretError"]


class CodePackageMismatchError(DatatailrError, ValueError):
    """The code a run would load is not the code its version recorded."""


__all__ += ["CodePackageMismatchError"]


class ScheduleError(InvalidArgumentError):
    """A schedule (cron string or helper fields) that cannot be used."""


class EmptyEntrypointBundleError(DatatailrError, ValueError):
    """A job's code bundle would contain no files (the hosted SDK's name)."""


__all__ += ["EmptyEntrypointBundleError", "ScheduleError"]


class RequirementsError(DatatailrError, RuntimeError):
    """A workflow's ``python_requirements`` are not met where it runs, or cannot be installed."""


__all__.append("RequirementsError")
