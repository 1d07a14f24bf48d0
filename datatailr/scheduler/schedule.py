"""The hosted SDK's path to ``Schedule`` (``datatailr.scheduler.schedule``); see core/schedule.py."""

from datatailr.core.schedule import Schedule

__all__ = ["Schedule"]
