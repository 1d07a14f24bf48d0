"""The hosted SDK's path to ``@task`` (``datatailr.scheduler.batch_decorator``)."""

from datatailr.core.dag import task as batch_decorator

__all__ = ["batch_decorator"]
