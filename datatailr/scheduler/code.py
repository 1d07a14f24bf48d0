"""Freezing a workflow's code: the DAG with its task functions, by value, as bytes.

Functions from ``__main__``, a notebook, or a module of the user's own (not installed in
site-packages) are pickled by value, so later edits of the file do not change a saved version
and a worker or the agent can load it without the script. Installed libraries stay references.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
import sysconfig
import textwrap
from types import ModuleType

from datatailr.core.dag import Dag

_INSTALLED = tuple(
    os.path.realpath(p) for p in {
        sysconfig.get_paths().get("stdlib", ""), sysconfig.get_paths().get("platstdlib", ""),
        sysconfig.get_paths().get("purelib", ""), sysconfig.get_paths().get("platlib", ""),
        sys.base_prefix, sys.prefix,
    } if p
)


def _is_users_module(module: ModuleType | None) -> bool:
    if module is None or module.__name__ == "__main__":
        return False  # cloudpickle pickles __main__ by value already
    name = module.__name__.split(".")[0]
    if name in ("datatailr",) or name in sys.builtin_module_names:
        return False
    path = getattr(module, "__file__", None)
    if not path:
        return False
    real = os.path.realpath(path)
    return not real.startswith(_INSTALLED)


def freeze(dag: Dag) -> bytes:
    import cloudpickle

    registered = []
    names = {getattr(node.function, "__module__", "") or "" for node in dag.nodes}
    for name in sorted(names):
        module = sys.modules.get(name)
        if _is_users_module(module):
            try:
                cloudpickle.register_pickle_by_value(module)
                registered.append(module)
            except (ValueError, TypeError):
                pass
    try:
        return cloudpickle.dumps(dag, protocol=5)
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def thaw(data: bytes) -> Dag:
    import pickle

    return pickle.loads(data)


def code_hash(frozen: bytes, definition_text: str) -> str:
    return hashlib.sha256(frozen + definition_text.encode()).hexdigest()


def source_text(dag: Dag, body: object) -> str:
    """The source of the workflow body and of every task function, for display."""
    parts = []
    seen: set[int] = set()
    for obj in [body] + [n.function for n in dag.nodes]:
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        try:
            parts.append(textwrap.dedent(inspect.getsource(obj)))
        except (OSError, TypeError):
            name = getattr(obj, "__qualname__", repr(obj))
            parts.append(f"# source of {name} is not available\n")
    return "\n\n".join(parts)
