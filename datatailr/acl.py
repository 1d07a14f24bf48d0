"""``ACL`` and ``Permission``: who may read, write, operate, access and promote a thing.

The local platform is private to the one account that runs it, so an ACL enforces nothing
here: it is accepted wherever the hosted SDK takes one, checked (only users and groups that
exist), and recorded next to what it protects (a KV entry, a blob), so that what was asked is
kept and can be read back.

Must not: touch storage itself (callers record ``to_json()``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from typing import Any

from datatailr.group import Group
from datatailr.user import User

__all__ = ["ACL", "Permission"]


class Permission(Enum):
    READ = "read"
    WRITE = "write"
    OPERATE = "operate"
    ACCESS = "access"
    PROMOTE = "promote"

    def __str__(self) -> str:
        return self.value


Entity = User | Group


class ACL:
    """A mapping of ``Permission`` to users and groups: ``ACL({Permission.READ: [User("a")]})``.

    Without a mapping every permission goes to the signed-in user only (as on the hosted
    platform); a mapping given is kept as is (permissions left out are granted to nobody).
    """

    def __init__(self, permissions: Mapping[Permission, Entity | list[Entity]] | None = None
                 ) -> None:
        if not permissions:
            me = User.signed_user()
            self.permissions: dict[Permission, list[Entity]] = {p: [me] for p in Permission}
            return
        if not isinstance(permissions, Mapping):
            raise TypeError(
                f"ACL({permissions!r}): give a mapping of Permission to users/groups, e.g. "
                "ACL({Permission.READ: [User('alice'), Group('analysts')]})."
            )
        self.permissions = {}
        for perm, entities in permissions.items():
            if not isinstance(perm, Permission):
                try:
                    perm = Permission(str(perm).lower())
                except ValueError:
                    valid = ", ".join(p.value for p in Permission)
                    raise ValueError(f"ACL: {perm!r} is not a permission; use one of {valid}."
                                     ) from None
            self.permissions[perm] = self._entities(entities)

    @staticmethod
    def _entities(entities: Entity | list[Entity]) -> list[Entity]:
        items = entities if isinstance(entities, list) else [entities]
        for entity in items:
            if not isinstance(entity, (User, Group)):
                raise TypeError(
                    f"Invalid entity type: {type(entity).__name__} ({entity!r}). "
                    "Must be User or Group."
                )
        return list(items)

    def __repr__(self) -> str:
        return "datatailr.ACL:\n" + "\n".join(
            f"{perm!s:>10}: {[str(e) for e in entities]}"
            for perm, entities in self.permissions.items()
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ACL):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, list[int]]:
        """``{"read": [ids...], ...}``: user ids, group ids negated (the hosted encoding)."""
        out: dict[str, list[int]] = {}
        for perm, entities in self.permissions.items():
            ids = [-e.group_id if isinstance(e, Group) else e.user_id for e in entities]
            out[str(perm)] = sorted(ids)
        return out

    @classmethod
    def from_dict(cls, acl_dict: Mapping[str, Any]) -> ACL:
        permissions: dict[Permission, list[Entity]] = {}
        for name, ids in acl_dict.items():
            entities: list[Entity] = []
            for entity_id in ids:
                entities.append(Group.get(-entity_id) if entity_id < 0 else User.get(entity_id))
            permissions[Permission(name)] = entities
        if not permissions:
            return cls({})
        acl = cls.__new__(cls)
        acl.permissions = permissions
        return acl

    def to_cli_command(self) -> dict[str, str]:
        """``{"users": "alice:r,alice:w", "groups": "staff:r"}`` as the hosted ``dt`` takes."""
        users: list[str] = []
        groups: list[str] = []
        for perm, entities in self.permissions.items():
            for entity in entities:
                (groups if isinstance(entity, Group) else users).append(
                    f"{entity.name}:{perm.value[0]}")
        out = {}
        if users:
            out["users"] = ",".join(users)
        if groups:
            out["groups"] = ",".join(groups)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ACL:
        return cls.from_dict(json.loads(text))
