"""``datatailr.excel``: the hosted platform's Excel add-ins (``Addin``, ``Queue``).

An add-in's functions are plain Python here: ``@addin.expose(...)`` records them (name,
description, help, options) and returns a function you can call and test locally. Serving
them to Excel needs the hosted platform's Excel runtime, so ``Addin.run()`` and a streaming
``Queue`` raise ``HostedOnlyError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from datatailr.errors import hosted_only

__all__ = ["Addin", "Queue"]

_RUNTIME = "Deploy it with ExcelAddin(...) to record it; Excel itself connects on the hosted platform."


class Addin:
    def __init__(self, name: str, description: str = "", *args: Any, **kwargs: Any) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("Addin(name, ...): give the add-in a non-empty name.")
        self.name = name
        self.description = description
        #: What ``expose`` recorded: one dict per function, in the order they were exposed.
        self.functions: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"Addin({self.name!r}, functions={[f['name'] for f in self.functions]})"

    def expose(self, description: str = "", help: str = "", volatile: bool = False,  # noqa: A002
               streaming: bool = False, progressbar: bool = False) -> Callable:
        if streaming and progressbar:
            raise ValueError("you cannot specify progressbar and streaming at the same time")

        def decorator(func: Callable) -> Callable:
            self.functions.append({
                "name": func.__name__, "description": description, "help": help,
                "volatile": volatile, "streaming": streaming, "progressbar": progressbar,
            })

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return func(*args, **kwargs)

            return wrapper

        return decorator

    def run(self, port: int | None = None, ws_port: int | None = None, ide: bool = True) -> None:
        raise hosted_only(f"Addin({self.name!r}).run() (the Excel runtime)", _RUNTIME)


class Queue:
    def __init__(self, name: str, _id: Any = None) -> None:
        self.name = name
        self.id = _id

    def push(self, value: Any) -> None:
        raise hosted_only(f"Queue({self.name!r}).push() (streaming to Excel)", _RUNTIME)

    def error(self, message: str) -> None:
        raise hosted_only(f"Queue({self.name!r}).error() (streaming to Excel)", _RUNTIME)
