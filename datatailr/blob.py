"""``Blob``: the hosted SDK's file storage, kept in the platform's own blob storage.

Blobs live under ``blobs/<environment>/`` of the platform's storage URL (``DATATAILR_STORAGE_URL``:
a folder in ``DATATAILR_HOME`` by default, any fsspec URL otherwise, so on a cluster every
worker sees the same bucket). Names are paths such as ``"mybucket/data.csv"``; a leading
``blob://`` is accepted, as the hosted ``dt blob`` writes them. Environments are separate, as
the hosted platform's KV is: a task of a prod run reads prod's blobs.

ACLs given to ``put``/``put_file``/``set_acls`` are checked and recorded beside the blob
(``blob-acls/<environment>/<name>.json``, outside the listing); the local platform is private
to its user, so they restrict nothing.

Must not: know about runs, tasks or SQL.
"""

from __future__ import annotations

import datetime as _dt
import os
import posixpath
import re
from typing import Any

from datatailr.acl import ACL
from datatailr.core.environment import resolve_environment
from datatailr.core.query import select
from datatailr.errors import InvalidArgumentError, NotFoundError

__all__ = ["Blob"]

_PREFIX = "blob://"
_PARTIAL = re.compile(r"^\..+\.\d+\.part$|\.part-\d+$")
#: The fields of ``Blob.ls`` rows, for ``filter_by``.
LS_FIELDS = {"name": "text", "size": "numeric", "last_modified": "numeric", "is_file": "bool"}


def _platform() -> Any:
    from datatailr.scheduler.platform import current_platform

    return current_platform()


def normalize_name(name: str, *, folder: bool = False) -> str:
    """``"blob://b/x.csv"``, ``"/b/x.csv"`` and ``"b/x.csv"`` are all ``"b/x.csv"``; a name
    that climbs out (``..``) or is empty is an error. ``folder``: "" (the top) is allowed."""
    if not isinstance(name, str):
        raise InvalidArgumentError(f"Blob name {name!r} is not a string: write e.g. 'mybucket/data.csv'.")
    text = name[len(_PREFIX):] if name.startswith(_PREFIX) else name
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArgumentError(
            f"Blob name {name!r} contains '..': blob names are paths inside the storage, "
            "e.g. 'mybucket/data.csv'."
        )
    if not parts and not folder:
        raise InvalidArgumentError("path is required: give a blob name such as 'mybucket/data.csv'.")
    return "/".join(parts)


