"""``Image``: what a job's container image should hold, as the hosted SDK describes it.

The local platform builds no container images, so an ``Image`` is a record: the Python
version and requirements (a list, a requirements text, or a requirements file's path, read
here), the Dockerfile snippets and build secret names the hosted builder would use, kept as
given and serialised with ``to_dict``. ``"auto"`` stays ``"auto"``: whoever prepares a run's
environment resolves it. Asking for a build result (``build_stdout`` ...) is ``None`` until
something builds it, and nothing here does.

Must not: run pip, docker or a build.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from datatailr.errors import InvalidArgumentError

__all__ = ["Image"]

_PYTHON = re.compile(r"^3\.1[0-4](\.\d+)?$")
_FIELDS = ("python_version", "python_requirements", "build_script_pre", "build_script_post",
           "build_secret_keys", "branch_name", "commit_hash", "path_to_repo", "path_to_module")


def _text_or_file(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string or a file path to a script file.")
    if value and os.path.isfile(value):
        with open(value, encoding="utf-8") as f:
            return f.read()
    return value


class Image:
    def __init__(
        self,
        python_version: str = "auto",
        python_requirements: str | list[str] = "",
        build_script_pre: str = "",
        build_script_post: str = "",
        build_secret_keys: list[str] | None = None,
        branch_name: str | None = None,
        commit_hash: str | None = None,
        path_to_repo: str | None = None,
        path_to_module: str | None = None,
    ) -> None:
        self.path_to_repo = path_to_repo
        self.path_to_module = path_to_module
        self.python_version = python_version
        self.python_requirements = python_requirements
        self.build_script_pre = build_script_pre
        self.build_script_post = build_script_post
        self.build_secret_keys = build_secret_keys or []
        self.branch_name = branch_name
        self.commit_hash = commit_hash
        # Set by a hosted build; nothing builds images here, so they stay None.
        self.build_stdout: str | None = None
        self.build_stderr: str | None = None
        self.name: str | None = None
        self.last_build_succeeded: bool | None = None
        self.bundle_name: str | None = None
        self.registry: str | None = None
        self.run_after_build: bool | None = False
        self.tag: str | None = None
        self.id: int | None = None

    # -- python ------------------------------------------------------------------------------

    @property
    def python_version(self) -> str:
        return self._python_version

    @python_version.setter
    def python_version(self, value: str | None) -> None:
        if value is None or value == "":
            value = "auto"
        if not isinstance(value, str):
            raise TypeError("python_version must be a string.")
        if value.lower() == "auto":
            value = f"{sys.version_info.major}.{sys.version_info.minor}"
        if not _PYTHON.match(value):
            raise InvalidArgumentError(
                f"Invalid python_version: {value!r}. Must be 3.10, 3.11, 3.12, 3.13 or 3.14 "
                "(a patch version like 3.13.1 too), or 'auto'."
            )
        self._python_version = value

    @property
    def python_requirements(self) -> str:
        """Newline-separated requirement specifiers (or ``"auto"``)."""
        return self._python_requirements

    @python_requirements.setter
    def python_requirements(self, value: str | list[str]) -> None:
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise TypeError("python_requirements must be a list of strings.")
            text = "\n".join(value)
        elif isinstance(value, str):
            if value and value != "auto" and os.path.isfile(value):
                with open(value, encoding="utf-8") as f:
                    text = f.read()
            elif value.endswith((".txt", "pyproject.toml")):
                raise InvalidArgumentError(
                    f"python_requirements={value!r}: there is no such file; give its path, "
                    "a list of requirements, or 'auto'."
                )
            else:
                text = value.replace(",", "\n") if "," in value else value
        else:
            raise TypeError(
                "python_requirements must be a list of strings, a file path to a requirements "
                "file, or 'auto'."
            )
        self._python_requirements = text

    # -- build scripts -----------------------------------------------------------------------

    @property
    def build_script_pre(self) -> str:
        return self._build_script_pre

    @build_script_pre.setter
    def build_script_pre(self, value: str) -> None:
        self._build_script_pre = _text_or_file(value, "build_script_pre")

    @property
    def build_script_post(self) -> str:
        return self._build_script_post

    @build_script_post.setter
    def build_script_post(self, value: str) -> None:
        self._build_script_post = _text_or_file(value, "build_script_post")

    @property
    def build_secret_keys(self) -> list[str]:
        return self._build_secret_keys

    @build_secret_keys.setter
    def build_secret_keys(self, value: list[str]) -> None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError("build_secret_keys must be a list of strings.")
        self._build_secret_keys = list(value)

    # -- records -----------------------------------------------------------------------------

    def update(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            if key not in _FIELDS:
                raise AttributeError(
                    f"Image has no setting {key!r}; settings: {', '.join(_FIELDS)}."
                )
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict())

    def from_dict(self, data: dict[str, Any]) -> Image:
        self.update(**{k: v for k, v in data.items() if k in _FIELDS})
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if v)
        return f"Image({shown})"
