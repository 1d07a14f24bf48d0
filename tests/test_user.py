"""User and Group: this machine's accounts and groups, looked up for real."""

from __future__ import annotations

import grp
import os
import pwd

import pytest

from datatailr import Group, User
from datatailr.errors import HostedOnlyError, NotFoundError

ME = pwd.getpwuid(os.getuid())


def test_signed_user_is_the_account_running_the_process():
    me = User.signed_user()
    assert (me.name, me.user_id) == (ME.pw_name, ME.pw_uid)
    assert grp.getgrgid(ME.pw_gid).gr_name in me.groups
    assert me == User(ME.pw_name) == User.get(ME.pw_uid) == User(id=ME.pw_uid)
    assert str(me) == f"<User: {ME.pw_name} | {ME.pw_uid}>"
    assert User.from_dict(me.to_dict()) == me


def test_unknown_user_is_an_error_naming_who_you_are():
    with pytest.raises(NotFoundError) as caught:
        User("no-such-user-here")
    assert str(caught.value) == (
        "No user with name 'no-such-user-here' on this machine: local users are the operating "
        f"system's accounts (see User.ls()); you are {ME.pw_name!r}."
    )
    with pytest.raises(ValueError):
        User()
    assert User.exists("no-such-user-here") is False
    assert User.exists(ME.pw_name) is True


def test_ls_with_the_hosted_filter_language():
    everyone = User.ls()
    assert [u.user_id for u in everyone] == sorted({p.pw_uid for p in pwd.getpwall()})
    assert [u.name for u in User.ls(filter=f"user_id = {ME.pw_uid}")] == [ME.pw_name]
    assert all(u.name.startswith("r") for u in User.ls(filter="name starts_with r"))


def test_from_request_reads_the_header():
    class Request:
        def __init__(self, headers):
            self.headers = headers

    assert User.from_request(Request({"x-datatailr-user": f'{{"name": "{ME.pw_name}"}}'})) == (
        User(ME.pw_name))
    assert User.from_request(Request({"x-datatailr-user": "not json"})) is None
    assert User.from_request(Request({})) is None
    assert User.from_request(Request({"x-datatailr-user": '{"name": "no-such-user-here"}'})) is None


def test_account_management_is_hosted_only():
    with pytest.raises(HostedOnlyError) as caught:
        User.add("bob", "Bob", "B", "b@example.com", "pw")
    assert str(caught.value) == (
        "User.add('bob') needs the hosted Datatailr platform; this local platform cannot do it. "
        "Local users are this machine's accounts (see User.ls())."
    )
    with pytest.raises(HostedOnlyError):
        User.signed_user().to_cookie()


def test_group_is_the_machines_group():
    primary = grp.getgrgid(ME.pw_gid)
    group = Group(primary.gr_name)
    assert (group.name, group.group_id) == (primary.gr_name, primary.gr_gid)
    assert ME.pw_uid in group.members
    assert group.is_member(User.signed_user())
    assert Group.get(primary.gr_gid) == group
    assert [g.name for g in Group.ls(filter=f"group_id = {primary.gr_gid}")] == [primary.gr_name]
    with pytest.raises(NotFoundError):
        Group("no-such-group-here")
    with pytest.raises(HostedOnlyError):
        Group.add("analysts")
