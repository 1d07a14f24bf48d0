"""The hosted SDK's path to ``@workflow`` (``datatailr.scheduler.workflow``)."""

from datatailr.scheduler.batch import workflow

__all__ = ["workflow"]
