"""Checks of values users pass to the public API, each failing with one clear line.

Pure: no store, no disk. Every check names the parameter and the value it was given, and says
what to give instead, at the moment the value arrives - before anything is read or written.
"""

from __future__ import annotations

from collections.abc import Sequence

from datatailr.core.states import ALL_STATES
from datatailr.errors import InvalidArgumentError

#: Ids are SQL integers: larger ones can name nothing that exists.
MAX_ID = 2**63 - 1


def identifier(value: object, what: str) -> int:
    """A run, task or version id: a whole number (an int, or text of digits), never a float
    (``1.9`` is not run 1), a bool, or out of range."""
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{what}={value!r}: give a whole number, not a bool.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise InvalidArgumentError(
            f"{what}={value!r}: give a whole number (e.g. {what}=12); a "
            f"{type(value).__name__} is not an id.")
    if not 0 <= number <= MAX_ID:
        raise InvalidArgumentError(f"{what}={value!r} is out of range: ids are whole numbers "
                                   f"from 0 to {MAX_ID}.")
    return number


def count(value: object, what: str, *, allow_none: bool = True, minimum: int = 0) -> int | None:
    """A limit, offset or line count: None (when allowed) or a whole number >= ``minimum``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{what}={value!r}: give a whole number >= {minimum}"
                                   f"{' or None' if allow_none else ''}.")
    if value < minimum:
        raise InvalidArgumentError(f"{what}={value!r} must be >= {minimum}.")
    return value


def states(value: object, what: str = "state") -> str | list[str] | None:
    """One state, a list of states, or None; every one of them a known state."""
    if value is None:
        return None
    items: Sequence[object] = [value] if isinstance(value, str) else (
        list(value) if isinstance(value, list | tuple | set | frozenset) else [value])
    for item in items:
        if not isinstance(item, str) or item not in ALL_STATES:
            raise InvalidArgumentError(
                f"{what}={value!r}: {item!r} is not a state; states are {', '.join(ALL_STATES)}.")
    return value if isinstance(value, str) else [str(i) for i in items]


def flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{what}={value!r}: give True or False.")
    return value


def text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{what}={value!r}: give a non-empty string.")
    return value


#: A queue's name: what ``@workflow(queue=...)`` and ``dt agent start --queue`` take.
QUEUE_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"


def queue(value: object, what: str = "queue") -> str:
    """The name of an agent queue: lower-case letters, digits, ``-`` and ``_``, 1-64 long."""
    import re

    if not isinstance(value, str) or not re.fullmatch(QUEUE_PATTERN, value):
        raise InvalidArgumentError(
            f"{what}={value!r}: a queue is named with 1-64 lower-case letters, digits, '-' or "
            f"'_', starting with a letter or digit, e.g. {what}='gpu' (the default is "
            f"'default').")
    return value


def max_concurrent_runs(value: object) -> int | None:
    """How many runs of a workflow may be in flight at once: None (no limit) or >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(
            f"max_concurrent_runs={value!r}: give a whole number of at least 1 (e.g. "
            f"max_concurrent_runs=1 runs one at a time; later runs wait, pending), or None for "
            f"no limit.")
    return value
