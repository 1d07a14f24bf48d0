"""A version's image: everything a run of it executes, frozen when it is saved.

``code`` freezes the DAG with the source bundle of the user's own files (``bundle``), with a
fingerprint per task (``fingerprint``) so reruns know what changed; ``pickling`` pickles the
user's functions by value where a bundle cannot carry them. Below store, engine and scheduler:
it imports only ``datatailr.core``, ``errors`` and ``config``.

For a process that runs tasks of a version (a Dask worker's task child): ``activate(bundle)``
with the bytes (or the hash, when already extracted on this machine) from ``active()``.
"""

from __future__ import annotations

from datatailr.image.bundle import activate, active

__all__ = ["activate", "active"]
