"""When a deployed workflow runs: a 5-field cron string in an IANA timezone.

The hosted SDK's 6-field strings (a leading seconds field, always 0: ``"0 0 6 * * *"``) are
read too, and ``get_cron_string()`` writes that form; ``str()`` stays the 5 fields.

Owns ``Schedule``: compiling the helper fields (``at_hours=[6]``, ``weekdays="Mon"`` ...) into a
cron string locally, validating both, describing them in words, (de)serialising them, and the
two time computations the agent needs (``next_after`` and ``latest_due``).

Must not: touch disk, threads, network or a database, or know about runs or the agent. It imports
the standard library and ``datatailr.errors`` only; croniter and cron_descriptor are imported
inside the functions that need them, so importing this module stays cheap.

Time semantics. Cron fields are matched against the wall clock of the schedule's timezone, so
``0 6 * * *`` in Europe/London is 06:00 in winter and in summer. Around daylight-saving changes
it behaves like Vixie cron:
- a schedule whose hour field is ``*`` follows real time: in the hour skipped in spring it does
  not fire, in the hour repeated in autumn it fires in both passes;
- a schedule at fixed hours fires once per day it is due: a time in the skipped hour fires at
  the moment the clocks jump, a time in the repeated hour fires in the first pass only.
"""

from __future__ import annotations

import datetime as _dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

from datatailr.errors import ScheduleError as InvalidArgumentError

__all__ = ["Schedule"]

UTC = "UTC"

_UTC = _dt.timezone.utc
_MINUTE = _dt.timedelta(minutes=1)
# How far around an instant a clock change is looked for: more than any real zone has ever set
# its clocks back, less than the time between two changes of one zone.
_MAX_SHIFT = _dt.timedelta(hours=3)

_EXAMPLE = "write e.g. '0 6 * * *' for 06:00 every day or '*/15 * * * 1-5' for every 15 minutes on weekdays"
_FIELDS = "minute hour day-of-month month day-of-week"
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# croniter extensions with no meaning elsewhere: R is random, H is a hashed value.
_CRONITER_ONLY = re.compile(r"(^|[,\-/(])[RH]($|[,\-/)])", re.IGNORECASE)

_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_WEEKDAY_HELP = (
    "use a day name or a 3+ letter prefix of one (Mon, Tue, Wed, Thu, Fri, Sat, Sun), "
    "or a cron number 0-7 (0 and 7 are Sunday, 1 is Monday)"
)
_MONTH_HELP = (
    "use a month name or a 3+ letter prefix of one "
    "(Jan, Feb, Mar, Apr, May, Jun, Jul, Aug, Sep, Oct, Nov, Dec), or a number 1-12"
)


