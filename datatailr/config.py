"""Where the platform keeps its state and how it runs tasks, read from the environment.

Environment variables first, then ``$DATATAILR_HOME/config.toml`` (optional), then defaults.
Read on every call (cheap) so tests and notebooks that change ``DATATAILR_HOME`` take effect
at once. Must not create anything on disk: the store does that when it opens.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from datatailr.errors import InvalidArgumentError


@dataclasses.dataclass(frozen=True)
class Config:
    home: Path
    db_url: str
    storage_url: str
    executor: str
    max_workers: int

    @property
    def agent_dir(self) -> Path:
        return self.home / "agent"


def _file_settings(home: Path) -> dict:
    path = home / "config.toml"
    if not path.is_file():
        return {}
    import tomllib  # Python 3.11+; the file is optional

    with path.open("rb") as f:
        data = tomllib.load(f)
    return {str(k).lower(): v for k, v in data.items()}


def load_config() -> Config:
    home = Path(os.environ.get("DATATAILR_HOME") or Path.home() / ".datatailr").expanduser()
    home = home.resolve()
    try:
        settings = _file_settings(home)
    except Exception as exc:  # a broken optional file must say where it is
        raise InvalidArgumentError(f"Cannot read {home / 'config.toml'}: {exc}") from None

    def get(name: str, default: str) -> str:
        return str(os.environ.get(f"DATATAILR_{name.upper()}") or settings.get(name) or default)

    db_url = get("db_url", f"sqlite:///{home / 'datatailr.db'}")
    storage_url = get("storage_url", str(home / "storage"))
    executor = get("executor", "local")
    if executor != "local" and not executor.startswith(("dask://", "tcp://", "dask")):
        raise InvalidArgumentError(
            f"DATATAILR_EXECUTOR={executor!r}: use 'local' or 'dask://host:port'."
        )
    raw_workers = get("max_workers", "32")
    try:
        max_workers = int(raw_workers)
        if max_workers < 1:
            raise ValueError
    except ValueError:
        raise InvalidArgumentError(
            f"DATATAILR_MAX_WORKERS={raw_workers!r}: give a whole number >= 1."
        ) from None
    return Config(home, db_url, storage_url, executor, max_workers)
