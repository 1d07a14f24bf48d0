"""The hosted dt's filter and sort language over plain dicts."""

from __future__ import annotations

import pytest

from datatailr.core.query import compile_filter, parse_sort, select
from datatailr.errors import InvalidArgumentError

FIELDS = {"name": "text", "type": "text", "display_name": "text", "version": "numeric",
          "end_time": "numeric", "is_file": "bool"}
ROWS = [
    {"name": "daily-report", "type": "batch", "display_name": "Daily Report", "version": 3,
     "end_time": 10.0, "is_file": True},
    {"name": "prod-api", "type": "service", "display_name": "Mike's API", "version": 1,
     "end_time": None, "is_file": False},
    {"name": "test-app", "type": "app", "display_name": "Weekly (EU)", "version": 2,
     "end_time": 5.0, "is_file": False},
]


def names(text, sort=None):
    return [r["name"] for r in select(ROWS, filter=text, sort=sort, fields=FIELDS)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["daily-report", "prod-api", "test-app"]),
        ("type = app", ["test-app"]),
        ("type == batch", ["daily-report"]),
        ("type != batch", ["prod-api", "test-app"]),
        ("name starts_with PROD-", ["prod-api"]),
        ("name ends_with -app", ["test-app"]),
        ("display_name contains report", ["daily-report"]),
        ('display_name contains "Daily Report"', ["daily-report"]),
        ("display_name = 'Mike\\'s API'", ["prod-api"]),
        ('display_name = ["Daily Report", "Weekly (EU)"]', ["daily-report", "test-app"]),
        ("name = [daily-report, test-app]", ["daily-report", "test-app"]),
        ("name starts_with [daily, test]", ["daily-report", "test-app"]),
        ("version >= 2", ["daily-report", "test-app"]),
        ("version < 2 or type = app", ["prod-api", "test-app"]),
        ("(type = batch or type = service) and version > 1", ["daily-report"]),
        ("type = batch or type = service and version > 1", ["daily-report"]),
        ("not name starts_with test-", ["daily-report", "prod-api"]),
        ("not (type = batch or type = service)", ["test-app"]),
        ("end_time is_null", ["prod-api"]),
        ("end_time is_not_null and version = 2", ["test-app"]),
        ("is_file = true", ["daily-report"]),
        ("name = 'and'", []),
    ],
)
def test_filters(text, expected):
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = red", "there is no field 'colour' (fields: display_name, end_time, is_file, "
                         "name, type, version)"),
        ("name is red", "'is' after 'name' is not an operator"),
        ("version starts_with 1", "starts_with works on text, and 'version' is a number"),
        ("name > 3", "> works on numbers, and 'name' is text"),
        ("version = three", "'three' is not a number, and 'version' is numeric"),
        ("name = 'open", "the quote ' is never closed"),
        ("name = [a, b", "it ends too early"),
        ("(name = a", "it ends too early"),
        ("name = a b", "'b' is not expected here"),
        ("name =", "it ends too early"),
    ],
)
def test_bad_filters_say_what_and_where(text, message):
    with pytest.raises(InvalidArgumentError) as caught:
        compile_filter(text, FIELDS)
    assert str(caught.value).startswith(f"Filter {text!r}: {message}")
    assert str(caught.value).endswith('write e.g. "name starts_with daily and state = failed".')


def test_sort_directions_and_missing_values_last():
    assert names("", sort="-version") == ["daily-report", "test-app", "prod-api"]
    assert names("", sort="+type") == ["test-app", "daily-report", "prod-api"]
    assert names("", sort="end_time") == ["test-app", "daily-report", "prod-api"]
    assert names("", sort="-end_time") == ["daily-report", "test-app", "prod-api"]
    assert parse_sort("-version +name type") == [("version", True), ("name", False),
                                                 ("type", False)]
    with pytest.raises(InvalidArgumentError) as caught:
        parse_sort("-colour", FIELDS)
    assert str(caught.value).startswith("Sort '-colour': there is no field 'colour'")


def test_paging():
    assert [r["name"] for r in select(ROWS, limit=1, offset=1)] == ["prod-api"]
    assert [r["name"] for r in select(ROWS, limit=-1, offset=2)] == ["test-app"]
