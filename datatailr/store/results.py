"""Where a task's stored result is: inline in the metadata store, or a blob in storage.

A result whose pickle is small (at most ``INLINE_MAX`` bytes) is kept in the metadata store,
in the transaction that marks its task completed: a 200-task fan-out then writes no result
file at all, and a task row never says completed before its result is durable. Larger
results (and every result of a Dask run) are blobs (``store.blobs``), written before their
task's row says completed. Everything that reads a result goes through here, so both kinds
read the same, and a result that is in neither place is missing - an error, never None.
"""

from __future__ import annotations

import pickle
from typing import Any

from datatailr.store.blobs import BlobStore

#: Results pickled to at most this many bytes are kept in the metadata store.
INLINE_MAX = 4096

_MISSING = object()


def load_result(metadata: Any, blobs: BlobStore, run_id: int, task_id: int,
                default: Any = _MISSING) -> Any:
    """The value stored for task ``task_id`` of run ``run_id``; ``default`` (or KeyError when
    none is given) when nothing is stored; a ``StorageError`` naming it when it cannot be
    read."""
    small = metadata.inline_result(run_id, task_id)
    if small is not None:
        return _loads(small, run_id, task_id)
    if default is _MISSING:
        return blobs.load_result(run_id, task_id)
    return blobs.load_result(run_id, task_id, default)


def has_result(metadata: Any, blobs: BlobStore, run_id: int, task_id: int) -> bool:
    return metadata.inline_result(run_id, task_id) is not None \
        or blobs.has_result(run_id, task_id)


def _loads(data: bytes, run_id: int, task_id: int) -> Any:
    from datatailr.errors import StorageError

    try:
        return pickle.loads(data)
    except Exception as exc:
        raise StorageError(
            f"The stored result of task {task_id} of run {run_id} (kept in the metadata "
            f"store) cannot be read: {type(exc).__name__}: {exc}"
        ) from exc
