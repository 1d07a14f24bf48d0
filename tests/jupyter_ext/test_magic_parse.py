"""Parsing the %dt_runs line (words join into the name; --env/-e picks the environment): a pure function, no IPython."""

from __future__ import annotations

import pytest

from datatailr.jupyter_ext._magic import USAGE, Command, MagicUsageError, parse_line


@pytest.mark.parametrize(("line", "expected"), [
    ("", Command("open")),
    ("   ", Command("open")),
    ("my-workflow", Command("open", workflow="my-workflow")),
    ("Simple Data Pipeline", Command("open", workflow="Simple Data Pipeline")),
    ("my-workflow --env prod", Command("open", workflow="my-workflow", environment="prod")),
    ("--env pre", Command("open", environment="pre")),
    ("-e PROD Daily Sales Report", Command("open", workflow="Daily Sales Report", environment="prod")),
    ("daily --env=pre", Command("open", workflow="daily", environment="pre")),
    ("daily -epre", Command("open", workflow="daily", environment="pre")),
    ("'Complex Pipeline' -e dev", Command("open", workflow="Complex Pipeline", environment="dev")),
    ("it's broken", Command("open", workflow="it's broken")),
    ("load 12 fetch_data", Command("load", run_id=12, task_name="fetch_data")),
    ("load 12 my task --env prod", Command("load", environment="prod", run_id=12, task_name="my task")),
    ("load", Command("open", workflow="load")),
    ("load everything", Command("open", workflow="load everything")),
    ("-h", Command("help")),
])
def test_parse_line(line, expected):
    assert parse_line(line) == expected


@pytest.mark.parametrize(("line", "message"), [
    ("--env", f"--env needs a value: dev, pre or prod. Usage: {USAGE}"),
    ("--env staging",
     "Unknown environment 'staging': use one of 'dev', 'pre', 'prod' (or Environment.DEV/PRE/PROD)."),
    ("wf --verbose", f"Unknown option '--verbose'. Usage: {USAGE}"),
    ("load 12", f"Which task of run 12? Usage: {USAGE}"),
])
def test_bad_lines_say_what_is_wrong_in_one_line(line, message):
    with pytest.raises(MagicUsageError) as info:
        parse_line(line)
    assert str(info.value) == message
    assert "\n" not in str(info.value)
