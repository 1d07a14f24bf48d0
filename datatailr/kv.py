"""``KV``: the hosted SDK's key-value store, kept in the metadata store's ``kv`` table.

One store per environment (dev, pre and prod are separate, as on the hosted platform): the
environment given to ``KV(environment=...)``, else ``$DATATAILR_JOB_ENVIRONMENT`` (set in a
run's tasks), else dev. Values are strings. ACLs are checked and recorded with the entry; the
local platform is private to its user, so they restrict nothing. Passwords and tokens belong
in ``Secrets``, never here: KV values are plain rows of the database.

Must not: hold connections of its own (the platform's metadata store does the SQL).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from datatailr.acl import ACL
from datatailr.core.environment import resolve_environment
from datatailr.errors import InvalidArgumentError, NotFoundError

__all__ = ["KV"]


def _metadata() -> Any:
    from datatailr.scheduler.platform import current_platform

    return current_platform().metadata


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidArgumentError(f"KV key {key!r} is not a non-empty string: write e.g. 'db_host'.")
    if key != key.strip():
        raise InvalidArgumentError(f"KV key {key!r} starts or ends with spaces: remove them.")
    return key


def _when(value: Any) -> _dt.datetime | None:
    if value is None:
        return None
    return _dt.datetime.fromtimestamp(float(value), tz=_dt.timezone.utc)


class KV:
    """``put(key, value)``, ``get(key)``, ``ls()``, ``delete(key)`` per environment."""

    def __init__(self, environment: Any = None) -> None:
        self._environment = environment

    def __repr__(self) -> str:
        return f"KV(environment={self.environment!r})"

    @property
    def environment(self) -> str:
        return resolve_environment(self._environment).value

    def get(self, key: str) -> str:
        """The value of ``key``; ``NotFoundError`` (a ``KeyError``) when there is none."""
        row = _metadata().kv_get(self.environment, check_key(key))
        if row is None:
            raise self._missing(key)
        return str(row["value"])

    def put(self, key: str, value: str, acl: ACL | None = None) -> None:
        """Set ``key`` to the string ``value`` (replacing it), recording ``acl`` if given."""
        check_key(key)
        if not isinstance(value, str):
            raise InvalidArgumentError(
                f"KV.put({key!r}, ...): the value is a {type(value).__name__}; KV values are "
                "strings (json.dumps other data first)."
            )
        if acl is not None and not isinstance(acl, ACL):
            raise InvalidArgumentError(f"KV.put({key!r}, ..., acl={acl!r}): give an ACL.")
        meta = _metadata()
        if acl is None:  # keep an ACL recorded earlier
            existing = meta.kv_get(self.environment, key)
            recorded = existing.get("acl") if existing else None
        else:
            recorded = acl.to_dict()
        meta.kv_put(self.environment, key, value, acl=recorded)

    def ls(self) -> list[dict[str, Any]]:
        """Every entry of this environment, by key: ``{"key", "value", "acl", "updated_at"}``
        (``acl`` an ``ACL``; ``updated_at`` an aware UTC datetime when the store keeps it)."""
        out = []
        for row in _metadata().kv_list(self.environment):
            record = {"key": row["key"], "value": row["value"], "acl": self._acl_of(row)}
            for name in ("updated_at", "created_at"):
                if name in row:
                    record[name] = _when(row[name])
            out.append(record)
        return sorted(out, key=lambda r: r["key"])

    def delete(self, key: str) -> None:
        """Remove ``key``; ``NotFoundError`` when there is none."""
        if not _metadata().kv_delete(self.environment, check_key(key)):
            raise self._missing(key)

    # -- ACLs --------------------------------------------------------------------------------

    def acls(self, key: str) -> ACL:
        row = _metadata().kv_get(self.environment, check_key(key))
        if row is None:
            raise self._missing(key)
        return self._acl_of(row)

    def set_acls(self, key: str, acls: ACL) -> None:
        """Replace the ACL recorded for ``key``."""
        if not isinstance(acls, ACL):
            raise InvalidArgumentError(f"KV.set_acls({key!r}, {acls!r}): give an ACL.")
        value = self.get(key)
        _metadata().kv_put(self.environment, key, value, acl=acls.to_dict())

    def add_acl(self, key: str, acls: ACL) -> None:
        """Add the entries of ``acls`` to the ACL recorded for ``key``."""
        if not isinstance(acls, ACL):
            raise InvalidArgumentError(f"KV.add_acl({key!r}, {acls!r}): give an ACL.")
        current = self.acls(key)
        merged = {perm: list(entities) for perm, entities in current.permissions.items()}
        for perm, entities in acls.permissions.items():
            have = merged.setdefault(perm, [])
            have.extend(e for e in entities if e not in have)
        self.set_acls(key, ACL(merged))

    # -- internals ---------------------------------------------------------------------------

    @staticmethod
    def _acl_of(row: dict) -> ACL:
        raw = row.get("acl")
        if not raw:
            return ACL()
        return ACL.from_json(raw) if isinstance(raw, str) else ACL.from_dict(raw)

    def _missing(self, key: str) -> NotFoundError:
        return NotFoundError(
            f"No KV key {key!r} in {self.environment}: set it with KV().put({key!r}, value) or "
            f"`dt kv put {key} VALUE -e {self.environment}`; `dt kv ls` lists what exists."
        )