class Blob:
    """Files and bytes by name: ``put``/``get``, ``put_file``/``get_file``, ``ls``, ``exists``,
    ``delete``; ``acls``/``set_acls`` record who should have access."""

    def __init__(self, environment: Any = None) -> None:
        #: dev/pre/prod: the call's, else $DATATAILR_JOB_ENVIRONMENT (a task's run), else dev.
        self._environment = environment

    def __repr__(self) -> str:
        return f"Blob(environment={self.environment!r})"

    @property
    def environment(self) -> str:
        return resolve_environment(self._environment).value

    # -- keys ------------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        return f"blobs/{self.environment}/{normalize_name(name)}"

    def _acl_key(self, name: str) -> str:
        return f"blob-acls/{self.environment}/{normalize_name(name)}.json"

    # -- bytes -----------------------------------------------------------------------------

    def put(self, name: str, blob: bytes | str, acl: ACL | None = None) -> None:
        """Store ``blob`` (``str`` is stored as UTF-8) under ``name``, replacing what was there."""
        if isinstance(blob, str):
            blob = blob.encode("utf-8")
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError(
                f"Blob.put({name!r}, ...): the value is a {type(blob).__name__}; give bytes or "
                "a str (pickle or serialise other objects first)."
            )
        key = self._key(name)
        self._check_not_folder(name, key)
        store = _platform().blobs
        store.put_bytes(key, bytes(blob))
        self._record_acl(name, acl)

    def get(self, name: str) -> bytes:
        """The bytes stored under ``name``; ``NotFoundError`` when there is no such blob."""
        key = self._key(name)
        data = _platform().blobs.get_bytes(key) if not self._is_folder(key) else None
        if data is None:
            raise self._missing(name)
        return data

    def exists(self, name: str) -> bool:
        key = self._key(name)
        return bool(_platform().blobs.exists(key)) and not self._is_folder(key)

    def delete(self, name: str) -> None:
        """Remove the blob ``name`` (and its recorded ACL); ``NotFoundError`` if there is none."""
        if not self.exists(name):
            raise self._missing(name)
        store = _platform().blobs
        store.delete(self._key(name))
        store.delete(self._acl_key(name))

    # -- files -----------------------------------------------------------------------------

    def put_file(self, name: str, path: str, acl: ACL | None = None) -> None:
        """Copy the local file ``path`` to the blob ``name``."""
        local = os.fspath(path)
        if not os.path.isfile(local):
            raise NotFoundError(f"Blob.put_file({name!r}, {local!r}): there is no file {local!r}.")
        with open(local, "rb") as f:
            self.put(name, f.read(), acl=acl)

    def get_file(self, name: str, path: str) -> None:
        """Copy the blob ``name`` to the local file ``path`` (its folder must exist)."""
        data = self.get(name)
        local = os.fspath(path)
        if os.path.isdir(local):
            local = os.path.join(local, posixpath.basename(normalize_name(name)))
        folder = os.path.dirname(os.path.abspath(local))
        if not os.path.isdir(folder):
            raise NotFoundError(
                f"Blob.get_file({name!r}, {path!r}): the folder {folder!r} does not exist."
            )
        tmp = f"{local}.{os.getpid()}.part"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, local)

    # -- listing ---------------------------------------------------------------------------

    def ls(self, prefix: str, recursive: bool = False, filter_by: str = "", limit: int = -1,
           offset: int = 0) -> list[dict]:
        """What is under the folder ``prefix`` (``""``: the top): one dict per entry with
        ``name``, ``size`` (bytes), ``last_modified`` (aware UTC datetime, None for folders)
        and ``is_file``; folders are entries too unless ``recursive``, which lists every file
        below. ``prefix`` naming a file lists that file. ``filter_by`` is the hosted ``-f``
        language over those fields, then ``offset`` and ``limit`` (-1: all) page the result."""
        folder = normalize_name(prefix, folder=True)
        store = _platform().blobs
        root = f"blobs/{self.environment}"
        fs = store.fs
        base = store.path(root)
        target = f"{base}/{folder}" if folder else base
        rows: list[dict] = []
        if folder and fs.isfile(target):
            rows.append(self._row(fs.info(target), base))
        elif fs.isdir(target):
            if recursive:
                found = fs.find(target, detail=True)
                rows.extend(self._row(info, base) for info in found.values())
            else:
                rows.extend(self._row(info, base) for info in fs.ls(target, detail=True))
        elif folder:
            raise NotFoundError(
                f"Nothing in blob storage ({self.environment}) under {prefix!r}: list the top "
                "with Blob().ls('') or `dt blob ls`."
            )
        rows = [r for r in rows if not _is_partial(r["name"])]
        rows.sort(key=lambda r: r["name"])
        timed = [{**r, "last_modified": _timestamp(r["last_modified"])} for r in rows]
        chosen = select(timed, filter=filter_by or None, fields=LS_FIELDS,
                        limit=None if limit is None or limit < 0 else limit, offset=offset)
        return [{**r, "last_modified": _datetime(r["last_modified"])} for r in chosen]

    # -- ACLs ------------------------------------------------------------------------------

    def acls(self, path: str) -> ACL:
        """The ACL recorded for ``path`` (the default one, owner only, when none was given)."""
        if not self.exists(path):
            raise self._missing(path)
        raw = _platform().blobs.get_bytes(self._acl_key(path))
        return ACL() if raw is None else ACL.from_json(raw.decode("utf-8"))

    def set_acls(self, path: str, acls: ACL) -> None:
        if not self.exists(path):
            raise self._missing(path)
        if not isinstance(acls, ACL):
            raise InvalidArgumentError(f"Blob.set_acls({path!r}, {acls!r}): give an ACL.")
        self._record_acl(path, acls)

    # -- internals -------------------------------------------------------------------------

    def _record_acl(self, name: str, acl: ACL | None) -> None:
        if acl is None:
            return
        if not isinstance(acl, ACL):
            raise InvalidArgumentError(
                f"acl={acl!r} is not an ACL: write e.g. acl=ACL({{Permission.READ: [User('alice')]}})."
            )
        _platform().blobs.put_bytes(self._acl_key(name), acl.to_json().encode("utf-8"))

    def _is_folder(self, key: str) -> bool:
        store = _platform().blobs
        return bool(store.fs.isdir(store.path(key)))

    def _check_not_folder(self, name: str, key: str) -> None:
        if self._is_folder(key):
            raise InvalidArgumentError(
                f"Blob name {name!r} is a folder of other blobs: give a name of its own, "
                f"e.g. {normalize_name(name) + '/file.bin'!r}."
            )

    def _missing(self, name: str) -> NotFoundError:
        return NotFoundError(
            f"No blob {normalize_name(name)!r} in {self.environment}: list what exists with "
            f"Blob().ls('') or `dt blob ls -e {self.environment}`."
        )

    @staticmethod
    def _row(info: dict, base: str) -> dict:
        full = str(info["name"]).replace("\\", "/")
        prefix = base.replace("\\", "/").rstrip("/") + "/"
        name = full[len(prefix):] if full.startswith(prefix) else full.lstrip("/")
        is_file = info.get("type") == "file"
        modified = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
        return {
            "name": name if is_file else f"{name}/",
            "size": int(info.get("size") or 0) if is_file else 0,
            "last_modified": modified if is_file else None,
            "is_file": is_file,
        }


def _is_partial(name: str) -> bool:
    """A write in progress (the blob store's temporary names), never a blob of its own."""
    base = posixpath.basename(name.rstrip("/"))
    return bool(_PARTIAL.search(base))


def _timestamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, str):
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


def _datetime(value: float | None) -> _dt.datetime | None:
    if value is None:
        return None
    return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)
