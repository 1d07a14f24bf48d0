"""A ``dt`` command loads only its own command group: checked in a fresh interpreter through
``sys.modules``, and every group is still reachable by name and listed in ``dt --help``."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from datatailr.cli import main
from datatailr.cli._app import LAZY_COMMANDS

PROBE = """
import json, sys
from datatailr.cli import main
try:
    main({argv!r}, standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("datatailr.cli."))))
"""


def cli_modules_after(argv: list[str], home) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True,
                         text=True, check=True, env={**__import__("os").environ,
                                                     "DATATAILR_HOME": str(home)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_group_loads_only_its_module(tmp_path):
    assert cli_modules_after(["job", "--help"], tmp_path) == [
        "datatailr.cli._api", "datatailr.cli._app", "datatailr.cli._options",
        "datatailr.cli._render", "datatailr.cli.job"]
    assert cli_modules_after(["log", "--help"], tmp_path) == [
        "datatailr.cli._api", "datatailr.cli._app", "datatailr.cli._options",
        "datatailr.cli._render", "datatailr.cli.log"]


def test_every_group_is_listed_and_reachable():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()]
    assert listed == sorted(LAZY_COMMANDS) == ["agent", "blob", "job", "kv", "log", "result",
                                               "secret", "ui"]
    for name in LAZY_COMMANDS:
        sub = CliRunner().invoke(main, [name, "--help"])
        assert sub.exit_code == 0, (name, sub.output)
        assert sub.output.startswith(f"Usage: main {name} ") or f" {name} " in sub.output


def test_an_unknown_group_is_clicks_usage_error():
    result = CliRunner().invoke(main, ["jobs"])
    assert result.exit_code == 2
    assert "No such command 'jobs'" in result.output