class Schedule:
    """A cron schedule in a timezone: ``Schedule("0 6 * * 1-5")`` or ``Schedule(at_hours=[6])``.

    Give either ``cron_expression`` (5 fields: minute hour day-of-month month day-of-week, or
    the hosted SDK's 6 with a leading seconds field of 0) or
    helper fields, which are compiled here into one:

    - ``at_minutes`` (0-59), ``at_hours`` (0-23), ``day_of_month`` (1-31): an int or a list;
    - ``every_minute``, ``every_hour``, ``every_month``: a step (``every_minute=5`` is ``*/5``;
      the hosted SDK's one-item list ``every_minute=[5]`` is the same);
    - ``weekdays``, ``in_month``: names, 3+ letter case-insensitive prefixes (``"Mon"``,
      ``"monday"``) or numbers (cron's: 0 and 7 are Sunday; months 1-12), one or a list.

    Fields you leave out that are finer than the finest one you give start at their first value,
    coarser ones are ``*``: ``at_hours=[6]`` is ``0 6 * * *``, ``weekdays="Mon"`` is
    ``0 0 * * 1``, ``in_month="Jan"`` is ``0 0 1 1 *``, ``every_minute=5`` is ``*/5 * * * *``.

    ``timezone`` is an IANA name (default ``"UTC"``) in which the fields are read.
    """

    __slots__ = ("_cron", "_timezone")

    def __init__(
        self,
        cron_expression: str = "",
        at_minutes: int | Iterable[int] | None = None,
        every_minute: int | list[int] | None = None,
        at_hours: int | Iterable[int] | None = None,
        every_hour: int | list[int] | None = None,
        weekdays: str | int | Iterable[str | int] | None = None,
        day_of_month: int | Iterable[int] | None = None,
        in_month: str | int | Iterable[str | int] | None = None,
        every_month: int | list[int] | None = None,
        timezone: str | _dt.tzinfo | None = None,
    ) -> None:
        helpers = {
            "at_minutes": at_minutes,
            "every_minute": every_minute,
            "at_hours": at_hours,
            "every_hour": every_hour,
            "weekdays": weekdays,
            "day_of_month": day_of_month,
            "in_month": in_month,
            "every_month": every_month,
        }
        given = {name: value for name, value in helpers.items() if value is not None}
        if cron_expression is None:
            cron_expression = ""
        if not isinstance(cron_expression, str):
            raise InvalidArgumentError(
                f"Schedule(cron_expression={cron_expression!r}) is not a string: {_EXAMPLE}."
            )
        if cron_expression.strip() and given:
            fields = ", ".join(f"{name}={value!r}" for name, value in given.items())
            raise InvalidArgumentError(
                f"Schedule(cron_expression={cron_expression!r}, {fields}) gives both a cron "
                "string and helper fields: give one or the other, e.g. Schedule('0 6 * * *') "
                "or Schedule(at_hours=[6])."
            )
        if cron_expression.strip():
            cron = _check_cron(cron_expression)
        elif given:
            cron = _compile(given)
        else:
            raise InvalidArgumentError(
                "Schedule() was given nothing to run on: pass a cron string such as "
                "Schedule('0 6 * * *') or helper fields such as Schedule(at_hours=[6])."
            )
        self._timezone = _zone_name(timezone)
        _check_fires(cron)
        self._cron = cron

    # -- what it is ------------------------------------------------------------------------------

    @property
    def cron_expression(self) -> str:
        """The 5-field cron string (``str(schedule)`` is the same)."""
        return self._cron

    @property
    def timezone(self) -> str:
        """The IANA name of the timezone the cron fields are read in, ``"UTC"`` by default."""
        return self._timezone

    def __str__(self) -> str:
        return self._cron

    def get_cron_string(self) -> str:
        """The hosted SDK's 6-field form: a seconds field of 0, then the 5 fields
        (``Schedule(at_hours=[6]).get_cron_string() == "0 0 6 * * *"``)."""
        return f"0 {self._cron}"

    def __repr__(self) -> str:
        if self._timezone == UTC:
            return f"Schedule({self._cron!r})"
        return f"Schedule({self._cron!r}, timezone={self._timezone!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return (self._cron, self._timezone) == (other._cron, other._timezone)

    def __hash__(self) -> int:
        return hash((self._cron, self._timezone))

    def describe(self) -> str:
        """In words, e.g. ``"At 06:00 AM, Monday through Friday (Europe/London)"``."""
        from cron_descriptor import get_description  # type: ignore[import-untyped]

        try:
            text = str(get_description(self._cron))
        except Exception:  # a description is a courtesy: never let it break a listing
            text = f"cron {self._cron}"
        if self._timezone != UTC:
            text = f"{text} ({self._timezone})"
        return text

    # -- serialising -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, str]:
        """``{"cron": ..., "timezone": ..., "description": ...}``, plain JSON."""
        return {"cron": self._cron, "timezone": self._timezone, "description": self.describe()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """The inverse of ``to_dict`` (the description is derived, so it is not read back)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("cron"), str):
            raise InvalidArgumentError(
                f"Schedule.from_dict({data!r}) needs a mapping with a 'cron' string, as made by "
                "Schedule.to_dict(), e.g. {'cron': '0 6 * * *', 'timezone': 'UTC'}."
            )
        return cls(data["cron"], timezone=data.get("timezone"))

    @classmethod
    def parse(cls, value: Schedule | str | Mapping[str, Any] | None) -> Schedule | None:
        """A Schedule from a Schedule, a cron string or a ``to_dict()`` mapping; None stays None."""
        if value is None or isinstance(value, Schedule):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        raise InvalidArgumentError(
            f"schedule={value!r} is not a schedule: pass a Schedule, a cron string such as "
            "'0 6 * * *', or a dict from Schedule.to_dict()."
        )

    # -- when it fires ---------------------------------------------------------------------------

    def next_after(self, dt: _dt.datetime) -> _dt.datetime:
        """The first time this schedule is due strictly after ``dt``, as an aware UTC datetime."""
        after = _as_utc(dt, "next_after", "dt")
        zone = self._zone()
        from croniter import croniter  # type: ignore[import-untyped]

        hour_any = self._hour_any()
        # Only when clocks go back soon after ``after`` can an earlier wall time be due later.
        start = _wall(after, zone) - _setback(after, zone) - _MINUTE
        walls = croniter(self._cron, start)
        best: _dt.datetime | None = None
        horizon: _dt.datetime | None = None
        while True:
            wall = walls.get_next(_dt.datetime)
            if best is not None and horizon is not None and wall > horizon:
                return best
            for instant in _instants(wall, zone, hour_any):
                if instant > after and (best is None or instant < best):
                    best = instant
                    # A later wall time can only map to an earlier instant across a fall-back.
                    horizon = _wall(best, zone) + _setback(best, zone)

    def latest_due(self, since: _dt.datetime | None, now: _dt.datetime) -> _dt.datetime | None:
        """The most recent due time ``t`` with ``since < t <= now`` (aware UTC), else None.

        The agent uses it to start one catch-up run after downtime rather than one per missed
        time; it walks back from ``now``, so a ``since`` months ago costs nothing extra.
        ``since=None`` puts no lower bound.
        """
        upto = _as_utc(now, "latest_due", "now")
        lower = None if since is None else _as_utc(since, "latest_due", "since")
        if lower is not None and lower >= upto:
            return None
        zone = self._zone()
        from croniter import croniter  # type: ignore[import-untyped]

        hour_any = self._hour_any()
        start = _wall(upto, zone) + _setback(upto, zone) + _MINUTE
        floor: _dt.datetime | None = None
        if lower is not None:
            floor = _wall(lower, zone) - _setback(lower, zone)
        walls = croniter(self._cron, start)
        best: _dt.datetime | None = None
        horizon: _dt.datetime | None = None
        while True:
            wall = walls.get_prev(_dt.datetime)
            if (horizon is not None and wall < horizon) or (floor is not None and wall < floor):
                return best
            for instant in _instants(wall, zone, hour_any):
                if instant <= upto and (lower is None or instant > lower):
                    if best is None or instant > best:
                        best = instant
                        horizon = _wall(best, zone) - _setback(best, zone)

    # -- internals -------------------------------------------------------------------------------

    def _zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self._timezone)

    def _hour_any(self) -> bool:
        return self._cron.split()[1] in ("*", "*/1")


# -- cron strings ------------------------------------------------------------------------------


def _check_cron(expression: str) -> str:
    text = " ".join(expression.split())
    text = _ALIASES.get(text.lower(), text)
    fields = text.split(" ")
    if len(fields) == 6:
        # The hosted SDK's form: a seconds field first ("0 0 6 * * *"). Runs start on whole
        # minutes here, so the seconds must be 0.
        if fields[0] not in ("0", "00"):
            raise InvalidArgumentError(
                f"Schedule(cron_expression={expression!r}) has a seconds field of "
                f"{fields[0]!r}: schedules fire on whole minutes, so a 6-field cron string "
                f"starts with 0 (e.g. '0 0 6 * * *'), or give the 5 fields: {_EXAMPLE}."
            )
        fields = fields[1:]
        text = " ".join(fields)
    if len(fields) != 5:
        raise InvalidArgumentError(
            f"Schedule(cron_expression={expression!r}) has {len(fields)} field"
            f"{'' if len(fields) == 1 else 's'}; a cron string has 5 ({_FIELDS}), or 6 with "
            f"a leading seconds field of 0 as the hosted SDK prints them: {_EXAMPLE}."
        )
    from croniter import croniter  # type: ignore[import-untyped]

    if any(_CRONITER_ONLY.search(field) for field in fields) or not croniter.is_valid(text):
        raise InvalidArgumentError(
            f"Schedule(cron_expression={expression!r}) is not a valid cron string "
            f"({_FIELDS}; minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-7): {_EXAMPLE}."
        )
    return text


def _check_fires(cron: str) -> None:
    """Refuse a schedule that can never be due (``0 0 30 2 *``) at definition time, not mid-run."""
    from croniter import CroniterBadDateError, croniter  # type: ignore[import-untyped]

    try:
        croniter(cron, _dt.datetime(2000, 1, 1)).get_next(_dt.datetime)
    except CroniterBadDateError:
        raise InvalidArgumentError(
            f"Schedule {cron!r} never fires (no date matches its day and month fields): "
            "check day_of_month against in_month, e.g. February has no 30th."
        ) from None


# -- helper fields -----------------------------------------------------------------------------


def _compile(given: dict[str, Any]) -> str:
    for at, every in (
        ("at_minutes", "every_minute"),
        ("at_hours", "every_hour"),
        ("in_month", "every_month"),
    ):
        if at in given and every in given:
            raise InvalidArgumentError(
                f"Schedule({at}={given[at]!r}, {every}={given[every]!r}) gives both: "
                f"use {at} for fixed values or {every} for a step, not both."
            )
    minute = _field(given, "at_minutes", "every_minute", 0, 59, "minutes")
    hour = _field(given, "at_hours", "every_hour", 0, 23, "hours")
    day = _field(given, "day_of_month", None, 1, 31, "days of the month")
    month = _names_or_field(given, "in_month", "every_month", _MONTHS, 1, 12, _MONTH_HELP)
    weekday = _names_or_field(given, "weekdays", None, _WEEKDAYS, 0, 7, _WEEKDAY_HELP)

    # Levels from fine to coarse; the day level is day_of_month or weekdays.
    levels = [minute, hour, day if day is not None else weekday, month]
    finest = next(index for index, value in enumerate(levels) if value is not None)
    first = ["0", "0", "1"]  # what an unset field finer than the finest given one starts at
    parts = [
        value if value is not None else (first[index] if index < finest else "*")
        for index, value in enumerate([minute, hour, day, month])
    ]
    parts.append(weekday if weekday is not None else "*")
    return " ".join(parts)


def _field(
    given: dict[str, Any], at: str, every: str | None, low: int, high: int, what: str
) -> str | None:
    if at in given:
        values = [_int_in_range(at, item, low, high, what) for item in _as_list(at, given[at])]
        return _join(values)
    if every is not None and every in given:
        return _step(every, given[every], high, what)
    return None


def _names_or_field(
    given: dict[str, Any],
    at: str,
    every: str | None,
    names: tuple[str, ...],
    low: int,
    high: int,
    help_text: str,
) -> str | None:
    if at in given:
        numbers = [
            _name_to_number(at, item, names, low, high, help_text)
            for item in _as_list(at, given[at])
        ]
        if names is _WEEKDAYS:
            numbers = [0 if number == 7 else number for number in numbers]
        return _join(numbers)
    if every is not None and every in given:
        return _step(every, given[every], high, "months")
    return None


def _as_list(name: str, value: Any) -> list[Any]:
    if isinstance(value, (bytes, Mapping)):
        items: list[Any] = []
    elif isinstance(value, str) or not isinstance(value, Iterable):
        return [value]  # one value; its type is checked with the others
    else:
        items = list(value)
    if items:
        return items
    raise InvalidArgumentError(
        f"Schedule({name}={value!r}) is not a value or a non-empty list of values: "
        f"write e.g. {name}=1 or {name}=[1, 2]."
    )


def _int_in_range(name: str, value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(
            f"Schedule({name}=...): {value!r} is not a whole number; {what} are {low}-{high}."
        )
    if not low <= value <= high:
        raise InvalidArgumentError(
            f"Schedule({name}=...): {value!r} is out of range; {what} are {low}-{high}."
        )
    return value


def _name_to_number(
    name: str, value: Any, names: tuple[str, ...], low: int, high: int, help_text: str
) -> int:
    if isinstance(value, str):
        text = value.strip().lower()
        if len(text) >= 3:
            for index, full in enumerate(names):
                if full.startswith(text):
                    return index + (1 if names is _MONTHS else 0)
    elif isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise InvalidArgumentError(f"Schedule({name}=...): {value!r} is not understood; {help_text}.")


def _step(name: str, value: Any, high: int, what: str) -> str:
    given = value
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]  # the hosted SDK's form: every_minute=[24]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise InvalidArgumentError(
            f"Schedule({name}={given!r}) is not a step of 1-{high} {what}: "
            f"write e.g. {name}=2 for every second one."
        )
    return "*" if value == 1 else f"*/{value}"


def _join(values: Iterable[int]) -> str:
    """Sorted, without repeats, runs of three or more as ranges: [1, 2, 3, 4, 5] -> '1-5'."""
    ordered = sorted(set(values))
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{ordered[start]}-{ordered[end]}")
        else:
            parts.extend(str(number) for number in ordered[start : end + 1])
        start = end + 1
    return ",".join(parts)


# -- timezones and instants --------------------------------------------------------------------


def _zone_name(value: str | _dt.tzinfo | None) -> str:
    if value is None or value is _UTC:
        return UTC
    if isinstance(value, zoneinfo.ZoneInfo) and value.key:
        return value.key
    if isinstance(value, str):
        name = value.strip()
        if name.upper() == UTC:
            return UTC
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            close = _close_zones(name)
            hint = f" Did you mean {close}?" if close else ""
            raise InvalidArgumentError(
                f"Schedule(timezone={value!r}) is not an IANA timezone name: write e.g. "
                f"'Europe/London', 'America/New_York' or 'UTC'.{hint}"
            ) from None
        return name
    raise InvalidArgumentError(
        f"Schedule(timezone={value!r}) is not a timezone name: pass an IANA name such as "
        "'Europe/London' (or a zoneinfo.ZoneInfo)."
    )


def _close_zones(name: str) -> str:
    import difflib

    try:
        known = zoneinfo.available_timezones()
    except Exception:  # no tz database to suggest from: the error stands without a hint
        return ""
    by_lower = {zone.lower(): zone for zone in known}
    if name.lower() in by_lower:
        return repr(by_lower[name.lower()])
    matches = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.75)
    return " or ".join(repr(match) for match in matches)


def _as_utc(value: Any, method: str, argument: str) -> _dt.datetime:
    if not isinstance(value, _dt.datetime):
        raise InvalidArgumentError(
            f"Schedule.{method}({argument}={value!r}) is not a datetime: pass an aware one, "
            "e.g. datetime.now(timezone.utc)."
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgumentError(
            f"Schedule.{method}({argument}={value!r}) is a naive datetime: pass an aware one, "
            "e.g. datetime.now(timezone.utc) or dt.replace(tzinfo=timezone.utc)."
        )
    return value.astimezone(_UTC)


def _wall(instant: _dt.datetime, zone: zoneinfo.ZoneInfo) -> _dt.datetime:
    """The naive wall-clock time in ``zone`` at ``instant``."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _offset(instant: _dt.datetime, zone: zoneinfo.ZoneInfo) -> _dt.timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _setback(instant: _dt.datetime, zone: zoneinfo.ZoneInfo) -> _dt.timedelta:
    """How far the clocks of ``zone`` go back within a few hours of ``instant`` (mostly 0).

    Wall-clock order and real order differ only across such a set-back, so the searches look
    this much further than the wall time they start or stop at.
    """
    before = _offset(instant - _MAX_SHIFT, zone)
    after = _offset(instant + _MAX_SHIFT, zone)
    if before is None or after is None or after >= before:
        return _dt.timedelta()
    return before - after


def _instants(wall: _dt.datetime, zone: zoneinfo.ZoneInfo, hour_any: bool) -> list[_dt.datetime]:
    """The UTC instants at which a matching wall-clock time fires (see the module docstring)."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(_UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(_UTC)
    if first == second:
        return [first]
    if first < second:  # the wall time happens twice: clocks went back
        return [first, second] if hour_any else [first]
    # The wall time never happens: clocks jumped over it between ``second`` and ``first``.
    return [] if hour_any else [_jump(second, first, zone)]


def _jump(before: _dt.datetime, after: _dt.datetime, zone: zoneinfo.ZoneInfo) -> _dt.datetime:
    """The first whole minute in (before, after] on the far side of a clock jump."""
    target = _offset(after, zone)
    while after - before > _MINUTE:
        middle = before + (after - before) // 2
        middle -= _dt.timedelta(seconds=middle.second, microseconds=middle.microsecond)
        if middle <= before:
            middle = before + _MINUTE
        if _offset(middle, zone) == target:
            after = middle
        else:
            before = middle
    return after
