"""``datatailr.joblib``: the hosted SDK's joblib backend, run on this machine's processes.

``register_datatailr()`` registers the ``"datatailr"`` joblib backend; inside
``joblib.parallel_backend("datatailr", n_jobs=...)`` work runs in local worker processes
(joblib's own process backend), so scikit-learn code written for the hosted pool runs here
unchanged. The hosted worker options (``worker_memory``, ``worker_cpu``, ``environment``,
timeouts, ``embed_modules``) are accepted and kept on the backend; ``n_workers`` sets the
number of processes. ``DatatailrPool`` - an explicit pool of hosted worker containers - needs
the hosted platform. joblib itself is imported only when used (the ``joblib`` extra).
"""

from __future__ import annotations

from typing import Any

from datatailr.errors import hosted_only

__all__ = ["DatatailrBackend", "DatatailrPool", "register_datatailr", "shutdown_pools"]


def _backend_class() -> Any:
    try:
        from joblib._parallel_backends import LokyBackend
    except ImportError:
        raise ImportError(
            "datatailr.joblib needs joblib: pip install 'datatailr-local-first[joblib]' "
            "(or pip install joblib)."
        ) from None

    class DatatailrBackend(LokyBackend):  # type: ignore[misc, valid-type]
        """joblib's process backend, taking the hosted backend's options."""

        def __init__(self, n_workers: int | None = None, worker_memory: str | None = None,
                     worker_cpu: float | None = None, environment: str = "dev",
                     idle_timeout: float | None = None, start_timeout: float | None = None,
                     embed_modules: Any = (), share_threshold: int | None = None,
                     initial_batch_size: int = 1, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            if initial_batch_size < 1:
                raise ValueError("initial_batch_size must be >= 1")
            self.n_workers = n_workers
            self.pool_options = {
                "worker_memory": worker_memory, "worker_cpu": worker_cpu,
                "environment": environment, "idle_timeout": idle_timeout,
                "start_timeout": start_timeout, "embed_modules": tuple(embed_modules),
                "share_threshold": share_threshold, "initial_batch_size": initial_batch_size,
            }

        def configure(self, n_jobs: int = 1, parallel: Any = None, **backend_args: Any) -> int:
            if self.n_workers is not None:
                n_jobs = self.n_workers
            return int(super().configure(n_jobs=n_jobs, parallel=parallel, **backend_args))

    return DatatailrBackend


_CLASS: list[Any] = []


def __getattr__(name: str) -> Any:
    if name == "DatatailrBackend":
        if not _CLASS:
            _CLASS.append(_backend_class())
        return _CLASS[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_datatailr() -> None:
    """Register the ``"datatailr"`` backend with joblib (local processes)."""
    import joblib

    joblib.register_parallel_backend("datatailr", __getattr__("DatatailrBackend"))


def shutdown_pools() -> None:
    """Stop the worker processes joblib keeps for reuse."""
    try:
        from joblib.externals.loky import get_reusable_executor
    except ImportError:
        return
    get_reusable_executor().shutdown(wait=True)


class DatatailrPool:
    """A pool of hosted worker containers: named here, started only on the hosted platform."""

    def __init__(self, n_workers: int, environment: Any = "dev", worker_memory: str | None = None,
                 worker_cpu: float | None = None, idle_timeout: float | None = None,
                 start_timeout: float | None = None) -> None:
        if n_workers < 1:
            raise ValueError("n_workers must be at least 1")
        self.n_workers = n_workers
        self.environment = environment

    def start(self) -> None:
        raise hosted_only("DatatailrPool.start() (hosted worker containers)",
                          "Use joblib.parallel_backend('datatailr', n_jobs=N) for local processes.")

    def shutdown(self) -> None:
        raise hosted_only("DatatailrPool.shutdown() (hosted worker containers)")
