"""The platform of this process: configuration, metadata store and blob store, opened once.

Reopened when DATATAILR_HOME (or another setting) changes, and per process after a fork.
"""

from __future__ import annotations

import os

from datatailr.config import Config, load_config
from datatailr.store.blobs import BlobStore
from datatailr.store.metadata import MetadataStore, open_metadata


class Platform:
    def __init__(self, config: Config) -> None:
        self.config = config
        config.home.mkdir(parents=True, exist_ok=True)
        self.metadata: MetadataStore = open_metadata(config.db_url)
        self.blobs = BlobStore(config.storage_url)


_CURRENT: dict[tuple, Platform] = {}


def current_platform() -> Platform:
    config = load_config()
    key = (os.getpid(), config)
    platform = _CURRENT.get(key)
    if platform is None:
        platform = _CURRENT[key] = Platform(config)
    return platform
