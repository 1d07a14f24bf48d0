"""Schedule: cron strings, helper fields, timezones, descriptions and the agent's time maths."""

from __future__ import annotations

import pickle
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from datatailr.core.schedule import Schedule
from datatailr.errors import DatatailrError, InvalidArgumentError


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def error_of(**kwargs) -> str:
    with pytest.raises(InvalidArgumentError) as caught:
        Schedule(**kwargs)
    return str(caught.value)


def error_of_call(function, *args) -> str:
    with pytest.raises(InvalidArgumentError) as caught:
        function(*args)
    return str(caught.value)


# -- cron strings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "cron"),
    [
        ("0 6 * * *", "0 6 * * *"),
        ("  0   6 * *\t*  ", "0 6 * * *"),
        ("*/15 9-17 * * 1-5", "*/15 9-17 * * 1-5"),
        ("0 6 * * MON-FRI", "0 6 * * MON-FRI"),
        ("0 0 1 JAN,JUL *", "0 0 1 JAN,JUL *"),
        ("0 0 L * *", "0 0 L * *"),
        ("@daily", "0 0 * * *"),
        ("@HOURLY", "0 * * * *"),
        ("@weekly", "0 0 * * 0"),
    ],
)
def test_cron_string_is_kept_with_whitespace_normalised(given, cron):
    schedule = Schedule(given)
    assert (str(schedule), schedule.cron_expression, schedule.timezone) == (cron, cron, "UTC")


def test_cron_string_by_keyword_and_none_as_empty():
    assert str(Schedule(cron_expression="5 4 * * *")) == "5 4 * * *"
    assert str(Schedule(None, at_hours=3)) == "0 3 * * *"  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["0 6 * *", "0 0 6 * * * *", "daily"])
def test_cron_string_with_wrong_field_count_is_refused(bad):
    message = error_of(cron_expression=bad)
    fields = len(bad.split())
    assert message == (
        f"Schedule(cron_expression={bad!r}) has {fields} field{'' if fields == 1 else 's'}; "
        "a cron string has 5 (minute hour day-of-month month day-of-week), or 6 with a leading "
        "seconds field of 0 as the hosted SDK prints them: write e.g. "
        "'0 6 * * *' for 06:00 every day or '*/15 * * * 1-5' for every 15 minutes on weekdays."
    )


# -- the hosted SDK's forms ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "cron"),
    [
        ("0 0 6 * * *", "0 6 * * *"),
        ("0 */24 2,15 * 7 7", "*/24 2,15 * 7 7"),  # the SDK docstring's own output
        ("00   30 8 * * 1-5", "30 8 * * 1-5"),
        ("0 0,15,30,45 0,12 15 1,7 1,3,5", "0,15,30,45 0,12 15 1,7 1,3,5"),
    ],
)
def test_six_field_cron_as_the_sdk_prints_it_is_read(given, cron):
    schedule = Schedule(given)
    assert (str(schedule), schedule.get_cron_string()) == (cron, f"0 {cron}")


def test_six_field_cron_with_seconds_other_than_zero_is_refused():
    assert error_of(cron_expression="30 0 6 * * *") == (
        "Schedule(cron_expression='30 0 6 * * *') has a seconds field of '30': schedules fire "
        "on whole minutes, so a 6-field cron string starts with 0 (e.g. '0 0 6 * * *'), or give "
        "the 5 fields: write e.g. '0 6 * * *' for 06:00 every day or '*/15 * * * 1-5' for every "
        "15 minutes on weekdays."
    )


def test_six_field_cron_fires_at_the_same_times_as_its_five_fields():
    after = datetime(2026, 4, 9, 5, 0, tzinfo=timezone.utc)
    six = Schedule("0 0 6 * * *", timezone="Europe/London")
    assert six == Schedule("0 6 * * *", timezone="Europe/London")
    assert six.next_after(after) == datetime(2026, 4, 9, 5, 0, tzinfo=timezone.utc) + timedelta(
        days=1
    )


