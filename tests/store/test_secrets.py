"""The local secret store: a private file, atomic writes, refusals that say how to fix."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from datatailr.errors import InvalidArgumentError, NotFoundError, SecretError
from datatailr.store.secrets import SecretStore


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_file_and_folder_are_private(tmp_path):
    store = SecretStore(tmp_path)
    store.set("dev", "db/password", "pw")
    assert (mode(tmp_path / "secrets"), mode(tmp_path / "secrets" / "secrets.json")) == (
        0o700, 0o600)
    data = json.loads((tmp_path / "secrets" / "secrets.json").read_text())
    assert data["environments"] == {"dev": {"db/password": "pw"}}
    assert sorted(os.listdir(tmp_path / "secrets")) == [".lock", "secrets.json"]
    assert repr(store) == f"SecretStore({str(tmp_path / 'secrets' / 'secrets.json')!r})"


def test_a_file_others_can_read_is_refused_with_the_fix(tmp_path):
    store = SecretStore(tmp_path)
    store.set("dev", "a", "1")
    path = tmp_path / "secrets" / "secrets.json"
    os.chmod(path, 0o644)
    with pytest.raises(SecretError) as caught:
        store.get("dev", "a")
    assert str(caught.value) == (
        f"{path} can be read by other accounts (mode 644): run `chmod 600 {path}`, then try again."
    )


def test_concurrent_writers_lose_nothing(tmp_path):
    store = SecretStore(tmp_path)

    def write(i: int) -> None:
        SecretStore(tmp_path).set("dev", f"k{i}", f"v{i}")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.names("dev") == sorted(f"k{i}" for i in range(12))


@pytest.mark.parametrize("name", ["", " x", "a b", "-lead", "x\n"])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(InvalidArgumentError):
        SecretStore(tmp_path).set("dev", name, "v")


def test_empty_or_non_string_values_are_refused_without_echoing_them(tmp_path):
    store = SecretStore(tmp_path)
    with pytest.raises(InvalidArgumentError) as caught:
        store.set("dev", "a", "")
    assert str(caught.value) == "The value of secret 'a' is empty: give a value."
    with pytest.raises(InvalidArgumentError) as caught:
        store.set("dev", "a", 12345)  # type: ignore[arg-type]
    assert str(caught.value) == "The value of secret 'a' is a int; give a string."


def test_delete_missing_is_an_error(tmp_path):
    store = SecretStore(tmp_path)
    store.set("dev", "a", "1")
    store.delete("dev", "a")
    assert store.names("dev") == []
    with pytest.raises(NotFoundError):
        store.delete("dev", "a")


@pytest.fixture
def file_keyring(tmp_path):
    """A real keyring backend (keyrings.alt's file one) in this test's folder."""
    keyring = pytest.importorskip("keyring")
    alt = pytest.importorskip("keyrings.alt.file")
    previous = keyring.get_keyring()
    backend = alt.PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_keyring_backend_keeps_values_out_of_the_file(tmp_path, file_keyring):
    home = tmp_path / "home"
    store = SecretStore(home, backend="keyring")
    store.set("dev", "db/password", "in-the-keyring")
    data = json.loads((home / "secrets" / "secrets.json").read_text())
    assert data["environments"] == {"dev": {"db/password": None}}
    service = f"datatailr:{home.resolve()}:dev"
    assert file_keyring.get_password(service, "db/password") == "in-the-keyring"
    # read back from where it was stored, whatever backend reads it
    assert SecretStore(home).get("dev", "db/password") == "in-the-keyring"
    assert store.names("dev") == ["db/password"]
    store.delete("dev", "db/password")
    assert (store.names("dev"), file_keyring.get_password(service, "db/password")) == ([], None)


def test_a_secret_the_keyring_lost_says_so(tmp_path, file_keyring):
    home = tmp_path / "home"
    store = SecretStore(home, backend="keyring")
    store.set("dev", "tok", "v")
    file_keyring.delete_password(f"datatailr:{home.resolve()}:dev", "tok")
    with pytest.raises(SecretError) as caught:
        store.get("dev", "tok")
    assert str(caught.value) == (
        "Secret 'tok' of dev was stored in the system keyring, which no longer has it: set it "
        "again with `dt secret set tok -e dev`."
    )


def test_unknown_backend_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DATATAILR_SECRETS_BACKEND", "vault")
    with pytest.raises(InvalidArgumentError) as caught:
        SecretStore(tmp_path)
    assert str(caught.value) == (
        "DATATAILR_SECRETS_BACKEND='vault': use 'file' (a private file in DATATAILR_HOME, the "
        "default) or 'keyring' (the system keyring)."
    )
