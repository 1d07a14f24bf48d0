"""Blob: files under blobs/<environment>/ of the platform's storage, from code and from a task."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from datatailr import ACL, Blob, Permission, User
from datatailr.errors import InvalidArgumentError, NotFoundError
from datatailr.scheduler.platform import current_platform
from tests.fixtures import storage_workflows


def _names(rows):
    return [(r["name"], r["size"], r["is_file"]) for r in rows]


def test_put_get_exists_delete(home):
    b = Blob()
    b.put("mybucket/hello.bin", b"hello world")
    b.put("mybucket/text.txt", "héllo")  # str is stored as UTF-8
    assert (b.get("mybucket/hello.bin"), b.get("blob://mybucket/text.txt")) == (
        b"hello world", "héllo".encode())
    assert (b.exists("mybucket/hello.bin"), b.exists("mybucket"), b.exists("nope")) == (
        True, False, False)
    # On disk where the platform's storage is, under the environment.
    path = os.path.join(current_platform().blobs.url, "blobs", "dev", "mybucket", "hello.bin")
    with open(path, "rb") as f:
        assert f.read() == b"hello world"
    b.delete("mybucket/hello.bin")
    assert b.exists("mybucket/hello.bin") is False
    with pytest.raises(NotFoundError) as caught:
        b.get("mybucket/hello.bin")
    assert str(caught.value) == (
        "No blob 'mybucket/hello.bin' in dev: list what exists with Blob().ls('') or "
        "`dt blob ls -e dev`."
    )
    with pytest.raises(NotFoundError):
        b.delete("mybucket/hello.bin")


def test_files_round_trip(home, tmp_path):
    source = tmp_path / "data.txt"
    source.write_bytes(b"qwerty123")
    b = Blob()
    b.put_file("mybucket/data.txt", str(source))
    b.get_file("mybucket/data.txt", str(tmp_path / "copy.txt"))
    b.get_file("mybucket/data.txt", str(tmp_path))  # a folder: the blob's own name in it
    assert ((tmp_path / "copy.txt").read_bytes(), source.read_bytes()) == (b"qwerty123",) * 2
    with pytest.raises(NotFoundError) as caught:
        b.put_file("x", str(tmp_path / "missing.txt"))
    assert str(caught.value) == (
        f"Blob.put_file('x', {str(tmp_path / 'missing.txt')!r}): there is no file "
        f"{str(tmp_path / 'missing.txt')!r}."
    )


def test_ls_lists_folders_files_recursively_filtered_and_paged(home):
    b = Blob()
    b.put("mybucket/data.txt", b"qwerty123")
    b.put("mybucket/hello.bin", b"hello world")
    b.put("mybucket/deep/x.csv", b"a,b\n1,2\n")
    b.put("other/y", b"y")
    assert _names(b.ls("mybucket/")) == [
        ("mybucket/data.txt", 9, True), ("mybucket/deep/", 0, False),
        ("mybucket/hello.bin", 11, True)]
    assert _names(b.ls("")) == [("mybucket/", 0, False), ("other/", 0, False)]
    assert _names(b.ls("mybucket", recursive=True)) == [
        ("mybucket/data.txt", 9, True), ("mybucket/deep/x.csv", 8, True),
        ("mybucket/hello.bin", 11, True)]
    assert _names(b.ls("mybucket/", recursive=True, filter_by="size > 8 and name ends_with .bin")
                  ) == [("mybucket/hello.bin", 11, True)]
    assert _names(b.ls("mybucket/", recursive=True, limit=1, offset=1)) == [
        ("mybucket/deep/x.csv", 8, True)]
    assert _names(b.ls("mybucket/data.txt")) == [("mybucket/data.txt", 9, True)]
    [row] = b.ls("mybucket/data.txt")
    assert isinstance(row["last_modified"], datetime)
    assert row["last_modified"].tzinfo == timezone.utc
    with pytest.raises(NotFoundError):
        b.ls("nothing-here/")


def test_environments_are_separate(home, monkeypatch):
    Blob().put("k", b"dev")
    Blob(environment="prod").put("k", b"prod")
    monkeypatch.setenv("DATATAILR_JOB_ENVIRONMENT", "prod")
    assert (Blob().get("k"), Blob(environment="dev").get("k")) == (b"prod", b"dev")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "path is required: give a blob name such as 'mybucket/data.csv'."),
        ("a/../../etc/passwd", "Blob name 'a/../../etc/passwd' contains '..': blob names are "
                               "paths inside the storage, e.g. 'mybucket/data.csv'."),
    ],
)
def test_bad_names_are_refused(home, name, message):
    with pytest.raises(InvalidArgumentError) as caught:
        Blob().put(name, b"x")
    assert str(caught.value) == message


def test_values_other_than_bytes_or_str_and_folders_are_refused(home):
    b = Blob()
    with pytest.raises(InvalidArgumentError) as caught:
        b.put("x", {"a": 1})  # type: ignore[arg-type]
    assert str(caught.value) == ("Blob.put('x', ...): the value is a dict; give bytes or a str "
                                 "(pickle or serialise other objects first).")
    b.put("folder/inner", b"1")
    with pytest.raises(InvalidArgumentError):
        b.put("folder", b"2")


def test_acls_are_recorded_outside_the_listing(home):
    me = User.signed_user()
    b = Blob()
    readers = ACL({Permission.READ: [me]})
    b.put("shared.csv", b"1,2", acl=readers)
    assert b.acls("shared.csv") == readers
    b.set_acls("shared.csv", ACL({Permission.WRITE: [me]}))
    assert b.acls("shared.csv").to_dict() == {"write": [me.user_id]}
    assert _names(b.ls("")) == [("shared.csv", 3, True)]
    b.delete("shared.csv")
    assert current_platform().blobs.exists("blob-acls/dev/shared.csv.json") is False


def test_blob_from_inside_a_task_of_a_local_run(home):
    run = storage_workflows.storage_round_trip(local_run=True, progress=False)
    assert run.state == "completed"
    assert (run.result("write_blob"), run.result("read_blob")) == (17, "hello from a task")
    assert Blob().get("reports/today.txt") == b"hello from a task"


def test_any_fsspec_storage_url_works(home, monkeypatch):
    """On a cluster the storage URL is a shared bucket; fsspec's memory filesystem stands in
    for a remote one here (same code path: not a local folder)."""
    monkeypatch.setenv("DATATAILR_STORAGE_URL", "memory://dt-blob-test")
    b = Blob()
    b.put("mybucket/a.txt", b"remote a")
    b.put("mybucket/deep/b.txt", b"remote bb")
    assert b.get("blob://mybucket/a.txt") == b"remote a"
    assert _names(b.ls("mybucket/")) == [("mybucket/a.txt", 8, True),
                                         ("mybucket/deep/", 0, False)]
    assert _names(b.ls("", recursive=True)) == [("mybucket/a.txt", 8, True),
                                                ("mybucket/deep/b.txt", 9, True)]
    import fsspec

    assert fsspec.filesystem("memory").cat_file("/dt-blob-test/blobs/dev/mybucket/a.txt") == (
        b"remote a")
    b.delete("mybucket/a.txt")
    assert (b.exists("mybucket/a.txt"), b.exists("mybucket/deep/b.txt")) == (False, True)
    fsspec.filesystem("memory").rm("/dt-blob-test", recursive=True)