@pytest.mark.parametrize(
    ("fields", "cron"),
    [
        # The SDK docstrings' examples, with their printed results.
        (
            {"in_month": ["Jul"], "weekdays": ["Sun"], "every_minute": [24], "at_hours": [2, 15]},
            "0 */24 2,15 * 7 0",
        ),
        (
            {
                "at_minutes": [0, 15, 30, 45],
                "at_hours": [0, 12],
                "weekdays": ["Mon", "Wed", "Fri"],
                "day_of_month": 15,
                "in_month": ["Jan", "Jul"],
            },
            "0 0,15,30,45 0,12 15 1,7 1,3,5",
        ),
        ({"at_hours": [0]}, "0 0 0 * * *"),
        ({"at_minutes": [0, 30], "weekdays": ["Mon", "Wed", "Fri"]}, "0 0,30 * * * 1,3,5"),
        ({"every_hour": [6]}, "0 0 */6 * * *"),
        ({"every_month": [3]}, "0 0 0 1 */3 *"),
        ({"every_minute": [1]}, "0 * * * * *"),
    ],
)
def test_list_valued_helpers_compile_as_the_sdk_documents(fields, cron):
    assert Schedule(**fields).get_cron_string() == cron


def test_a_step_given_as_a_list_of_several_is_refused_naming_it():
    assert error_of(every_minute=[5, 10]) == (
        "Schedule(every_minute=[5, 10]) is not a step of 1-59 minutes: write e.g. "
        "every_minute=2 for every second one."
    )


def test_at_hours_zero_as_a_call_time_override_is_midnight():
    schedule = Schedule(at_hours=0)
    assert (str(schedule), schedule.get_cron_string(), schedule.timezone) == (
        "0 0 * * *",
        "0 0 0 * * *",
        "UTC",
    )


@pytest.mark.parametrize(
    "bad",
    [
        "0 24 * * *",
        "60 * * * *",
        "0 0 0 * *",
        "0 0 * 13 *",
        "0 0 * * 8",
        "a b c d e",
        "H * * * *",
        "R * * * *",
        "0 6 * * FUNDAY",
    ],
)
def test_invalid_cron_string_is_refused_with_the_value_and_an_example(bad):
    message = error_of(cron_expression=bad)
    assert message == (
        f"Schedule(cron_expression={bad!r}) is not a valid cron string (minute hour "
        "day-of-month month day-of-week; minute 0-59, hour 0-23, day 1-31, month 1-12, "
        "weekday 0-7): write e.g. '0 6 * * *' for 06:00 every day or '*/15 * * * 1-5' for "
        "every 15 minutes on weekdays."
    )


def test_cron_string_that_is_not_a_string_is_refused():
    assert error_of(cron_expression=6) == (
        "Schedule(cron_expression=6) is not a string: write e.g. '0 6 * * *' for 06:00 every "
        "day or '*/15 * * * 1-5' for every 15 minutes on weekdays."
    )


def test_schedule_that_never_fires_is_refused_at_definition():
    assert error_of(cron_expression="0 0 30 2 *") == (
        "Schedule '0 0 30 2 *' never fires (no date matches its day and month fields): check "
        "day_of_month against in_month, e.g. February has no 30th."
    )
    assert "'0 0 31 2 *' never fires" in error_of(day_of_month=31, in_month="Feb")


def test_errors_are_value_errors_in_the_package_tree():
    with pytest.raises(ValueError):
        Schedule("nonsense")
    with pytest.raises(DatatailrError):
        Schedule(at_hours=99)


