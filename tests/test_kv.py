"""KV: per-environment strings in the metadata store's kv table, from code and from a task."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from datatailr import ACL, KV, Permission, User
from datatailr.errors import InvalidArgumentError, NotFoundError
from datatailr.scheduler.platform import current_platform
from tests.fixtures import storage_workflows


def test_put_get_ls_delete(home):
    kv = KV()
    kv.put("db_host", "localhost")
    kv.put("api_url", "http://127.0.0.1:8000")
    kv.put("db_host", "db.internal")  # replaces
    assert kv.get("db_host") == "db.internal"
    listed = kv.ls()
    assert [(r["key"], r["value"], r["acl"]) for r in listed] == [
        ("api_url", "http://127.0.0.1:8000", ACL()),
        ("db_host", "db.internal", ACL()),
    ]
    assert all(isinstance(r["updated_at"], datetime) and r["updated_at"].tzinfo == timezone.utc
               for r in listed)
    kv.delete("api_url")
    assert [r["key"] for r in kv.ls()] == ["db_host"]
    # The row is in the store itself, under its environment.
    assert current_platform().metadata.kv_get("dev", "db_host")["value"] == "db.internal"


def test_environments_are_separate(home, monkeypatch):
    KV().put("level", "dev-value")
    KV(environment="prod").put("level", "prod-value")
    monkeypatch.setenv("DATATAILR_JOB_ENVIRONMENT", "prod")
    assert (KV().get("level"), KV(environment="dev").get("level")) == ("prod-value", "dev-value")


def test_missing_key_is_an_error_saying_how_to_set_it(home):
    with pytest.raises(NotFoundError) as caught:
        KV().get("nope")
    assert str(caught.value) == (
        "No KV key 'nope' in dev: set it with KV().put('nope', value) or "
        "`dt kv put nope VALUE -e dev`; `dt kv ls` lists what exists."
    )
    with pytest.raises(NotFoundError):
        KV().delete("nope")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda kv: kv.put("n", 3), "KV.put('n', ...): the value is a int; KV values are "
                                     "strings (json.dumps other data first)."),
        (lambda kv: kv.put("", "x"), "KV key '' is not a non-empty string: write e.g. 'db_host'."),
        (lambda kv: kv.put(" a", "x"), "KV key ' a' starts or ends with spaces: remove them."),
        (lambda kv: kv.put("a", "x", acl="everyone"),
         "KV.put('a', ..., acl='everyone'): give an ACL."),
    ],
)
def test_bad_input_is_refused_naming_it(home, call, message):
    with pytest.raises(InvalidArgumentError) as caught:
        call(KV())
    assert str(caught.value) == message
    assert KV().ls() == []


def test_acls_are_recorded_and_kept_across_puts(home):
    me = User.signed_user()
    readers = ACL({Permission.READ: [me]})
    kv = KV()
    kv.put("shared", "v1", acl=readers)
    kv.put("shared", "v2")  # no ACL given: the recorded one stays
    assert (kv.get("shared"), kv.acls("shared")) == ("v2", readers)
    kv.add_acl("shared", ACL({Permission.WRITE: [me]}))
    assert kv.acls("shared").to_dict() == {"read": [me.user_id], "write": [me.user_id]}
    kv.set_acls("shared", ACL({Permission.OPERATE: [me]}))
    assert current_platform().metadata.kv_get("dev", "shared")["acl"] == {
        "operate": [me.user_id]}


def test_kv_from_inside_a_task_of_a_local_run(home):
    run = storage_workflows.storage_round_trip(local_run=True, progress=False)
    assert run.state == "completed"
    assert (run.result("write_kv"), run.result("read_kv")) == ("last_report", "reports/today.txt")
    assert KV().get("last_report") == "reports/today.txt"


def test_a_prod_runs_tasks_use_prods_kv_and_blobs(home):
    run = storage_workflows.storage_round_trip(local_run=True, environment="prod", progress=False)
    assert run.state == "completed"
    assert (KV(environment="prod").get("last_report"), [r["key"] for r in KV().ls()]) == (
        "reports/today.txt", [])
