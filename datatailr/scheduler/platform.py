"""The platform of this process: configuration, metadata store and blob store, opened once.

Reopened when DATATAILR_HOME (or another setting) changes, and per process after a fork.
Owns the home folder's privacy: it is made 0700, and a home made looser by an older version
(or by hand) is tightened when opened, saying so once.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from datatailr.config import Config, load_config
from datatailr.store.blobs import BlobStore
from datatailr.store.metadata import MetadataStore, open_metadata


class Platform:
    def __init__(self, config: Config) -> None:
        self.config = config
        make_private_home(config.home)
        self.metadata: MetadataStore = open_metadata(config.db_url)
        self.blobs = BlobStore(config.storage_url, namespace=self.metadata.store_id)


def make_private_home(home: Path) -> None:
    """The home and everything in it readable by its user only (0700 folders, 0600 files)."""
    try:
        mode = home.stat().st_mode
    except FileNotFoundError:
        home.parent.mkdir(parents=True, exist_ok=True)
        try:
            home.mkdir(mode=0o700)
        except FileExistsError:
            pass
        else:
            return
        mode = home.stat().st_mode
    if stat.S_IMODE(mode) & 0o077 == 0:
        return
    if home.stat().st_uid != os.getuid():
        return  # someone else's folder: not ours to change (opening may then fail, saying so)
    count = _tighten(home)
    print(f"datatailr: {home} was readable by other users; made it private to you "
          f"(0700 folders, 0600 files; {count} entries changed).", file=sys.stderr)


def _tighten(home: Path) -> int:
    count = 0
    for folder, _dirs, files in os.walk(home):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            try:
                info = os.lstat(name)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode):
                continue
            wanted = 0o700 if stat.S_ISDIR(info.st_mode) else stat.S_IMODE(info.st_mode) & 0o700
            if stat.S_IMODE(info.st_mode) != wanted:
                os.chmod(name, wanted)
                count += 1
    return count


_CURRENT: dict[tuple, Platform] = {}


def current_platform() -> Platform:
    config = load_config()
    key = (os.getpid(), config)
    platform = _CURRENT.get(key)
    if platform is None:
        platform = _CURRENT[key] = Platform(config)
    return platform
