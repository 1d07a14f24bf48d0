"""ACL: the hosted encoding (user ids, group ids negated), checked entities, round trips."""

from __future__ import annotations

import grp
import os
import pwd

import pytest

from datatailr import ACL, Group, Permission, User

ME = pwd.getpwuid(os.getuid())
MY_GROUP = grp.getgrgid(ME.pw_gid)


def test_default_acl_gives_everything_to_the_signed_user():
    assert ACL().to_dict() == {p.value: [ME.pw_uid] for p in Permission}


def test_users_and_groups_encode_and_round_trip():
    me, group = User.signed_user(), Group(MY_GROUP.gr_name)
    acl = ACL({Permission.READ: [me, group], Permission.WRITE: me})
    assert acl.to_dict() == {"read": sorted([ME.pw_uid, -MY_GROUP.gr_gid]), "write": [ME.pw_uid]}
    assert ACL.from_dict(acl.to_dict()) == acl
    assert ACL.from_json(acl.to_json()) == acl
    assert acl.to_cli_command() == {
        "users": f"{ME.pw_name}:r,{ME.pw_name}:w", "groups": f"{MY_GROUP.gr_name}:r"}


def test_entities_other_than_users_and_groups_are_refused():
    with pytest.raises(TypeError) as caught:
        ACL({Permission.READ: ["alice"]})  # type: ignore[dict-item]
    assert str(caught.value) == "Invalid entity type: str ('alice'). Must be User or Group."
    with pytest.raises(ValueError) as raised:
        ACL({"own": [User.signed_user()]})  # type: ignore[dict-item]
    assert str(raised.value) == (
        "ACL: 'own' is not a permission; use one of read, write, operate, access, promote.")
