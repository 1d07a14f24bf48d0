"""Environments (dev/pre/prod) and how a run or deploy picks its own."""

from __future__ import annotations

import enum
import os

from datatailr.errors import InvalidArgumentError

ENV_VARIABLE = "DATATAILR_JOB_ENVIRONMENT"


class Environment(enum.Enum):
    DEV = "dev"
    PRE = "pre"
    PROD = "prod"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: Environment | str) -> Environment:
        """An Environment from an Environment or a case-insensitive name; anything else is an error."""
        if isinstance(value, Environment):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            for member in cls:
                if text in (member.value, member.name.lower()):
                    return member
        valid = ", ".join(repr(m.value) for m in cls)
        raise InvalidArgumentError(
            f"Unknown environment {value!r}: use one of {valid} (or Environment.DEV/PRE/PROD)."
        )


def resolve_environment(value: Environment | str | None = None) -> Environment:
    """The call's value if given, else $DATATAILR_JOB_ENVIRONMENT, else dev."""
    if value is not None:
        return Environment.parse(value)
    from_env = os.environ.get(ENV_VARIABLE)
    if from_env:
        try:
            return Environment.parse(from_env)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"${ENV_VARIABLE}: {exc}") from None
    return Environment.DEV
