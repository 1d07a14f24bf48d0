"""The platform of this process: configuration, metadata store and blob store, opened once.

Reopened when DATATAILR_HOME (or another setting) changes, and per process after a fork.
Owns the home folder's privacy: it is made 0700, and a home made looser by an older version
(or by hand) is tightened when opened, saying so once.

The metadata of a plain SQLite store that exists at the current schema is the direct store
(``datatailr.store.direct``: the standard library's sqlite3 for a run's hot path, the full
store for the rest, opened when first needed), so a script's local run never imports
SQLAlchemy. Inside ``read_only()`` the platform reads through ``datatailr.store.fastread`` (the
file opened read-only); what that reader cannot do raises ``NeedsFullStore``, for the caller to
do again outside. ``DATATAILR_FAST_READ=0`` turns both off (everything on the full store).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from datatailr.config import Config, load_config
from datatailr.store.fastread import FastReader, NeedsFullStore

if TYPE_CHECKING:
    from datatailr.store.blobs import BlobStore
    from datatailr.store.metadata import MetadataStore

__all__ = ["NeedsFullStore", "Platform", "current_platform", "make_private_home", "read_only"]


class Platform:
    def __init__(self, config: Config) -> None:
        from datatailr.store.blobs import BlobStore

        self.config = config
        make_private_home(config.home)
        self.metadata: MetadataStore = _open_metadata(config.db_url)
        self.blobs: BlobStore = BlobStore(config.storage_url, namespace=self.metadata.store_id)


def _open_metadata(url: str) -> MetadataStore:
    """The direct store of a plain SQLite file that exists at the current schema (no
    SQLAlchemy until something needs the full store), else the full store, which makes or
    migrates it. ``DATATAILR_FAST_READ=0``: always the full store."""
    if fast_reads_enabled():
        from datatailr.store.direct import open_direct

        direct = open_direct(url)
        if direct is not None:
            return cast("MetadataStore", direct)
    from datatailr.store.metadata import open_metadata  # SQLAlchemy: only when needed

    return open_metadata(url)


class ReadOnlyPlatform:
    """The platform inside ``read_only()``: the same blob store, the metadata through the
    read-only fast reader (``NeedsFullStore`` when the store is not a plain SQLite file of
    the current schema)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.metadata: Any = FastReader(config.db_url)  # first: a missing store is not made
        make_private_home(config.home)
        self._blobs: BlobStore | None = None

    @property
    def blobs(self) -> BlobStore:
        """Made when first used (`dt job ls` reads no blob)."""
        if self._blobs is None:
            from datatailr.store.blobs import BlobStore

            self._blobs = BlobStore(self.config.storage_url, namespace=self.metadata.store_id)
        return self._blobs

    def close(self) -> None:
        self.metadata.close()


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


#: The read-only platforms of the innermost ``read_only()`` (None: outside of it).
_READING: dict[tuple, ReadOnlyPlatform] | None = None


def fast_reads_enabled() -> bool:
    return os.environ.get("DATATAILR_FAST_READ", "").strip().lower() not in ("0", "false", "no")


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Within: ``current_platform()`` of a plain SQLite store is read-only and SQLAlchemy-free.
    Anything it cannot do raises ``NeedsFullStore``: catch it outside and do the whole read
    again (nothing was written). A no-op with ``DATATAILR_FAST_READ=0``."""
    global _READING
    if not fast_reads_enabled():
        yield
        return
    outer, _READING = _READING, {}
    try:
        yield
    finally:
        opened, _READING = _READING, outer
        for platform in opened.values():
            platform.close()


def current_platform() -> Platform:
    config = load_config()
    key = (os.getpid(), config)
    if _READING is not None:
        reading = _READING.get(key)
        if reading is None:
            reading = _READING[key] = ReadOnlyPlatform(config)
        # Its read methods are the store's; every other use raises NeedsFullStore or fails.
        return cast(Platform, reading)
    platform = _CURRENT.get(key)
    if platform is None:
        platform = _CURRENT[key] = Platform(config)
    return platform
