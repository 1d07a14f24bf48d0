"""Per-task fingerprints: what a task's code and constant inputs are, as one hash.

Two versions' tasks with the same fingerprint compute the same thing from the same inputs, so
a partial rerun may reuse a result across versions. The code part follows the function into
everything of the user's it calls by global name (functions, classes, closures, other modules of
the user's: their source files), never line numbers or file names, so editing one task leaves
its neighbours' fingerprints alone. Installed libraries count by name only.
"""

from __future__ import annotations

import dis
import hashlib
import pickle
import sys
import types
from typing import Any

from datatailr.image.bundle import Collector, is_users_file
from datatailr.image.pickling import _installed_prefixes

_SIMPLE = (int, float, complex, str, bytes, bool, type(None))


def _is_users(obj: Any, installed: tuple[str, ...]) -> bool:
    name = getattr(obj, "__module__", None)
    if not isinstance(name, str):
        return False
    if name == "__main__":
        return True
    module = sys.modules.get(name)
    return is_users_file(getattr(module, "__file__", None), installed)


class _Hasher:
    def __init__(self) -> None:
        self.h = hashlib.sha256()
        self.installed = _installed_prefixes()
        self.seen: set[int] = set()
        self.module_files: dict[str, str] = {}

    def feed(self, *parts: Any) -> None:
        for part in parts:
            self.h.update(repr(part).encode())
            self.h.update(b"\0")

    def code(self, code: types.CodeType) -> None:
        self.feed("code", code.co_code, code.co_argcount, code.co_posonlyargcount,
                  code.co_kwonlyargcount, code.co_flags, code.co_names,
                  code.co_varnames, code.co_freevars, code.co_cellvars)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                self.code(const)
            else:
                self.value(const, depth=0)

    def value(self, value: Any, depth: int = 0) -> None:
        if isinstance(value, _SIMPLE):
            self.feed(type(value).__name__, value)
        elif isinstance(value, frozenset | set):
            self.feed(type(value).__name__, sorted(repr(v) for v in value))
        elif isinstance(value, list | tuple):
            self.feed(type(value).__name__, len(value))
            for item in value:
                self.value(item, depth)
        elif isinstance(value, dict):
            self.feed("dict", len(value))
            for k, v in value.items():
                self.value(k, depth)
                self.value(v, depth)
        elif isinstance(value, types.ModuleType):
            self.module(value)
        elif isinstance(value, types.FunctionType | types.MethodType):
            self.function(value)
        elif hasattr(value, "function") and callable(getattr(value, "function", None)) \
                and type(value).__name__ == "TaskFunction":
            self.function(value.function)
        elif isinstance(value, type):
            self.klass(value)
        else:
            try:
                self.feed(type(value).__qualname__, pickle.dumps(value, protocol=5))
            except Exception:
                self.feed(type(value).__module__, type(value).__qualname__)

    def function(self, function: Any) -> None:
        function = getattr(function, "__func__", function)
        if id(function) in self.seen:
            self.feed("seen", getattr(function, "__qualname__", ""))
            return
        self.seen.add(id(function))
        if not _is_users(function, self.installed) or not hasattr(function, "__code__"):
            self.feed("ref", getattr(function, "__module__", None),
                      getattr(function, "__qualname__", repr(function)))
            return
        self.feed("function", function.__qualname__)
        self.code(function.__code__)
        self.value(function.__defaults__)
        self.value(function.__kwdefaults__)
        for cell in function.__closure__ or ():
            try:
                self.value(cell.cell_contents)
            except ValueError:  # an empty cell
                self.feed("empty cell")
        code = function.__code__
        names = sorted({n for c in _codes(code) for n in _global_names(c)})
        glob = function.__globals__
        for name, value in zip(names, [glob.get(n, _MISSING) for n in names], strict=True):
            if value is _MISSING:
                continue
            self.feed("global", name)
            self.value(value)

    def klass(self, cls: type) -> None:
        if id(cls) in self.seen or not _is_users(cls, self.installed):
            self.feed("class", cls.__module__, cls.__qualname__)
            return
        self.seen.add(id(cls))
        self.feed("class", cls.__qualname__, [b.__qualname__ for b in cls.__mro__[1:]])
        for name, value in sorted(vars(cls).items()):
            if name in ("__dict__", "__weakref__", "__module__", "__doc__"):
                continue
            self.feed(name)
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                for f in (value.fget, value.fset, value.fdel):
                    if f is not None:
                        self.function(f)
            else:
                self.value(value)

    def module(self, module: types.ModuleType) -> None:
        name = module.__name__
        if not is_users_file(getattr(module, "__file__", None), self.installed):
            self.feed("module", name)
            return
        if name not in self.module_files:
            collector = Collector()
            collector.add_name(name)
            digest = hashlib.sha256()
            for relpath in sorted(collector.files):
                digest.update(relpath.encode() + b"\0" + collector.files[relpath])
            self.module_files[name] = digest.hexdigest()
        self.feed("module", name, self.module_files[name])


_MISSING = object()


#: the instructions that read a global (LOAD_NAME: class bodies and module-level code)
_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})


def _global_names(code: types.CodeType) -> set[str]:
    """The globals ``code`` itself reads - not every name of ``co_names``, which also holds
    attribute names: ``subprocess.run`` must not make a global called ``run`` part of the
    fingerprint."""
    return {str(i.argval) for i in dis.get_instructions(code) if i.opname in _GLOBAL_LOADS}


def _codes(code: types.CodeType) -> list[types.CodeType]:
    out = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out.extend(_codes(const))
    return out


def code_fingerprint(function: Any) -> str:
    """The hash of a function's code as described in the module docstring."""
    hasher = _Hasher()
    hasher.function(function)
    return hasher.h.hexdigest()


def task_fingerprint(function: Any, args: tuple, kwargs: dict, env_vars: dict,
                     code_cache: dict[int, str] | None = None) -> str:
    """The hash of a task call's code (see the module) and its constant inputs;
    ``code_cache`` (id of function -> code hash) spares hashing one function per call."""
    if code_cache is None:
        code = code_fingerprint(function)
    else:
        code = code_cache.get(id(function)) or code_cache.setdefault(
            id(function), code_fingerprint(function))
    hasher = _Hasher()
    hasher.feed("code", code, "inputs")
    hasher.value(args)
    hasher.value(sorted(kwargs.items()))
    hasher.value(sorted(env_vars.items()))
    return hasher.h.hexdigest()
