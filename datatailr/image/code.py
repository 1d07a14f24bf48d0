"""Freezing a workflow's code into a version's image, and thawing it where it runs.

The frozen blob is an envelope: the source bundle (a zip of every file of the user's own code
the workflow reaches, see ``datatailr.image.bundle``) and the DAG pickled with cloudpickle -
task functions from modules in the bundle as references (imported from the bundle when the
version runs), those from ``__main__`` or a notebook by value. ``thaw`` activates the bundle
first, so version N runs N's files whatever happened to the files on disk since.
"""

from __future__ import annotations

import hashlib
import inspect
import pickle
import sys
import textwrap
from typing import Any

from datatailr.core.dag import Dag
from datatailr.image import bundle as bundle_mod
from datatailr.image.pickling import dumps_by_value

FORMAT = "datatailr-image/1"


class Frozen:
    """A frozen version before it is stored: the envelope bytes and what it is made of."""

    def __init__(self, data: bytes, bundle: bytes, bundle_hash: str, files: list[str]) -> None:
        self.data = data
        self.bundle = bundle
        self.bundle_hash = bundle_hash
        self.files = files


def freeze(dag: Dag, body: Any = None) -> Frozen:
    functions = [node.function for node in dag.nodes]
    main_source = None
    main = sys.modules.get("__main__")
    if not bundle_mod.is_users_file(getattr(main, "__file__", None)):
        main_source = source_text(dag, body, only_main=True) or None
    collector = bundle_mod.collect(functions + ([body] if body is not None else []),
                                   main_source=main_source)
    bundle = collector.zip_bytes()
    digest = bundle_mod.bundle_hash(bundle)
    # Modules in the bundle are imported from it where the version runs: by reference.
    by_reference = {name for name, m in collector.modules.items()
                    if getattr(sys.modules.get(name), "__file__", m.path) == m.path}
    dag_bytes = dumps_by_value(dag, functions, by_reference=by_reference)
    data = pickle.dumps({"format": FORMAT, "bundle": bundle, "bundle_hash": digest,
                         "dag": dag_bytes}, protocol=5)
    bundle_mod.remember(digest, bundle)
    return Frozen(data, bundle, digest, sorted(collector.files))


def open_envelope(data: bytes) -> dict:
    """{"bundle", "bundle_hash", "dag"} of a frozen blob; versions frozen before bundles
    existed have no bundle (their task modules were pickled by value)."""
    outer = pickle.loads(data) if data[:1] == b"\x80" else None
    if isinstance(outer, dict) and outer.get("format") == FORMAT:
        return outer
    return {"bundle": None, "bundle_hash": None, "dag": data}


def thaw(data: bytes) -> Dag:
    """The DAG of a frozen blob, its bundle active in this process first."""
    envelope = open_envelope(data)
    if envelope["bundle"] is not None:
        bundle_mod.activate(envelope["bundle"], envelope["bundle_hash"])
    return pickle.loads(envelope["dag"])


def source_files(data: bytes) -> dict[str, str]:
    envelope = open_envelope(data)
    if envelope["bundle"] is None:
        return {}
    return {path: content.decode("utf-8", "replace")
            for path, content in sorted(bundle_mod.unpack(envelope["bundle"]).items())}


def code_hash(frozen: bytes, definition_text: str) -> str:
    return hashlib.sha256(frozen + definition_text.encode()).hexdigest()


def source_text(dag: Dag, body: Any, only_main: bool = False) -> str:
    """The source of the workflow body and of every task function, for display."""
    parts = []
    seen: set[int] = set()
    for obj in [body] + [n.function for n in dag.nodes]:
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        if only_main and getattr(obj, "__module__", None) != "__main__":
            continue
        try:
            parts.append(textwrap.dedent(inspect.getsource(obj)))
        except (OSError, TypeError):
            name = getattr(obj, "__qualname__", repr(obj))
            parts.append(f"# source of {name} is not available\n")
    return "\n\n".join(parts)