# -- helper fields -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "cron"),
    [
        ({"at_hours": [6]}, "0 6 * * *"),
        ({"at_hours": 6}, "0 6 * * *"),
        ({"at_hours": [18, 6, 6]}, "0 6,18 * * *"),
        ({"at_hours": range(9, 18)}, "0 9-17 * * *"),
        ({"at_hours": (1, 2, 3, 5, 7, 8)}, "0 1-3,5,7,8 * * *"),
        ({"at_minutes": 15}, "15 * * * *"),
        ({"at_minutes": [0, 30], "at_hours": [9, 17]}, "0,30 9,17 * * *"),
        ({"every_minute": 5}, "*/5 * * * *"),
        ({"every_minute": 1}, "* * * * *"),
        ({"every_minute": 10, "at_hours": 9}, "*/10 9 * * *"),
        ({"every_hour": 2}, "0 */2 * * *"),
        ({"at_minutes": 30, "every_hour": 4}, "30 */4 * * *"),
        ({"weekdays": "Mon"}, "0 0 * * 1"),
        ({"weekdays": ["Mon", "tue", "WEDNESDAY", "thurs", "Fri"], "at_hours": 6}, "0 6 * * 1-5"),
        ({"weekdays": ["sat", "Sunday"], "at_hours": 10, "at_minutes": 30}, "30 10 * * 0,6"),
        ({"weekdays": [7, 1]}, "0 0 * * 0,1"),
        ({"weekdays": 0}, "0 0 * * 0"),
        ({"every_minute": 15, "weekdays": ["mon", "fri"]}, "*/15 * * * 1,5"),
        ({"day_of_month": 1}, "0 0 1 * *"),
        ({"day_of_month": [1, 15], "at_hours": 8}, "0 8 1,15 * *"),
        ({"in_month": "Jan"}, "0 0 1 1 *"),
        ({"in_month": ["mar", "June", "sept", "DEC"]}, "0 0 1 3,6,9,12 *"),
        ({"in_month": [1, 12], "day_of_month": 31, "at_hours": 23}, "0 23 31 1,12 *"),
        ({"every_month": 3}, "0 0 1 */3 *"),
        ({"every_month": 1, "day_of_month": 10}, "0 0 10 * *"),
        ({"in_month": "july", "weekdays": "sun"}, "0 0 * 7 0"),
    ],
)
def test_helper_fields_compile_to_cron(fields, cron):
    assert str(Schedule(**fields)) == cron


def test_nothing_given_is_refused():
    assert error_of() == (
        "Schedule() was given nothing to run on: pass a cron string such as "
        "Schedule('0 6 * * *') or helper fields such as Schedule(at_hours=[6])."
    )
    assert error_of(cron_expression="   ").startswith("Schedule() was given nothing")


def test_cron_string_and_helper_fields_together_are_refused():
    assert error_of(cron_expression="0 6 * * *", at_hours=[6], weekdays="Mon") == (
        "Schedule(cron_expression='0 6 * * *', at_hours=[6], weekdays='Mon') gives both a cron "
        "string and helper fields: give one or the other, e.g. Schedule('0 6 * * *') or "
        "Schedule(at_hours=[6])."
    )


