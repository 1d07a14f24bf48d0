"""The controller: drives one run to its end with an executor, emitting run events.

It owns timing decisions (retries, task timeouts, ``fail_after``, stop requests) and nothing
else: which task may start comes from ``RunGraph``, where code runs from the executor, and
every row, bar or log line from the listeners. The controller is the only source of a run's
state changes, so there is one writer per run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from datatailr.core.dag import Dag
from datatailr.core.events import (
    RunEvent,
    RunFinished,
    RunListener,
    RunStarted,
    TaskFinished,
    TaskRetrying,
    TaskStarted,
)
from datatailr.engine.scheduling import RunGraph
from datatailr.engine.worker import TaskCall, TaskOutcome

STOP_POLL_SECONDS = 0.5
TICK_SECONDS = 0.2
#: Events reach listeners in batches at most this often (one transaction per batch).
FLUSH_SECONDS = 0.05


class Executor(Protocol):
    def submit(self, call: TaskCall) -> None: ...

    def wait(self, timeout: float | None) -> list[tuple]: ...

    def cancel(self, task_id: int) -> tuple[int | None, float | None] | None: ...

    def shutdown(self) -> None: ...


@dataclasses.dataclass
class RunPlan:
    """Everything the controller needs to know about one run besides the DAG."""

    run_id: int
    system: dict[str, Any]
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    #: task id -> (run id, task id) of its stored result, for tasks a partial rerun does not redo
    reuse: dict[int, tuple[int, int]] = dataclasses.field(default_factory=dict)
    fail_after: float | None = None
    should_stop: Callable[[], bool] | None = None
    #: bytes: the workflow's ``memory=`` when given explicitly, the limit of every task
    #: without an explicit one of its own
    memory_limit: int | None = None
    #: task id -> the pickle of a reused result kept inline in the metadata store
    reused_inline: dict[int, bytes] = dataclasses.field(default_factory=dict)
    #: a result pickled to at most this many bytes is kept inline, with its task's row,
    #: instead of in storage (0: every result goes to storage)
    inline_max: int = 0


class _Emitter:
    def __init__(self, listeners: Sequence[RunListener]) -> None:
        self.listeners = list(listeners)
        self.pending: list[RunEvent] = []
        self.last_tick = 0.0
        self.last_flush = 0.0

    def emit(self, event: RunEvent) -> None:
        self.pending.append(event)

    def flush(self, force: bool = True) -> None:
        if not self.pending:
            return
        now = time.monotonic()
        if not force and now - self.last_flush < FLUSH_SECONDS:
            return
        self.last_flush = now
        batch, self.pending = self.pending, []
        for listener in self.listeners:
            listener.handle(batch)

    def tick(self, now: float) -> None:
        if now - self.last_tick >= TICK_SECONDS:
            self.last_tick = now
            for listener in self.listeners:
                listener.tick()

    def close(self) -> None:
        self.flush()
        for listener in self.listeners:
            with contextlib.suppress(Exception):
                listener.close()


def execute_run(dag: Dag, plan: RunPlan, executor: Executor,
                listeners: Sequence[RunListener] = ()) -> str:
    """Run every task of ``dag`` that ``plan`` does not reuse; returns the run's final state."""
    out = _Emitter(listeners)
    run_id = plan.run_id
    graph = RunGraph({n.id: n.dependencies for n in dag.nodes}, reused=plan.reuse)
    attempts: dict[int, int] = {}
    #: task id -> its small result's pickle, for the tasks that consume it
    inline: dict[int, bytes] = dict(plan.reused_inline)
    consumed = {dep for n in dag.nodes for dep in n.data_dependencies}
    started: dict[int, float] = {}  # task id -> when its running attempt's code began
    code_start: dict[int, float] = {}  # task id -> when its code began executing
    run_start = time.time()
    out.emit(RunStarted(run_id, run_start, os.getpid()))
    for task_id, where in sorted(plan.reuse.items()):
        out.emit(TaskFinished(run_id, task_id, "completed", run_start, 0, None, None, where))
    out.flush()  # the run's pid is stored at once: if this process dies, the run reads unknown
    retry_at: dict[int, float] = {}
    last_stop_poll = 0.0
    final_state: str | None = None
    error: str | None = None

    def submit(task_id: int) -> None:
        node = dag.nodes[task_id]
        attempts[task_id] = attempts.get(task_id, 0) + 1
        inputs = {}
        for dep in node.data_dependencies:
            inputs[dep] = plan.reuse.get(dep, (run_id, dep))
        small = {dep: inline[dep] for dep in node.data_dependencies if dep in inline}
        env = {**plan.env, **node.env_vars}
        limit = node.memory_limit if node.memory_limit is not None else plan.memory_limit
        executor.submit(TaskCall(run_id, task_id, attempts[task_id], inputs, plan.system, env,
                                 limit, small or None, plan.inline_max))

    def used(usage: Any) -> dict[str, Any]:
        """TaskFinished's peak_rss/cpu_seconds from an executor's (peak, cpu) pair, if any."""
        if isinstance(usage, tuple) and len(usage) == 2:
            return {"peak_rss": usage[0], "cpu_seconds": usage[1]}
        return {}

    def finish_failed(task_id: int, state: str, why: str, start: float | None,
                      usage: Any = None) -> None:
        node = dag.nodes[task_id]
        start = start if start is not None else code_start.get(task_id)
        if state == "failed" and attempts.get(task_id, 1) <= node.retries:
            delay = node.retry_delay
            retry_at[task_id] = time.time() + delay
            out.emit(TaskRetrying(run_id, task_id, time.time(), attempts[task_id] + 1, why))
            return
        out.emit(TaskFinished(run_id, task_id, state, time.time(), attempts.get(task_id, 1),
                              why, start, **used(usage)))
        for skipped in graph.fail(task_id, state):
            out.emit(TaskFinished(run_id, skipped, "did_not_run", time.time(), 0))

    def stop_everything(state: str, why: str) -> None:
        running, pending = graph.stop_all()
        now = time.time()
        for task_id in running:
            usage = executor.cancel(task_id)
            out.emit(TaskFinished(run_id, task_id, "stopped", now, attempts.get(task_id, 1),
                                  why, code_start.get(task_id), **used(usage)))
        for task_id in pending:
            out.emit(TaskFinished(run_id, task_id, "did_not_run", now, 0))

    try:
        while not graph.finished:
            now = time.time()
            for task_id in [t for t, at in retry_at.items() if at <= now]:
                del retry_at[task_id]
                graph.requeue(task_id)
            for task_id in graph.take_ready():
                submit(task_id)
            out.flush(force=False)
            # How long may we sleep? Until the next retry, task timeout or stop poll.
            deadlines = [now + STOP_POLL_SECONDS]
            if out.pending:
                deadlines.append(now + FLUSH_SECONDS)
            deadlines += retry_at.values()
            for task_id, t0 in started.items():
                limit = dag.nodes[task_id].timeout
                if limit is not None and graph.state[task_id] == "running":
                    deadlines.append(t0 + limit)
            if plan.fail_after is not None:
                deadlines.append(run_start + plan.fail_after)
            timeout = max(0.0, min(deadlines) - time.time())
            for msg in executor.wait(timeout):
                kind = msg[0]
                if kind == "started":
                    task_id, t, pid = msg[1:4]
                    code_start[task_id] = started[task_id] = t
                    out.emit(TaskStarted(run_id, task_id, t, attempts.get(task_id, 1), pid,
                                         host=msg[4] if len(msg) > 4 else None,
                                         worker=msg[5] if len(msg) > 5 else None))
                elif kind == "done":
                    outcome: TaskOutcome = msg[1]
                    task_id = outcome.task_id
                    if graph.state.get(task_id) != "running":
                        continue  # already stopped or timed out
                    started.pop(task_id, None)
                    if outcome.ok:
                        if outcome.result is not None and task_id in consumed:
                            inline[task_id] = outcome.result
                        graph.complete(task_id)
                        # the row says completed in the same write that stores a small result
                        out.emit(TaskFinished(run_id, task_id, "completed", outcome.end_time,
                                              attempts[task_id], None, outcome.start_time,
                                              peak_rss=outcome.peak_rss,
                                              cpu_seconds=outcome.cpu_seconds,
                                              result=outcome.result))
                    else:
                        finish_failed(task_id, "failed", outcome.error or "failed",
                                      outcome.start_time,
                                      (outcome.peak_rss, outcome.cpu_seconds))
                elif kind == "died":
                    task_id, why = msg[1:3]
                    if task_id is not None and graph.state.get(task_id) == "running":
                        started.pop(task_id, None)
                        finish_failed(task_id, "failed", f"Task crashed: {why}", None,
                                      tuple(msg[3:5]) if len(msg) >= 5 else None)
            now = time.time()
            for task_id, t0 in list(started.items()):
                limit = dag.nodes[task_id].timeout
                if limit is not None and graph.state.get(task_id) == "running" \
                        and now - t0 >= limit:
                    usage = executor.cancel(task_id)
                    started.pop(task_id)
                    finish_failed(task_id, "failed",
                                  f"TimeoutError: task exceeded its timeout of {limit:g} s and "
                                  f"was killed", None, usage)
            if plan.fail_after is not None and now - run_start >= plan.fail_after:
                final_state = "failed_after"
                error = f"The run exceeded fail_after={plan.fail_after:g} s and was stopped."
                stop_everything("failed_after", error)
                break
            if plan.should_stop is not None and now - last_stop_poll >= STOP_POLL_SECONDS:
                last_stop_poll = now
                if plan.should_stop():
                    final_state = "stopped"
                    error = "Stopped on request."
                    stop_everything("stopped", error)
                    break
            out.flush(force=False)
            out.tick(now)
    except BaseException:
        # KeyboardInterrupt in a notebook or terminal: stop the run cleanly, then re-raise.
        stop_everything("stopped", "Interrupted.")
        out.emit(RunFinished(run_id, "stopped", time.time(), "Interrupted."))
        out.close()
        executor.shutdown()
        raise
    executor.shutdown()
    state = final_state or graph.outcome()
    if state == "failed" and error is None:
        failed = [dag.nodes[t].name for t, s in sorted(graph.state.items()) if s == "failed"]
        error = f"Failed task{'s' if len(failed) > 1 else ''}: {', '.join(failed)}"
    out.emit(RunFinished(run_id, state, time.time(), error))
    out.close()
    return state

