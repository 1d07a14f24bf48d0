"""``User``: the hosted SDK's user handle, backed here by this machine's accounts.

On the local platform the users are the operating system's: ``User.signed_user()`` is the
account running this process, ``User("alice")`` looks ``alice`` up in the password database,
``user_id`` is the uid and ``groups`` are the names of the groups the account belongs to.
Creating or removing accounts, and signed cookies, belong to the hosted platform and raise
``HostedOnlyError``.

Must not: keep state, touch the metadata store, or run ``sudo``/``useradd``.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
from typing import Any

from datatailr.core.query import matches
from datatailr.errors import NotFoundError, hosted_only

__all__ = ["User"]

#: Accounts below this uid are the system's own (Debian's policy), as ``is_system_user``.
_FIRST_HUMAN_UID = 1000


def _groups_of(entry: pwd.struct_passwd) -> list[str]:
    try:
        gids = os.getgrouplist(entry.pw_name, entry.pw_gid)
    except OSError:  # an account the group database does not know
        gids = [entry.pw_gid]
    names = []
    for gid in gids:
        try:
            names.append(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return sorted(set(names))


def _split_gecos(gecos: str) -> tuple[str, str]:
    full = gecos.split(",", 1)[0].strip()
    first, _, last = full.partition(" ")
    return first, last.strip()


class User:
    """A user: this machine's account ``name`` (or uid ``id``).

    ``User("alice")`` and ``User.get("alice")`` / ``User.get(1000)`` look the account up and
    raise ``NotFoundError`` (a ``ValueError``) when there is none.
    """

    def __init__(
        self,
        name: str | None = None,
        id: int | None = None,  # noqa: A002 - the hosted SDK's parameter name
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        groups: list[str] | None = None,
        is_system_user: bool = False,
    ) -> None:
        if name is None and id is None:
            raise ValueError(
                "User() needs a name or an id: write e.g. User('alice') or User(id=1000), "
                "or User.signed_user() for the account running this process."
            )
        entry = self._lookup(name, id)
        gecos_first, gecos_last = _split_gecos(entry.pw_gecos or "")
        self._name = entry.pw_name
        self._user_id = entry.pw_uid
        self._first_name = first_name if first_name is not None else gecos_first
        self._last_name = last_name if last_name is not None else gecos_last
        self._email = email
        self._groups = list(groups) if groups is not None else _groups_of(entry)
        self._is_system_user = bool(is_system_user) or entry.pw_uid < _FIRST_HUMAN_UID

    @staticmethod
    def _lookup(name: str | None, uid: int | None) -> pwd.struct_passwd:
        try:
            if name is not None:
                if not isinstance(name, str) or not name:
                    raise KeyError(name)
                return pwd.getpwnam(name)
            if isinstance(uid, bool) or not isinstance(uid, int):
                raise KeyError(uid)
            return pwd.getpwuid(uid)
        except KeyError:
            what = f"name {name!r}" if name is not None else f"id {uid!r}"
            raise NotFoundError(
                f"No user with {what} on this machine: local users are the operating system's "
                f"accounts (see User.ls()); you are {pwd.getpwuid(os.getuid()).pw_name!r}."
            ) from None

    # -- what it is --------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def user_id(self) -> int:
        return self._user_id

    @property
    def first_name(self) -> str:
        return self._first_name

    @property
    def last_name(self) -> str:
        return self._last_name

    @property
    def email(self) -> str | None:
        return self._email

    @property
    def groups(self) -> list[str]:
        return self._groups

    @property
    def is_system_user(self) -> bool:
        return self._is_system_user

    def __repr__(self) -> str:
        return (
            f"User(name={self.name}, first_name={self.first_name}, last_name={self.last_name}, "
            f"email={self.email}, user_id={self.user_id}, groups={self.groups}, "
            f"is_system_user={self.is_system_user})"
        )

    def __str__(self) -> str:
        return f"<User: {self.name} | {self.user_id}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, User):
            return NotImplemented
        return (self.user_id, self.name) == (other.user_id, other.name)

    def __hash__(self) -> int:
        return hash((self.user_id, self.name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user_id": self.user_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "groups": ",".join(self.groups),
            "is_system": self.is_system_user,
        }

    @classmethod
    def from_dict(cls, data: dict) -> User:
        try:
            groups = data.get("groups", "")
            return cls(
                data["name"],
                data.get("user_id"),
                data.get("first_name"),
                data.get("last_name"),
                data.get("email"),
                [g for g in groups.split(",") if g] if isinstance(groups, str) else list(groups),
                bool(data.get("is_system", False)),
            )
        except KeyError as exc:
            raise ValueError(f"User.from_dict({data!r}) needs a 'name' key.") from exc

    # -- lookups -----------------------------------------------------------------------------

    @staticmethod
    def get(name_or_id: str | int) -> User:
        if isinstance(name_or_id, bool) or not isinstance(name_or_id, (int, str)):
            raise ValueError(f"User.get({name_or_id!r}): give a user name or a numeric id.")
        if isinstance(name_or_id, int):
            return User(id=name_or_id)
        return User(name_or_id)

    @staticmethod
    def signed_user() -> User:
        """The account running this process (who runs, deploys and owns, locally)."""
        return User(id=os.getuid())

    @staticmethod
    def exists(name: str) -> bool:
        try:
            pwd.getpwnam(name)
        except (KeyError, TypeError):
            return False
        return True

    @staticmethod
    def ls(filter: str | None = None) -> list[User]:  # noqa: A002 - the SDK's name
        """Every account of this machine, by uid; ``filter`` is the hosted ``-f`` language
        over the fields of ``to_dict()`` (e.g. ``"name starts_with a and user_id >= 1000"``)."""
        users = [User(id=entry.pw_uid) for entry in sorted(pwd.getpwall(), key=lambda e: e.pw_uid)]
        unique = list({u.user_id: u for u in users}.values())
        if not filter:
            return unique
        return [u for u in unique if matches(filter, u.to_dict())]

    def verify(self) -> None:
        """Locally the signed user is the process's account: verifying another one fails."""
        if self != User.signed_user():
            raise ValueError(
                f"Can only verify the signed-in user ({User.signed_user().name!r}), "
                f"not {self.name!r}."
            )

    @staticmethod
    def from_request(request: Any) -> User | None:
        """The user named by the ``x-datatailr-user`` header (JSON with a ``name``), or None."""
        headers = getattr(request, "headers", None) or {}
        raw = headers.get("x-datatailr-user")
        if not raw:
            return None
        try:
            payload = json.loads(raw)
        except (TypeError, json.JSONDecodeError):
            return None
        name = payload.get("name") if isinstance(payload, dict) else None
        if not isinstance(name, str) or not name or not User.exists(name):
            return None
        return User(name)

    # -- hosted only -------------------------------------------------------------------------

    def to_cookie(self) -> str:
        raise hosted_only("User.to_cookie() (a signed login cookie)")

    @staticmethod
    def add(
        name: str,
        first_name: str,
        last_name: str,
        email: str,
        password: str,
        groups: list[str] | None = None,
        is_system_user: bool = False,
    ) -> User | None:
        raise hosted_only(
            f"User.add({name!r})", "Local users are this machine's accounts (see User.ls())."
        )

    @staticmethod
    def remove(name: str) -> None:
        raise hosted_only(
            f"User.remove({name!r})", "Local users are this machine's accounts (see User.ls())."
        )
