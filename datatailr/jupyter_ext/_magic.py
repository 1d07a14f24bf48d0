"""``%dt_runs``: open the explorer, or load one task's result by its run id.

    %dt_runs                          the overview of the default environment
    %dt_runs Daily Sales Report       a workflow (display name or slug; no quotes needed)
    %dt_runs my-workflow --env prod   ... in an environment (-e, --env=prod)
    %dt_runs --env pre                the overview of pre
    %dt_runs load 12 fetch_data       task fetch_data's result of run 12 into a variable, and
                                      a new cell below with the line that loads it

The line is parsed by a pure function (``parse_line``); IPython is touched only inside the
magic itself, which turns bad input into IPython's one-line UsageError.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

USAGE = ("%dt_runs [WORKFLOW NAME] [--env dev|pre|prod]  |  "
         "%dt_runs load RUN_ID TASK_NAME [--env dev|pre|prod]")


class MagicUsageError(ValueError):
    """The %dt_runs line cannot be understood; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Command:
    action: str  # "open" | "load" | "help"
    workflow: str | None = None
    environment: str | None = None
    run_id: int | None = None
    task_name: str | None = None


def parse_line(line: str) -> Command:
    """Parse the text after ``%dt_runs``. Words that are not options form the name."""
    try:
        words = shlex.split(line, posix=True)
    except ValueError:  # an unbalanced quote: read the words as typed
        words = line.split()
    env: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-h", "--help"):
            return Command("help")
        if word in ("-e", "--env", "--environment"):
            if i + 1 >= len(words):
                raise MagicUsageError(f"{word} needs a value: dev, pre or prod. Usage: {USAGE}")
            env, i = words[i + 1], i + 2
            continue
        if word.startswith(("--env=", "--environment=")):
            env = word.split("=", 1)[1]
        elif word.startswith("-e") and len(word) > 2 and word[2:3] != "-":
            env = word[2:].lstrip("=")
        elif word.startswith("-") and not word.lstrip("-").isdigit() and len(word) > 1:
            raise MagicUsageError(f"Unknown option {word!r}. Usage: {USAGE}")
        else:
            rest.append(word)
        i += 1
    if env is not None:
        from datatailr import Environment

        try:
            env = Environment.parse(env).value
        except ValueError as exc:
            raise MagicUsageError(str(exc)) from None
    if len(rest) >= 2 and rest[0] == "load" and not rest[1].isdigit() and len(rest) == 3:
        # "load abc fetch_data": a load with a run id that is not one, not a workflow's name
        raise MagicUsageError(f"load takes a run id (a whole number), not {rest[1]!r}. "
                              f"Usage: {USAGE}")
    if len(rest) >= 2 and rest[0] == "load" and rest[1].isdigit():
        if len(rest) < 3:
            raise MagicUsageError(f"Which task of run {rest[1]}? Usage: {USAGE}")
        return Command("load", environment=env, run_id=int(rest[1]), task_name=" ".join(rest[2:]))
    return Command("open", workflow=" ".join(rest) or None, environment=env)


def load_by_run_id(shell: Any, run_id: int, task_name: str, environment: str | None) -> tuple[str, str, Any]:
    """The text form of "Load into a cell": (variable, code, value)."""
    from datatailr.jupyter_ext import _payload
    from datatailr.scheduler.batch import Workflow

    wf = Workflow.for_run(run_id, environment=environment)
    value = wf.result(run_id, task_name=task_name)
    variable = _payload.variable_name(task_name, run_id, taken=set(shell.user_ns))
    shell.user_ns[variable] = value
    code = _payload.load_code(wf.name, wf.environment.value, run_id, task_name, variable)
    return variable, code, value


def make_magic(shell: Any):
    """The ``%dt_runs`` line magic bound to ``shell``."""

    def dt_runs(line: str = "") -> Any:
        from IPython.core.error import UsageError
        from IPython.display import display

        try:
            command = parse_line(line)
        except MagicUsageError as exc:
            raise UsageError(str(exc)) from None
        if command.action == "help":
            print(__doc__)
            return None
        if command.action == "load":
            assert command.run_id is not None and command.task_name is not None
            try:
                variable, code, value = load_by_run_id(shell, command.run_id, command.task_name,
                                                       command.environment)
            except ValueError as exc:  # not found, bad name: one clear line
                raise UsageError(str(exc)) from None
            shell.set_next_input(code, replace=False)
            print(f"Loaded {command.task_name} of run {command.run_id} into {variable}.")
            return value

        from datatailr.jupyter_ext._widget import ExplorerWidget

        widget = ExplorerWidget(workflow=command.workflow, environment=command.environment,
                                shell=shell)
        display(widget)
        # Returned so that `w = %dt_runs` works; shown once only (see _ipython_display_).
        widget._skip_display = True

        def _reset(*_args: Any) -> None:
            widget._skip_display = False
            shell.events.unregister("post_run_cell", _reset)

        shell.events.register("post_run_cell", _reset)
        return widget

    dt_runs.__doc__ = __doc__
    return dt_runs
