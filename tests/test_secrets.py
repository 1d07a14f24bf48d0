"""Secrets: read from the private local store, set_env as the SDK, and never shown."""

from __future__ import annotations

import os
import sqlite3

import pytest

from datatailr import ACL, Secrets
from datatailr.errors import NotFoundError
from tests.fixtures import storage_workflows

VALUE = "s3cr3t-Value-4711"


def test_set_get_ls_delete(home):
    s = Secrets()
    s.set("db/password", VALUE)
    s.set("api_key", "k")
    assert s.get("db/password") == VALUE
    assert s.ls() == [{"key": "api_key", "acl": ACL()}, {"key": "db/password", "acl": ACL()}]
    s.delete("api_key")
    assert [r["key"] for r in s.ls()] == ["db/password"]
    with pytest.raises(NotFoundError) as caught:
        s.get("api_key")
    assert str(caught.value) == (
        "No secret 'api_key' in dev: set it with `dt secret set api_key -e dev` (the value is "
        "read from the terminal or stdin); `dt secret ls` lists the names that exist."
    )


def test_environments_are_separate(home, monkeypatch):
    Secrets().set("token", "dev-token")
    Secrets(environment="prod").set("token", "prod-token")
    monkeypatch.setenv("DATATAILR_JOB_ENVIRONMENT", "prod")
    assert (Secrets().get("token"), Secrets(environment="dev").get("token")) == (
        "prod-token", "dev-token")


def test_set_env_derives_the_name_and_keeps_an_existing_variable(home, monkeypatch):
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    monkeypatch.setenv("KEPT", "before")
    s = Secrets()
    s.set("db/password", VALUE)
    s.set("kept", "after")
    assert s.set_env("db/password") == "DB_PASSWORD"
    assert os.environ["DB_PASSWORD"] == VALUE
    assert (s.set_env("kept", "KEPT"), os.environ["KEPT"]) == ("KEPT", "before")
    assert (s.set_env("kept", "KEPT", overwrite=True), os.environ["KEPT"]) == ("KEPT", "after")
    with pytest.raises(ValueError):
        s.set_env("kept", "A=B")


def test_values_are_never_in_the_database_or_a_repr(home):
    s = Secrets()
    s.set("db/password", VALUE)
    storage_workflows.secret_user(local_run=True, progress=False)  # a run makes the database
    assert VALUE not in repr(s)
    db = home / "datatailr.db"
    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
    assert VALUE not in dump
    for root, _dirs, files in os.walk(home / "storage"):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                assert VALUE.encode() not in f.read(), name


def test_a_task_reads_a_secret(home, monkeypatch):
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    Secrets().set("db/password", VALUE)
    run = storage_workflows.secret_user(local_run=True, progress=False)
    assert (run.state, run.result("secret_length")) == ("completed", len(VALUE))


def test_the_live_echo_never_shows_a_secret_value(home, capsys):
    from datatailr import task, workflow

    Secrets().set("api_token", "s3cr3t-value-123")

    @task()
    def leaky():
        print("token is", Secrets().get("api_token"))
        return 1

    @workflow(name="leaky")
    def leaky_flow():
        leaky()

    run = leaky_flow(local_run=True)
    out = capsys.readouterr().out
    assert "[leaky] token is ***" in out and "s3cr3t-value-123" not in out
    assert run.logs("leaky") == "token is s3cr3t-value-123\n"  # the task's own log is exact
