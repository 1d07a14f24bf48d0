"""``Group``: the hosted SDK's group handle, backed here by this machine's groups.

``Group("staff")`` looks the group up in the group database; ``group_id`` is the gid and
``members`` the uids of its members (its listed members and the accounts whose primary group
it is). Creating or removing groups belongs to the hosted platform (``HostedOnlyError``).

Must not: keep state or touch the metadata store.
"""

from __future__ import annotations

import grp
import pwd
from typing import Any

from datatailr.core.query import matches
from datatailr.errors import NotFoundError, hosted_only

__all__ = ["DTUSERS_GROUP_NAME", "Group"]

#: The hosted platform's group of every user; locally it exists only if the machine has it.
DTUSERS_GROUP_NAME = "dtusers"


def _member_uids(entry: grp.struct_group) -> list[int]:
    uids = set()
    for name in entry.gr_mem:
        try:
            uids.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            continue
    uids.update(p.pw_uid for p in pwd.getpwall() if p.pw_gid == entry.gr_gid)
    return sorted(uids)


class Group:
    """A group of this machine: ``Group("staff")``; ``NotFoundError`` when there is none."""

    def __init__(self, name: str, members: list | None = None,
                 group_id: int | None = None) -> None:
        try:
            if not isinstance(name, str) or not name:
                raise KeyError(name)
            entry = grp.getgrnam(name)
        except KeyError:
            raise NotFoundError(
                f"No group {name!r} on this machine: local groups are the operating system's "
                "(see Group.ls())."
            ) from None
        self._name = entry.gr_name
        self._group_id = entry.gr_gid
        self._members = list(members) if members is not None else _member_uids(entry)

    @property
    def name(self) -> str:
        return self._name

    @property
    def group_id(self) -> int:
        return self._group_id

    @property
    def members(self) -> list:
        """The uids of the group's members."""
        return self._members

    def __repr__(self) -> str:
        return f"Group(name={self.name}, members={self.members}, group_id={self.group_id})"

    def __str__(self) -> str:
        return f"<Group: {self.name} | {self.group_id}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Group):
            return NotImplemented
        return (self.group_id, self.name) == (other.group_id, other.name)

    def __hash__(self) -> int:
        return hash((self.group_id, self.name))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "group_id": self.group_id, "members": self.members}

    @classmethod
    def from_dict(cls, data: dict) -> Group:
        try:
            return cls(data["name"], data.get("members"), data.get("group_id"))
        except KeyError as exc:
            raise ValueError(f"Group.from_dict({data!r}) needs a 'name' key.") from exc

    @staticmethod
    def get(name_or_id: str | int) -> Group:
        if isinstance(name_or_id, bool) or not isinstance(name_or_id, (int, str)):
            raise ValueError(f"Group.get({name_or_id!r}): give a group name or a numeric id.")
        if isinstance(name_or_id, int):
            try:
                return Group(grp.getgrgid(name_or_id).gr_name)
            except KeyError:
                raise NotFoundError(
                    f"No group with id {name_or_id} on this machine (see Group.ls())."
                ) from None
        return Group(name_or_id)

    @staticmethod
    def exists(name: str) -> bool:
        try:
            grp.getgrnam(name)
        except (KeyError, TypeError):
            return False
        return True

    @staticmethod
    def ls(filter: str | None = None) -> list[Group]:  # noqa: A002 - the SDK's name
        """Every group of this machine, by gid; ``filter`` as in ``dt ... -f``."""
        groups = {g.gr_gid: Group(g.gr_name) for g in sorted(grp.getgrall(), key=lambda g: g.gr_gid)}
        found = list(groups.values())
        if not filter:
            return found
        return [g for g in found if matches(filter, {"name": g.name, "group_id": g.group_id})]

    @staticmethod
    def add(name: str) -> Group | None:
        raise hosted_only(f"Group.add({name!r})",
                          "Local groups are this machine's (see Group.ls()).")

    @staticmethod
    def remove(name: str) -> None:
        raise hosted_only(f"Group.remove({name!r})",
                          "Local groups are this machine's (see Group.ls()).")

    def add_users(self, usernames: list) -> None:
        raise hosted_only(f"Group({self.name!r}).add_users({usernames!r})")

    def remove_users(self, usernames: list) -> None:
        raise hosted_only(f"Group({self.name!r}).remove_users({usernames!r})")

    def is_member(self, user: Any) -> bool:
        """Whether ``user`` (a ``User``) is in this group."""
        return getattr(user, "user_id", None) in self.members
