"""Durations as users write them: seconds, a timedelta, or text such as "90s", "30m", "2h", "1d"."""

from __future__ import annotations

import datetime as _dt
import re

from datatailr.errors import InvalidArgumentError

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "w": 604800}
_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_duration(value: object, what: str) -> float | None:
    """Seconds from a number, timedelta or text; None stays None; anything else is an error."""
    if value is None:
        return None
    if isinstance(value, _dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _TEXT.match(value)) and m.group(2).lower() in (
            "", *_UNITS):
        seconds = float(m.group(1)) * _UNITS.get(m.group(2).lower(), 1)
    else:
        raise InvalidArgumentError(
            f"{what}={value!r} is not a duration: give seconds, a timedelta, or text such as "
            f"'90s', '30m', '2h', '1d'."
        )
    if seconds <= 0:
        raise InvalidArgumentError(f"{what}={value!r} must be longer than 0 seconds.")
    return seconds