@pytest.mark.parametrize(
    ("at", "every"),
    [("at_minutes", "every_minute"), ("at_hours", "every_hour"), ("in_month", "every_month")],
)
def test_fixed_values_and_a_step_together_are_refused(at, every):
    assert error_of(**{at: 1, every: 2}) == (
        f"Schedule({at}=1, {every}=2) gives both: use {at} for fixed values or {every} for a "
        "step, not both."
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"at_hours": 24}, "Schedule(at_hours=...): 24 is out of range; hours are 0-23."),
        ({"at_hours": [6, -1]}, "Schedule(at_hours=...): -1 is out of range; hours are 0-23."),
        ({"at_minutes": 60}, "Schedule(at_minutes=...): 60 is out of range; minutes are 0-59."),
        (
            {"day_of_month": 0},
            "Schedule(day_of_month=...): 0 is out of range; days of the month are 1-31.",
        ),
        (
            {"day_of_month": 32},
            "Schedule(day_of_month=...): 32 is out of range; days of the month are 1-31.",
        ),
        ({"at_hours": "6"}, "Schedule(at_hours=...): '6' is not a whole number; hours are 0-23."),
        ({"at_hours": 6.0}, "Schedule(at_hours=...): 6.0 is not a whole number; hours are 0-23."),
        (
            {"at_minutes": True},
            "Schedule(at_minutes=...): True is not a whole number; minutes are 0-59.",
        ),
        (
            {"at_hours": []},
            "Schedule(at_hours=[]) is not a value or a non-empty list of values: write e.g. "
            "at_hours=1 or at_hours=[1, 2].",
        ),
        (
            {"weekdays": {"mon": 1}},
            "Schedule(weekdays={'mon': 1}) is not a value or a non-empty list of values: write e.g. "
            "weekdays=1 or weekdays=[1, 2].",
        ),
        (
            {"every_minute": 0},
            "Schedule(every_minute=0) is not a step of 1-59 minutes: write e.g. every_minute=2 for "
            "every second one.",
        ),
        (
            {"every_minute": 60},
            "Schedule(every_minute=60) is not a step of 1-59 minutes: write e.g. every_minute=2 for "
            "every second one.",
        ),
        (
            {"every_hour": 24},
            "Schedule(every_hour=24) is not a step of 1-23 hours: write e.g. every_hour=2 for every "
            "second one.",
        ),
        (
            {"every_month": 13},
            "Schedule(every_month=13) is not a step of 1-12 months: write e.g. every_month=2 for "
            "every second one.",
        ),
        (
            {"every_hour": "2"},
            "Schedule(every_hour='2') is not a step of 1-23 hours: write e.g. every_hour=2 for every "
            "second one.",
        ),
    ],
)
def test_bad_numeric_helper_values_are_refused_naming_the_value(fields, message):
    assert error_of(**fields) == message


@pytest.mark.parametrize("bad", ["Mo", "Mox", "funday", "mondays", "", 8, -1, True, 1.0])
def test_bad_weekday_is_refused_with_the_valid_options(bad):
    assert error_of(weekdays=["Mon", bad]) == (
        f"Schedule(weekdays=...): {bad!r} is not understood; use a day name or a 3+ letter "
        "prefix of one (Mon, Tue, Wed, Thu, Fri, Sat, Sun), or a cron number 0-7 (0 and 7 are "
        "Sunday, 1 is Monday)."
    )


@pytest.mark.parametrize("bad", ["Ja", "Janx", "Smarch", 0, 13])
def test_bad_month_is_refused_with_the_valid_options(bad):
    assert error_of(in_month=bad) == (
        f"Schedule(in_month=...): {bad!r} is not understood; use a month name or a 3+ letter "
        "prefix of one (Jan, Feb, Mar, Apr, May, Jun, Jul, Aug, Sep, Oct, Nov, Dec), or a "
        "number 1-12."
    )


# -- timezones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "name"),
    [
        (None, "UTC"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        (timezone.utc, "UTC"),
        ("Europe/London", "Europe/London"),
        (" America/New_York ", "America/New_York"),
        (ZoneInfo("Asia/Tokyo"), "Asia/Tokyo"),
    ],
)
def test_timezone_is_kept_as_its_iana_name(given, name):
    assert Schedule("0 6 * * *", timezone=given).timezone == name


def test_unknown_timezone_is_refused_naming_it():
    assert error_of(cron_expression="0 6 * * *", timezone="Mars/Olympus_Mons") == (
        "Schedule(timezone='Mars/Olympus_Mons') is not an IANA timezone name: write e.g. "
        "'Europe/London', 'America/New_York' or 'UTC'."
    )


def test_misspelt_timezone_suggests_the_real_one():
    assert error_of(at_hours=6, timezone="europe/london") == (
        "Schedule(timezone='europe/london') is not an IANA timezone name: write e.g. "
        "'Europe/London', 'America/New_York' or 'UTC'. Did you mean 'Europe/London'?"
    )


@pytest.mark.parametrize("bad", ["", "../etc/passwd", "Europe"])
def test_timezone_that_is_no_zone_file_is_refused(bad):
    assert error_of(at_hours=6, timezone=bad).startswith(
        f"Schedule(timezone={bad!r}) is not an IANA timezone name"
    )


