"""Run listeners that show a run to a person: progress lines or a bar, and live task logs.

One progress model (the run events), two views: a rich progress bar on a terminal, plain
lines elsewhere (pipes, CI logs, notebooks). The live log echo tails the running tasks' log
files and prints their new lines with the task name as prefix; the stored logs stay exactly
what the task wrote.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, TextIO

from datatailr.core.dag import Dag
from datatailr.core.events import (
    RunEvent,
    RunFinished,
    RunStarted,
    TaskFinished,
    TaskRetrying,
    TaskStarted,
)

_MARK = {"completed": "✓", "failed": "✗", "did_not_run": "-", "stopped": "■"}


class PlainProgress:
    """A line per task start and end, and one for the run."""

    def __init__(self, dag: Dag, title: str, stream: TextIO | None = None,
                 echo: LiveLogEcho | None = None) -> None:
        self.dag = dag
        self.title = title
        self.stream = stream or sys.stdout
        self.start: float | None = None
        #: the live log echo, driven per event so a task's lines print between its
        #: "started" and "completed" lines
        self.echo = echo
        if echo is not None:
            echo.printer = self._print

    def _print(self, text: str) -> None:
        with contextlib.suppress(Exception):
            print(text, file=self.stream, flush=True)

    def handle(self, events: list[RunEvent]) -> None:
        for e in events:
            if self.echo is not None and isinstance(e, TaskFinished):
                self.echo.handle([e])  # its last lines first
            if isinstance(e, RunStarted):
                self.start = e.time
                n = len(self.dag.nodes)
                self._print(f"▶ run {e.run_id} of {self.title}: {n} task{'s' if n != 1 else ''}")
            elif isinstance(e, TaskStarted):
                self._print(f"  ▶ {self.dag.nodes[e.task_id].name} started")
                if self.echo is not None:
                    self.echo.handle([e])
            elif isinstance(e, TaskRetrying):
                self._print(f"  ↻ {self.dag.nodes[e.task_id].name} failed ({e.error}); "
                            f"attempt {e.attempt}")
            elif isinstance(e, TaskFinished):
                name = self.dag.nodes[e.task_id].name
                mark = _MARK.get(e.state, "?")
                if e.reused_from is not None:
                    self._print(f"  {mark} {name} reused from run {e.reused_from[0]}")
                elif e.state == "completed" and e.start_time is not None:
                    self._print(f"  {mark} {name} completed in {e.time - e.start_time:.2f} s")
                elif e.state == "did_not_run":
                    self._print(f"  {mark} {name} did not run (an upstream task did not complete)")
                else:
                    self._print(f"  {mark} {name} {e.state}: {e.error}")
            elif isinstance(e, RunFinished):
                took = f" in {e.time - self.start:.2f} s" if self.start else ""
                self._print(f"■ run {e.run_id} {e.state}{took}" + (
                    f" - {e.error}" if e.error and e.state != "completed" else ""))

    def tick(self) -> None:
        if self.echo is not None:
            self.echo.tick()

    def close(self) -> None:
        if self.echo is not None:
            self.echo.close()


class RichProgress(PlainProgress):
    """A progress bar on a terminal, with the task lines printed above it."""

    def __init__(self, dag: Dag, title: str, stream: TextIO | None = None,
                 echo: LiveLogEcho | None = None) -> None:
        super().__init__(dag, title, stream, echo)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(file=self.stream)
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[running]}"),
                                 console=self.console, transient=True, auto_refresh=False)
        self.bar = self.progress.add_task(title, total=len(dag.nodes), running="")
        self.running: set[int] = set()
        self.progress.start()

    def _print(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def handle(self, events: list[RunEvent]) -> None:
        super().handle(events)
        for e in events:
            if isinstance(e, TaskStarted):
                self.running.add(e.task_id)
            elif isinstance(e, TaskFinished):
                self.running.discard(e.task_id)
                self.progress.advance(self.bar)
        names = [self.dag.nodes[t].name for t in sorted(self.running)[:3]]
        more = len(self.running) - len(names)
        self.progress.update(self.bar, running=", ".join(names) + (f" +{more}" if more > 0 else ""))
        self.progress.refresh()

    def tick(self) -> None:
        super().tick()
        self.progress.refresh()

    def close(self) -> None:
        super().close()
        self.progress.stop()


class LiveLogEcho:
    """Prints new lines of running tasks' logs, prefixed with the task name."""

    def __init__(self, dag: Dag, run_id: int, log_path, stream: TextIO | None = None,
                 printer=None, redact: Any = ()) -> None:
        self.dag = dag
        #: secret values never echoed: a task that prints one shows *** on the console
        self.redact = sorted((v for v in redact if isinstance(v, str) and len(v) >= 4),
                             key=len, reverse=True)
        self.run_id = run_id
        self.log_path = log_path  # (run_id, task_id, stream) -> local path or None
        self.stream = stream or sys.stdout
        self.printer = printer
        self.offsets: dict[tuple[int, str], int] = {}
        self.partial: dict[tuple[int, str], bytes] = {}
        self.active: set[int] = set()

    def handle(self, events: list[RunEvent]) -> None:
        for e in events:
            if isinstance(e, TaskStarted):
                self.active.add(e.task_id)
            elif isinstance(e, TaskFinished) and e.task_id in self.active:
                self._read(e.task_id, final=True)
                self.active.discard(e.task_id)

    def tick(self) -> None:
        for task_id in list(self.active):
            self._read(task_id, final=False)

    def close(self) -> None:
        for task_id in list(self.active):
            self._read(task_id, final=True)

    def _read(self, task_id: int, final: bool) -> None:
        for stream in ("stdout", "stderr"):
            path = self.log_path(self.run_id, task_id, stream)
            if path is None:
                continue
            key = (task_id, stream)
            try:
                with open(path, "rb") as f:
                    f.seek(self.offsets.get(key, 0))
                    data = f.read()
            except FileNotFoundError:
                continue
            if not data and not (final and self.partial.get(key)):
                continue
            self.offsets[key] = self.offsets.get(key, 0) + len(data)
            data = self.partial.pop(key, b"") + data
            lines = data.split(b"\n")
            rest = lines.pop()
            if rest:
                if final:
                    lines.append(rest)
                else:
                    self.partial[key] = rest
            name = self.dag.nodes[task_id].name
            for line in lines:
                shown = line.decode('utf-8', errors='replace')
                for secret in self.redact:
                    shown = shown.replace(secret, "***")
                text = f"[{name}] {shown}"
                if self.printer is not None:
                    self.printer(text)
                else:
                    with contextlib.suppress(Exception):
                        print(text, file=self.stream, flush=True)


def make_progress(dag: Dag, title: str, stream: TextIO | None = None,
                  echo: LiveLogEcho | None = None) -> PlainProgress:
    """A bar on a terminal, plain lines elsewhere (pipes, CI logs, notebooks)."""
    stream = stream or sys.stdout
    is_tty = hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"
    if is_tty and "ipykernel" not in sys.modules:
        return RichProgress(dag, title, stream, echo)
    return PlainProgress(dag, title, stream, echo)
