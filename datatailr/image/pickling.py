"""Pickling code by value: the user's own functions travel with what is pickled.

Functions from ``__main__``, a notebook, or a module of the user's own (not installed in
site-packages or the standard library) are pickled by value, so a saved version does not change
when the file is edited later, and a worker on another machine or the agent can load it without
the file. Installed libraries stay references, and so do the modules a version's source bundle
carries (``by_reference``). Part of ``datatailr.image``, a bottom layer like ``errors``: the
scheduler (saving versions) and the engine (shipping a run to Dask workers) both use it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import sysconfig
from collections.abc import Collection, Iterable
from types import ModuleType
from typing import Any


@functools.lru_cache(maxsize=1)
def _installed_prefixes() -> tuple[str, ...]:
    """Where installed code lives (the interpreter's and the environment's library folders):
    fixed for a process's life, and asked once per task fingerprint, so computed once."""
    paths = sysconfig.get_paths()
    return tuple(os.path.realpath(p) for p in {
        paths.get("stdlib", ""), paths.get("platstdlib", ""), paths.get("purelib", ""),
        paths.get("platlib", ""), sys.base_prefix, sys.prefix,
    } if p)


def is_users_module(module: ModuleType | None, installed: tuple[str, ...] | None = None) -> bool:
    if module is None or module.__name__ == "__main__":
        return False  # cloudpickle pickles __main__ by value already
    name = module.__name__.split(".")[0]
    if name == "datatailr" or name in sys.builtin_module_names:
        return False
    path = getattr(module, "__file__", None)
    if not path:
        return False
    return not os.path.realpath(str(path)).startswith(installed or _installed_prefixes())


def dumps_by_value(obj: Any, functions: Iterable[Any],
                   by_reference: Collection[str] = ()) -> bytes:
    """cloudpickle ``obj`` (protocol 5) with the modules of ``functions`` pickled by value
    where they are the user's own, except those named in ``by_reference``."""
    import cloudpickle

    installed = _installed_prefixes()
    registered = []
    for name in sorted({getattr(f, "__module__", "") or "" for f in functions}):
        module = sys.modules.get(name)
        if name not in by_reference and is_users_module(module, installed):
            with contextlib.suppress(ValueError, TypeError):
                cloudpickle.register_pickle_by_value(module)
                registered.append(module)
    try:
        return cloudpickle.dumps(obj, protocol=5)
    finally:
        for module in registered:
            with contextlib.suppress(ValueError):
                cloudpickle.unregister_pickle_by_value(module)
