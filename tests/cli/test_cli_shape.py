"""The command tree, help texts, usage errors and the rendering helpers: no store needed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import click
import pytest
from click.testing import CliRunner

from datatailr.cli import main
from datatailr.cli._options import TimeBound, VersionType
from datatailr.cli._render import Printer, history_strip, jsonable

EXPECTED_TREE = {
    "agent": {"ls", "start", "status", "stop"},
    "blob": {"cp", "exists", "get", "ls", "put", "rm"},
    "job": {"diff", "get", "ls", "promote", "rerun", "restart", "restore", "rm", "run", "runs",
            "start", "stop", "versions"},
    "kv": {"get", "ls", "put", "rm"},
    "log": {"read"},
    "result": {"get"},
    "secret": {"ls", "rm", "set"},
}


def _leaves() -> list[tuple[str, ...]]:
    return [(group, name) for group, names in EXPECTED_TREE.items() for name in sorted(names)]


def test_command_tree_is_the_documented_one():
    tree = {name: set(group.commands) for name, group in main.commands.items()
            if hasattr(group, "commands")}
    assert (tree, sorted(n for n, c in main.commands.items() if not hasattr(c, "commands"))) \
        == (EXPECTED_TREE, ["ui"])


@pytest.mark.parametrize(
    "path", [(), *[(g,) for g in EXPECTED_TREE], *_leaves()], ids=lambda p: " ".join(p) or "dt"
)
def test_help_on_every_level_has_an_example(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: dt {' '.join(path)}".rstrip())
    assert "Examples:" in result.output
    example = result.output.split("Examples:", 1)[1]
    assert f"dt {' '.join(path)}".rstrip() in example
    # -h is --help too
    assert CliRunner().invoke(main, [*path, "-h"]).output == result.output


@pytest.mark.parametrize("path", _leaves(), ids=" ".join)
def test_every_command_takes_env_and_json(path):
    command = main.commands[path[0]].commands[path[1]]  # type: ignore[attr-defined]
    options = {opt for p in command.params for opt in getattr(p, "opts", [])}
    assert {"--env", "-e", "--json"} <= options


def test_bad_env_is_a_usage_error_naming_the_choices():
    result = CliRunner().invoke(main, ["job", "ls", "-e", "staging"])
    assert result.exit_code == 2
    assert "'staging' is not one of 'dev', 'pre', 'prod'" in result.stderr
    assert result.stdout == ""


def test_bad_env_variable_is_a_usage_error_too():
    result = CliRunner().invoke(main, ["job", "ls"], env={"DATATAILR_JOB_ENVIRONMENT": "qa"})
    assert result.exit_code == 2
    assert "DATATAILR_JOB_ENVIRONMENT" not in result.stdout
    assert "'qa' is not one of" in result.stderr


def test_unknown_command_and_missing_argument_exit_2():
    assert CliRunner().invoke(main, ["job", "lss"]).exit_code == 2
    result = CliRunner().invoke(main, ["job", "get"])
    assert result.exit_code == 2
    assert "Missing argument 'NAME'" in result.stderr


def test_task_and_child_num_exclude_each_other():
    result = CliRunner().invoke(main, ["log", "read", "wf", "--task", "a", "-c", "1"])
    assert result.exit_code == 2
    assert "--task and --child-num each pick a task: give one of them." in result.stderr


def test_result_get_needs_a_task():
    result = CliRunner().invoke(main, ["result", "get", "wf", "-i", "3"])
    assert result.exit_code == 2
    assert "Name the task with --task NAME or --child-num ID." in result.stderr


def test_bad_time_is_a_usage_error():
    result = CliRunner().invoke(main, ["job", "runs", "wf", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "'last tuesday' is not a time" in result.stderr


def test_version_option():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("dt ")


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "datatailr.cli", "job", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: dt job [OPTIONS] COMMAND [ARGS]...")


# ---------------------------------------------------------------- parameter types


def _convert(param_type: click.ParamType, value: str):
    return param_type.convert(value, None, None)


def test_time_bound_forms():
    utc = timezone.utc
    assert _convert(TimeBound(), "2026-04-09T06:00:00+00:00") == datetime(2026, 4, 9, 6, tzinfo=utc)
    assert _convert(TimeBound(), "2026-04-09T06:00Z") == datetime(2026, 4, 9, 6, tzinfo=utc)
    naive = _convert(TimeBound(), "2026-04-09")
    assert naive == datetime(2026, 4, 9).astimezone().astimezone(utc)  # local midnight
    assert naive.tzinfo == utc
    before = datetime.now(utc)
    two_days = _convert(TimeBound(), "2d")
    assert (
        before - timedelta(days=2, seconds=5)
        < two_days
        <= before - timedelta(days=2) + timedelta(seconds=5)
    )
    assert (
        _convert(TimeBound(), "yesterday")
        < _convert(TimeBound(), "today")
        <= _convert(TimeBound(), "now")
    )
    with pytest.raises(click.BadParameter):
        _convert(TimeBound(), "soon")


def test_version_type():
    assert _convert(VersionType(), "3") == 3
    assert _convert(VersionType(), "v2") == 2
    assert _convert(VersionType(), "Latest") == "latest"
    for bad in ("0", "-1", "two"):
        with pytest.raises(click.BadParameter):
            _convert(VersionType(), bad)


# ---------------------------------------------------------------- rendering


def test_jsonable_turns_api_values_into_plain_json():
    when = datetime(2026, 4, 9, 6, 0, 1, tzinfo=timezone.utc)

    class WithToDict:
        def to_dict(self):
            return {"memory": "128m", "cpu": 0.25}

    value = {
        "start_time": when,
        "ids": (1, 2),
        "tags": {"b", "a"},
        "resources": WithToDict(),
        3: None,
    }
    assert json.loads(json.dumps(jsonable(value))) == {
        "start_time": "2026-04-09T06:00:01+00:00",
        "ids": [1, 2],
        "tags": ["a", "b"],
        "resources": {"memory": "128m", "cpu": 0.25},
        "3": None,
    }


def test_history_strip_is_oldest_first():
    newest_first = [{"state": "running"}, {"state": "failed"}, {"state": "completed"}]
    assert history_strip(newest_first).text == "CFR"
    assert history_strip([]).text == "-"


def test_plain_table_is_aligned_text(capsys):
    Printer(rich=False).table(["run_id", "state"], [[7, "completed"], [12, "failed"]], title="Runs")
    assert capsys.readouterr().out == ("Runs\nRUN_ID  STATE\n7       completed\n12      failed\n")


def test_rich_table_draws_when_forced():
    result = CliRunner().invoke(_table_command, [], env={"FORCE_COLOR": "1"}, color=True)
    assert result.exit_code == 0, result.output
    assert "\x1b[" in result.output  # coloured
    assert "\x1b[32mcompleted" in result.output
    assert result.output.startswith("\x1b[1m \x1b[0m\x1b[1mRUN_ID")  # bold headers, no box edge


@click.command()
def _table_command() -> None:
    from datatailr.cli._render import state_cell

    Printer().table(["run_id", "state"], [[7, state_cell("completed")]])


# ---------------------------------------------------------------- layering and start-up


def test_cli_imports_only_the_public_api():
    import ast
    from pathlib import Path

    import datatailr.cli

    allowed = (
        "datatailr.cli",
        "datatailr.errors",
        "datatailr.scheduler.batch",
        "datatailr.scheduler.agent",
        "datatailr.scheduler.job",
        "datatailr.scheduler.platform",  # read_only(): the fast path of the commands that look
        "datatailr.blob",
        "datatailr.kv",
        "datatailr.secrets",
        "datatailr.core.query",  # the hosted filter language: pure functions over dicts
        "datatailr.jupyter_ext",  # dt ui serves the explorer's own state model
    )
    for path in Path(datatailr.cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("datatailr") and name != "datatailr":  # the public names
                    assert name.startswith(allowed), f"{path.name} imports {name}"


def test_help_loads_neither_the_store_nor_rich():
    code = (
        "import sys\n"
        "from datatailr.cli import main\n"
        "try:\n"
        "    main(['job', 'ls', '--help'], prog_name='dt')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('rich', 'sqlalchemy', 'datatailr.store', 'datatailr.engine')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "HEAVY []"