def test_timezone_of_another_type_is_refused():
    assert error_of(at_hours=6, timezone=timezone(timedelta(hours=2))) == (
        "Schedule(timezone=datetime.timezone(datetime.timedelta(seconds=7200))) is not a "
        "timezone name: pass an IANA name such as 'Europe/London' (or a zoneinfo.ZoneInfo)."
    )


# -- what it is --------------------------------------------------------------------------------------


def test_describe():
    assert Schedule(at_hours=[6]).describe() == "At 06:00 AM"
    assert Schedule(at_hours=6, timezone="Europe/London").describe() == (
        "At 06:00 AM (Europe/London)"
    )
    assert Schedule(at_hours=6, weekdays=["mon", "tue", "wed", "thu", "fri"]).describe() == (
        "At 06:00 AM, Monday through Friday"
    )
    assert Schedule(every_minute=5).describe() == "Every 5 minutes"
    assert (
        Schedule(every_month=3).describe() == "At 12:00 AM, on day 1 of the month, every 3 months"
    )


def test_repr_str_equality_and_hash():
    plain = Schedule(at_hours=[6])
    london = Schedule("0 6 * * *", timezone="Europe/London")
    assert (str(plain), repr(plain)) == ("0 6 * * *", "Schedule('0 6 * * *')")
    assert repr(london) == "Schedule('0 6 * * *', timezone='Europe/London')"
    assert plain == Schedule("0 6 * * *") == Schedule("0 6 * * *", timezone="UTC")
    assert plain != london
    assert plain != "0 6 * * *"
    assert len({plain, Schedule("0  6 * * *"), london}) == 2
    assert eval(repr(london), {"Schedule": Schedule}) == london


def test_schedule_survives_pickle():
    london = Schedule(at_hours=6, timezone="Europe/London")
    assert pickle.loads(pickle.dumps(london)) == london


# -- serialising -------------------------------------------------------------------------------------


def test_to_dict_and_from_dict_round_trip():
    schedule = Schedule(at_minutes=30, at_hours=6, weekdays=["sat", "sun"], timezone="Europe/Paris")
    data = schedule.to_dict()
    assert data == {
        "cron": "30 6 * * 0,6",
        "timezone": "Europe/Paris",
        "description": "At 06:30 AM, only on Sunday and Saturday (Europe/Paris)",
    }
    assert Schedule.from_dict(data) == schedule
    assert Schedule.from_dict({"cron": "0 6 * * *"}) == Schedule("0 6 * * *")


@pytest.mark.parametrize("bad", [{"timezone": "UTC"}, {"cron": 5}, "0 6 * * *", None])
def test_from_dict_refuses_what_to_dict_never_makes(bad):
    with pytest.raises(InvalidArgumentError) as caught:
        Schedule.from_dict(bad)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"Schedule.from_dict({bad!r}) needs a mapping with a 'cron' string, as made by "
        "Schedule.to_dict(), e.g. {'cron': '0 6 * * *', 'timezone': 'UTC'}."
    )


def test_from_dict_checks_what_it_reads():
    assert error_of_call(Schedule.from_dict, {"cron": "0 6 * *"}).startswith(
        "Schedule(cron_expression='0 6 * *') has 4 fields"
    )
    assert error_of_call(
        Schedule.from_dict, {"cron": "0 6 * * *", "timezone": "Nowhere"}
    ).startswith("Schedule(timezone='Nowhere') is not an IANA timezone name")


def test_parse():
    london = Schedule("0 6 * * *", timezone="Europe/London")
    assert Schedule.parse(None) is None
    assert Schedule.parse(london) is london
    assert Schedule.parse("0 6 * * *") == Schedule(at_hours=6)
    assert Schedule.parse(london.to_dict()) == london
    assert error_of_call(Schedule.parse, 6) == (
        "schedule=6 is not a schedule: pass a Schedule, a cron string such as '0 6 * * *', or a "
        "dict from Schedule.to_dict()."
    )


