"""``Secrets``: the hosted SDK's secrets, read here from the local private secret store.

``Secrets().get("db/password")`` reads the secret of the current environment (the one given,
else ``$DATATAILR_JOB_ENVIRONMENT`` as a run's tasks have it, else dev) from
``datatailr.store.secrets`` - a private file under DATATAILR_HOME, never the database, the
logs or blob storage. Set them with ``dt secret set NAME`` (the value is read from the
terminal without echo, or from stdin) or ``Secrets().set(name, value)``.

Must not: put a value into a message, a ``repr`` or anything printed.
"""

from __future__ import annotations

import os
from typing import Any

from datatailr.acl import ACL
from datatailr.core.environment import resolve_environment

__all__ = ["Secrets"]


def _store() -> Any:
    """The home's SecretStore (imported here: ``import datatailr`` loads no store module)."""
    from datatailr.config import load_config
    from datatailr.store.secrets import SecretStore

    return SecretStore(load_config().home)


class Secrets:
    """``get(name)``, ``ls()``, ``set_env(name)``; locally also ``set`` and ``delete``."""

    def __init__(self, environment: Any = None) -> None:
        self._environment = environment

    def __repr__(self) -> str:
        return f"Secrets(environment={self.environment!r})"

    @property
    def environment(self) -> str:
        return resolve_environment(self._environment).value

    def get(self, key: str) -> str:
        """The secret's value (a string); ``NotFoundError`` naming how to set it if missing."""
        return _store().get(self.environment, key)

    def ls(self) -> list[dict[str, Any]]:
        """The secrets of this environment, by name, without values: ``{"key", "acl"}``."""
        return [{"key": name, "acl": ACL()} for name in _store().names(self.environment)]

    def set_env(self, secret_name: str, env_var_name: str | None = None,
                overwrite: bool = False) -> str:
        """Put the secret in ``os.environ`` (default name: ``db/password`` -> ``DB_PASSWORD``;
        an existing variable is kept unless ``overwrite``); returns the variable's name."""
        if env_var_name is None:
            env_var_name = secret_name.replace("/", "_").upper()
        if not env_var_name or "=" in env_var_name or "\x00" in env_var_name:
            raise ValueError(f"Invalid environment variable name: {env_var_name!r}")
        if overwrite or env_var_name not in os.environ:
            os.environ[env_var_name] = self.get(secret_name)
        return env_var_name

    # -- local extras (the hosted platform sets secrets in its web UI) -----------------------

    def set(self, key: str, value: str) -> None:
        """Store (or replace) the secret ``key`` of this environment."""
        _store().set(self.environment, key, value)

    def delete(self, key: str) -> None:
        """Remove the secret ``key``; ``NotFoundError`` when there is none."""
        _store().delete(self.environment, key)
