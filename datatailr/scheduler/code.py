"""Freezing a workflow's code: the DAG with its task functions, by value, as bytes
(see ``datatailr.pickling``), its hash, and its source text for display."""

from __future__ import annotations

import hashlib
import inspect
import textwrap
from typing import Any

from datatailr.core.dag import Dag
from datatailr.pickling import dumps_by_value


def freeze(dag: Dag) -> bytes:
    return dumps_by_value(dag, (node.function for node in dag.nodes))


def thaw(data: bytes) -> Dag:
    import pickle

    return pickle.loads(data)


def code_hash(frozen: bytes, definition_text: str) -> str:
    return hashlib.sha256(frozen + definition_text.encode()).hexdigest()


def source_text(dag: Dag, body: Any) -> str:
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
