"""datatailr: a local-first workflow platform for Python data teams.

``@task`` functions composed in a ``@workflow`` run in parallel locally (``local_run=True``) or
on the local agent (deploy), and every result and log is kept and indexed: read it back with
``Workflow(...).result(run_id, task_name)``, the ``dt`` CLI, or ``%dt_runs`` in a notebook.
"""

from datatailr.core.dag import Task, task
from datatailr.core.environment import Environment
from datatailr.core.resources import Resources
from datatailr.core.schedule import Schedule
from datatailr.scheduler.batch import Workflow, workflow

__version__ = "0.1.0"

__all__ = [
    "Environment",
    "Resources",
    "Schedule",
    "Task",
    "Workflow",
    "task",
    "workflow",
]


def load_ipython_extension(ipython):  # %load_ext datatailr
    from datatailr.jupyter_ext import load_ipython_extension as load

    load(ipython)
