"""The local secret store: one private JSON file under DATATAILR_HOME, never the database.

``$DATATAILR_HOME/secrets/secrets.json`` (mode 0600, in a folder of mode 0700) maps each
environment to its secrets' names and values. With ``DATATAILR_SECRETS_BACKEND=keyring`` new
values go to the system keyring instead (the ``keyring`` package: the desktop's secret
service, macOS Keychain, ...; service ``datatailr:<home>:<environment>``), and the file keeps
only their names (``null`` values), so ``ls`` still works; each secret is read from where it
was stored. Writes go to a private temporary file that
replaces the old one, under an exclusive lock, so concurrent writers never lose each other's
changes and a reader never sees half a file. A file or folder that other accounts can read is
refused with the ``chmod`` that fixes it, rather than used.

Owns: reading and writing that file. Must not: log, print or put a value into an exception
message, a ``repr``, the metadata store or blob storage.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datatailr.errors import InvalidArgumentError, NotFoundError, SecretError

__all__ = ["SecretStore", "check_name"]

BACKEND_VARIABLE = "DATATAILR_SECRETS_BACKEND"
_BACKENDS = ("file", "keyring")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@:-]*")
_FORMAT = 1


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > 200:
        raise InvalidArgumentError(
            f"Secret name {name!r} is not valid: use letters, digits and _ . / @ : - "
            "(starting with a letter, digit or _), e.g. 'db/password'."
        )
    return name


class SecretStore:
    """The secrets of one DATATAILR_HOME, per environment."""

    def __init__(self, home: Path | str, backend: str | None = None) -> None:
        self.folder = Path(home) / "secrets"
        self.path = self.folder / "secrets.json"
        self._lock_path = self.folder / ".lock"
        chosen = (backend or os.environ.get(BACKEND_VARIABLE) or "file").strip().lower()
        if chosen not in _BACKENDS:
            raise InvalidArgumentError(
                f"{BACKEND_VARIABLE}={chosen!r}: use 'file' (a private file in DATATAILR_HOME, "
                "the default) or 'keyring' (the system keyring)."
            )
        self.backend = chosen
        self._service_prefix = f"datatailr:{Path(home).resolve()}"

    def _keyring(self) -> Any:
        try:
            import keyring
        except ImportError:
            raise SecretError(
                f"{BACKEND_VARIABLE}=keyring needs the keyring package: pip install "
                "'datatailr-local-first[keyring]', or unset it to use the private file."
            ) from None
        return keyring

    def _service(self, environment: str) -> str:
        return f"{self._service_prefix}:{environment}"

    def __repr__(self) -> str:
        return f"SecretStore({str(self.path)!r})"

    # -- reading ---------------------------------------------------------------------------

    def _check_private(self, path: Path, mode_wanted: int) -> None:
        info = path.stat()
        if info.st_uid != os.getuid():
            raise SecretError(
                f"{path} belongs to another account (uid {info.st_uid}): secrets must be "
                "owned by the user who reads them."
            )
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise SecretError(
                f"{path} can be read by other accounts (mode {stat.S_IMODE(info.st_mode):o}): "
                f"run `chmod {mode_wanted:o} {path}`, then try again."
            )

    def _load(self) -> dict[str, dict[str, str | None]]:
        if not self.path.exists():
            return {}
        self._check_private(self.folder, 0o700)
        self._check_private(self.path, 0o600)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SecretError(
                f"Cannot read the secret store {self.path}: {type(exc).__name__}; fix or "
                "remove the file (its secrets are then lost)."
            ) from None
        envs = data.get("environments") if isinstance(data, dict) else None
        if not isinstance(envs, dict):
            raise SecretError(f"The secret store {self.path} is not in the expected format.")
        return {str(env): {str(k): None if v is None else str(v) for k, v in items.items()}
                for env, items in envs.items()}

    def get(self, environment: str, name: str) -> str:
        check_name(name)
        found = self._load().get(environment, {})
        if name in found and found[name] is None:  # stored in the keyring
            value = self._keyring().get_password(self._service(environment), name)
            if value is None:
                raise SecretError(
                    f"Secret {name!r} of {environment} was stored in the system keyring, which "
                    f"no longer has it: set it again with `dt secret set {name} -e {environment}`."
                )
            return str(value)
        if name not in found:
            raise NotFoundError(
                f"No secret {name!r} in {environment}: set it with `dt secret set {name} "
                f"-e {environment}` (the value is read from the terminal or stdin); "
                "`dt secret ls` lists the names that exist."
            )
        return str(found[name])

    def names(self, environment: str) -> list[str]:
        return sorted(self._load().get(environment, {}))

    def has(self, environment: str, name: str) -> bool:
        return check_name(name) in self._load().get(environment, {})

    # -- writing ---------------------------------------------------------------------------

    def set(self, environment: str, name: str, value: str) -> None:
        check_name(name)
        if not isinstance(value, str):
            raise InvalidArgumentError(
                f"The value of secret {name!r} is a {type(value).__name__}; give a string."
            )
        if value == "":
            raise InvalidArgumentError(f"The value of secret {name!r} is empty: give a value.")
        with self._locked() as data:
            if self.backend == "keyring":
                self._keyring().set_password(self._service(environment), name, value)
                data.setdefault(environment, {})[name] = None
            else:
                data.setdefault(environment, {})[name] = value

    def delete(self, environment: str, name: str) -> None:
        check_name(name)
        with self._locked() as data:
            if name not in data.get(environment, {}):
                raise NotFoundError(
                    f"No secret {name!r} in {environment}: `dt secret ls -e {environment}` "
                    "lists the names that exist."
                )
            if data[environment][name] is None:
                keyring = self._keyring()
                with contextlib.suppress(keyring.errors.PasswordDeleteError):
                    keyring.delete_password(self._service(environment), name)
            del data[environment][name]
            if not data[environment]:
                del data[environment]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, str | None]]]:
        self._make_folder()
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = self._load()
            yield data
            self._write(data)
        finally:
            os.close(fd)  # closing releases the lock

    def _make_folder(self) -> None:
        if not self.folder.exists():
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                self.folder.mkdir(mode=0o700)
            os.chmod(self.folder, 0o700)  # mkdir's mode is cut by the umask
        self._check_private(self.folder, 0o700)

    def _write(self, data: dict[str, dict[str, str | None]]) -> None:
        payload = json.dumps({"format": _FORMAT, "written_at": time.time(),
                              "environments": data}, indent=1, sort_keys=True)
        tmp = self.folder / f".secrets.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