# -- next_after --------------------------------------------------------------------------------------


def test_next_after_in_utc():
    daily = Schedule(at_hours=6)
    assert daily.next_after(utc(2024, 5, 1, 5, 59, 59)) == utc(2024, 5, 1, 6, 0)
    assert daily.next_after(utc(2024, 5, 1, 6, 0)) == utc(2024, 5, 2, 6, 0)  # strictly after
    assert daily.next_after(utc(2024, 5, 1, 6, 0, 0, 1)) == utc(2024, 5, 2, 6, 0)
    assert Schedule(every_minute=15).next_after(utc(2024, 12, 31, 23, 50)) == utc(2025, 1, 1, 0, 0)
    assert Schedule(day_of_month=29, in_month="Feb").next_after(utc(2024, 3, 1)) == (
        utc(2028, 2, 29, 0, 0)
    )


def test_next_after_returns_utc_for_any_aware_input():
    tokyo_evening = datetime(2024, 5, 1, 20, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 11:00 UTC
    result = Schedule(at_hours=12).next_after(tokyo_evening)
    assert (result, result.tzinfo) == (utc(2024, 5, 1, 12, 0), timezone.utc)


def test_next_after_refuses_naive_and_non_datetimes():
    assert error_of_call(Schedule(at_hours=6).next_after, datetime(2024, 5, 1)) == (
        "Schedule.next_after(dt=datetime.datetime(2024, 5, 1, 0, 0)) is a naive datetime: pass "
        "an aware one, e.g. datetime.now(timezone.utc) or dt.replace(tzinfo=timezone.utc)."
    )
    assert error_of_call(Schedule(at_hours=6).next_after, "2024-05-01") == (
        "Schedule.next_after(dt='2024-05-01') is not a datetime: pass an aware one, e.g. "
        "datetime.now(timezone.utc)."
    )


def test_local_time_holds_across_daylight_saving():
    london = Schedule(at_hours=6, timezone="Europe/London")
    assert london.next_after(utc(2024, 1, 10)) == utc(2024, 1, 10, 6, 0)  # GMT
    assert london.next_after(utc(2024, 7, 10)) == utc(2024, 7, 10, 5, 0)  # BST
    # Clocks go forward in the night of 30/31 March 2024: 06:00 moves from 06:00 to 05:00 UTC.
    chain = [utc(2024, 3, 29, 12, 0)]
    for _ in range(3):
        chain.append(london.next_after(chain[-1]))
    assert chain[1:] == [utc(2024, 3, 30, 6, 0), utc(2024, 3, 31, 5, 0), utc(2024, 4, 1, 5, 0)]
    new_york = Schedule(
        at_hours=9, weekdays=["mon", "tue", "wed", "thu", "fri"], timezone="America/New_York"
    )
    assert new_york.next_after(utc(2024, 3, 8, 15)) == utc(2024, 3, 11, 13, 0)  # EDT from 10 March
    assert new_york.next_after(utc(2024, 3, 7, 15)) == utc(2024, 3, 8, 14, 0)  # still EST


def fire_times(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    times, current = [], start
    while (current := schedule.next_after(current)) <= end:
        times.append(current)
    return times


def test_fixed_time_in_the_skipped_hour_fires_when_the_clocks_jump():
    # London, 31 March 2024: at 01:00 UTC the clocks jump from 01:00 GMT to 02:00 BST.
    half_past_one = Schedule("30 1 * * *", timezone="Europe/London")
    assert fire_times(half_past_one, utc(2024, 3, 30), utc(2024, 4, 1, 12)) == [
        utc(2024, 3, 30, 1, 30),
        utc(2024, 3, 31, 1, 0),
        utc(2024, 4, 1, 0, 30),
    ]
    several = Schedule("*/20 1 * * *", timezone="Europe/London")  # three skipped times, one run
    assert fire_times(several, utc(2024, 3, 30, 12), utc(2024, 4, 1, 0, 50)) == [
        utc(2024, 3, 31, 1, 0),
        utc(2024, 4, 1, 0, 0),
        utc(2024, 4, 1, 0, 20),
        utc(2024, 4, 1, 0, 40),
    ]


def test_fixed_time_in_the_repeated_hour_fires_once():
    # London, 27 October 2024: 01:00-02:00 local happens twice (00:00-01:00 and 01:00-02:00 UTC).
    half_past_one = Schedule("30 1 * * *", timezone="Europe/London")
    assert fire_times(half_past_one, utc(2024, 10, 26, 12), utc(2024, 10, 28, 12)) == [
        utc(2024, 10, 27, 0, 30),
        utc(2024, 10, 28, 1, 30),
    ]
    # Asked from inside the second pass, the repeated time is not due again.
    assert half_past_one.next_after(utc(2024, 10, 27, 1, 10)) == utc(2024, 10, 28, 1, 30)


def test_every_hour_schedule_follows_real_time_across_daylight_saving():
    hourly = Schedule("45 * * * *", timezone="Europe/London")
    # Spring: 01:45 local does not exist, so it is skipped; the runs stay an hour apart.
    assert fire_times(hourly, utc(2024, 3, 30, 23, 50), utc(2024, 3, 31, 2, 50)) == [
        utc(2024, 3, 31, 0, 45),
        utc(2024, 3, 31, 1, 45),
        utc(2024, 3, 31, 2, 45),
    ]
    # Autumn: 01:45 local happens twice and fires twice, still an hour apart.
    assert fire_times(hourly, utc(2024, 10, 26, 23, 50), utc(2024, 10, 27, 2, 50)) == [
        utc(2024, 10, 27, 0, 45),
        utc(2024, 10, 27, 1, 45),
        utc(2024, 10, 27, 2, 45),
    ]
    # Asked from inside the second pass, the next run is in that same pass.
    assert hourly.next_after(utc(2024, 10, 27, 1, 10)) == utc(2024, 10, 27, 1, 45)


# -- latest_due --------------------------------------------------------------------------------------


def test_latest_due_none_one_or_many():
    daily = Schedule(at_hours=6)
    assert daily.latest_due(utc(2024, 5, 1, 6, 30), utc(2024, 5, 1, 23, 0)) is None
    assert daily.latest_due(utc(2024, 5, 1, 5, 0), utc(2024, 5, 1, 7, 0)) == utc(2024, 5, 1, 6, 0)
    # Down for a week: one catch-up run for the latest missed time, not seven.
    assert daily.latest_due(utc(2024, 5, 1, 6, 0), utc(2024, 5, 8, 12, 0)) == utc(2024, 5, 8, 6, 0)


def test_latest_due_bounds():
    daily = Schedule(at_hours=6)
    assert daily.latest_due(utc(2024, 5, 1), utc(2024, 5, 1, 6, 0)) == utc(2024, 5, 1, 6, 0)
    assert daily.latest_due(utc(2024, 5, 1, 6, 0), utc(2024, 5, 1, 6, 0, 30)) is None
    assert daily.latest_due(utc(2024, 5, 2), utc(2024, 5, 1)) is None
    assert daily.latest_due(None, utc(2024, 5, 1, 5, 0)) == utc(2024, 4, 30, 6, 0)
    assert error_of_call(daily.latest_due, datetime(2024, 5, 1), utc(2024, 5, 2)).startswith(
        "Schedule.latest_due(since=datetime.datetime(2024, 5, 1, 0, 0)) is a naive datetime"
    )
    assert error_of_call(daily.latest_due, None, None).startswith(
        "Schedule.latest_due(now=None) is not a datetime"
    )


def test_latest_due_in_a_timezone_and_across_daylight_saving():
    london = Schedule(at_hours=6, timezone="Europe/London")
    assert london.latest_due(utc(2024, 7, 1), utc(2024, 7, 10, 5, 30)) == utc(2024, 7, 10, 5, 0)
    half_past_one = Schedule("30 1 * * *", timezone="Europe/London")
    # The repeated 01:30 counts once, in its first pass ...
    assert half_past_one.latest_due(utc(2024, 10, 26, 12), utc(2024, 10, 27, 2)) == (
        utc(2024, 10, 27, 0, 30)
    )
    assert half_past_one.latest_due(utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 2)) is None
    # ... and the skipped one counts at the jump.
    assert half_past_one.latest_due(utc(2024, 3, 30, 12), utc(2024, 3, 31, 3)) == (
        utc(2024, 3, 31, 1, 0)
    )


def test_latest_due_walks_back_from_now_not_forward_from_since(monkeypatch):
    import croniter

    steps = []

    class CountingCroniter(croniter.croniter):
        def get_prev(self, *args, **kwargs):
            steps.append(1)
            return super().get_prev(*args, **kwargs)

        def get_next(self, *args, **kwargs):
            steps.append(1)
            return super().get_next(*args, **kwargs)

    every_minute = Schedule(every_minute=1)
    monkeypatch.setattr(croniter, "croniter", CountingCroniter)
    assert every_minute.latest_due(utc(2024, 1, 1), utc(2024, 9, 1, 12, 0, 30)) == (
        utc(2024, 9, 1, 12, 0)
    )
    assert len(steps) <= 3


def due_by_brute_force(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every whole UTC minute in (start, end] that the documented DST rules make due."""
    from croniter import croniter

    zone = ZoneInfo(schedule.timezone)
    hour_any = str(schedule).split()[1] == "*"
    first, last = ((t.astimezone(zone).replace(tzinfo=None)) for t in (start, end))
    walls = croniter(str(schedule), first - timedelta(hours=4))
    matching = set()  # the matching wall-clock minutes, with no timezone involved
    while (wall := walls.get_next(datetime)) < last + timedelta(hours=4):
        matching.add(wall)
    due, minute = [], start
    while minute < end:
        minute += timedelta(minutes=1)
        local = minute.astimezone(zone)
        if local.replace(tzinfo=None, fold=0) in matching and (local.fold == 0 or hour_any):
            due.append(minute)
            continue
        before, after = (
            (minute - timedelta(minutes=1)).astimezone(zone).utcoffset(),
            local.utcoffset(),
        )
        if not hour_any and after > before:  # clocks just jumped: were skipped times due?
            skipped = (minute + before).replace(tzinfo=None)
            while skipped < (minute + after).replace(tzinfo=None):
                if skipped in matching:
                    due.append(minute)
                    break
                skipped += timedelta(minutes=1)
    return due


@pytest.mark.parametrize("cron", ["30 1 * * *", "*/20 1,2 * * *", "0 * * * *", "*/7 * * * *"])
@pytest.mark.parametrize(
    ("zone", "start"),
    [  # five hours either side of a clock change
        ("Europe/London", utc(2024, 3, 30, 20)),
        ("Europe/London", utc(2024, 10, 26, 20)),
        ("Australia/Lord_Howe", utc(2024, 4, 6, 10)),  # clocks go back by 30 minutes
        ("Australia/Lord_Howe", utc(2024, 10, 5, 10, 30)),
    ],
)
def test_next_after_and_latest_due_agree_with_brute_force(cron, zone, start):
    schedule = Schedule(cron, timezone=zone)
    end = start + timedelta(hours=10)
    due = due_by_brute_force(schedule, start, end)
    assert fire_times(schedule, start, end) == due
    for minutes in range(0, 10 * 60, 29):
        now = start + timedelta(minutes=minutes, seconds=20)
        since = max(now - timedelta(hours=2), start)
        expected = [t for t in due if since < t <= now]
        assert schedule.latest_due(since, now) == (expected[-1] if expected else None)


# -- purity ------------------------------------------------------------------------------------------


def test_import_is_pure_and_cheap():
    code = (
        "import sys, datatailr.core.schedule; "
        "print([m for m in ('sqlite3', 'croniter', 'cron_descriptor') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
