"""datatailr: a local-first workflow platform for Python data teams.

``@task`` functions composed in a ``@workflow`` run in parallel locally (``local_run=True``) or
on the local agent (deploy), and every result and log is kept and indexed: read it back with
``Workflow(...).result(run_id, task_name)``, the ``dt`` CLI, or ``%dt_runs`` in a notebook.

Every name the hosted SDK exports here is exported too: most work locally for real (``Blob``,
``KV``, ``Secrets``, ``User``, ``Group``, ``ACL``, ``Image`` as a record); the hosted-only ones
(``Budget``, ``Cost``, ``Node``, the remote-login helpers) raise ``HostedOnlyError`` when asked
for something only the hosted platform can do. Every name is imported on first use, so
``import datatailr`` loads almost nothing and ``from datatailr import task`` only the DAG core.
"""

import sys as _sys

# ``typing`` and ``importlib`` cost more than the rest of this module: neither is imported here.
TYPE_CHECKING = False

if TYPE_CHECKING:  # the names for type checkers; at run time they are read on first use
    from datatailr.acl import ACL, Permission
    from datatailr.blob import Blob
    from datatailr.budget import Budget, Cost
    from datatailr.build import Image
    from datatailr.core.dag import Task, task
    from datatailr.core.environment import Environment
    from datatailr.core.resources import Resources
    from datatailr.core.schedule import Schedule
    from datatailr.group import Group
    from datatailr.hosted import (
        construct_remote_base_url,
        get_remote_base_url,
        get_remote_http_headers,
        get_remote_oidc_cookie_line,
        get_remote_oidc_cookie_pair,
        get_remote_oidc_jwt,
        is_remote_logged_in,
        load_remote_client_config,
    )
    from datatailr.kv import KV
    from datatailr.node import Node
    from datatailr.scheduler import set_allow_unsafe_scheduling
    from datatailr.scheduler.batch import Workflow, workflow
    from datatailr.secrets import Secrets
    from datatailr.user import User
    from datatailr.utils import get_dt_env, is_dt_installed
del TYPE_CHECKING

__version__ = "0.1.0"

#: Who provides this SDK (the hosted SDK names its installation here).
__provider__ = "local"

#: Every public name -> the module that defines it. Nothing is imported until a name is first
#: read (PEP 562), so ``import datatailr`` stays cheap and ``from datatailr import task`` loads
#: only the DAG core; the value is then cached here, so each name is the same object under every
#: path it is exported from.
_LAZY = {
    "ACL": "datatailr.acl",
    "Permission": "datatailr.acl",
    "Blob": "datatailr.blob",
    "Budget": "datatailr.budget",
    "Cost": "datatailr.budget",
    "Image": "datatailr.build",
    "Task": "datatailr.core.dag",
    "task": "datatailr.core.dag",
    "Environment": "datatailr.core.environment",
    "Resources": "datatailr.core.resources",
    "Schedule": "datatailr.core.schedule",
    "Group": "datatailr.group",
    "construct_remote_base_url": "datatailr.hosted",
    "get_remote_base_url": "datatailr.hosted",
    "get_remote_http_headers": "datatailr.hosted",
    "get_remote_oidc_cookie_line": "datatailr.hosted",
    "get_remote_oidc_cookie_pair": "datatailr.hosted",
    "get_remote_oidc_jwt": "datatailr.hosted",
    "is_remote_logged_in": "datatailr.hosted",
    "load_remote_client_config": "datatailr.hosted",
    "KV": "datatailr.kv",
    "Node": "datatailr.node",
    "set_allow_unsafe_scheduling": "datatailr.scheduler.base",
    "Workflow": "datatailr.scheduler.batch",
    "workflow": "datatailr.scheduler.batch",
    "Secrets": "datatailr.secrets",
    "User": "datatailr.user",
    "get_dt_env": "datatailr.utils",
    "is_dt_installed": "datatailr.utils",
    "App": "datatailr.scheduler.job",
    "Service": "datatailr.scheduler.job",
    "ExcelAddin": "datatailr.scheduler.job",
}

__all__ = [
    "ACL",
    "KV",
    "App",
    "Blob",
    "Budget",
    "Cost",
    "Environment",
    "ExcelAddin",
    "Group",
    "Image",
    "Node",
    "Permission",
    "Resources",
    "Schedule",
    "Secrets",
    "Service",
    "Task",
    "User",
    "Workflow",
    "__provider__",
    "__version__",
    "construct_remote_base_url",
    "get_dt_env",
    "get_remote_base_url",
    "get_remote_http_headers",
    "get_remote_oidc_cookie_line",
    "get_remote_oidc_cookie_pair",
    "get_remote_oidc_jwt",
    "is_dt_installed",
    "is_remote_logged_in",
    "load_remote_client_config",
    "set_allow_unsafe_scheduling",
    "task",
    "workflow",
]



def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'datatailr' has no attribute {name!r}")
    __import__(module_name)
    value = getattr(_sys.modules[module_name], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython):  # %load_ext datatailr
    from datatailr.jupyter_ext import load_ipython_extension as load

    load(ipython)
