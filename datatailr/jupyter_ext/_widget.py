"""The results explorer widget: state in synced traits, actions as custom messages.

The kernel owns the state; the front end (js/, built into static/explorer.js) renders it and
turns clicks into messages. Every message is ``{"type": ..., "req": n, ...}`` and is answered
with ``{"type": "ack", "req": n, "ok": bool, "error"?: str, ...}`` once the traits are updated.

    front end -> kernel                          kernel -> front end
    hello / bye            a view attached/left   ack            every request
    set_environment        {environment}          insert_cell    {code, variable}
    select_workflow        {workflow, run_id?}
    set_range              {start_time, end_time} (ISO UTC or null)
    set_page               {page}
    select_run             {run_id}
    select_task            {run_id, task_id, result?}  result: also preview its value
    select_attempt         {attempt}              the selected task's logs of attempt N only,
                           "latest" (the default, follows a retry) or "all" (oldest first)
    task_result            preview of the selected task's return value
    rerun                  {run_id, version, full} -> ack carries the new run_id
                           (no version: the workflow's latest)
    stop                   {run_id}               Workflow.stop
    set_filter             {states?, triggers?, versions?}  runs in these states, started by
                           these triggers, of these versions only ([] = all; a key left
                           out keeps that filter)
    set_view               {view}                 graph | timeline | grid | definition
    definition             {version}              that version's definition (and diff)
    log_search             {stream, query}        -> ack carries {matches, total}
    log_download           {stream}               -> ack carries the whole log's text
                           (both of the attempt the task panel shows)
    load_result            {run_id, task_id} -> a kernel variable, then insert_cell
    inserted               {variable, where, ok}  what the front end did with insert_cell
    refresh / dismiss_error

Reads go through the public API only (``datatailr.scheduler.batch``: ``list_workflows`` and
``Workflow``; ``datatailr.scheduler.job.list_jobs`` for the services, apps and Excel add-ins
of the overview); never the store or the engine. The state holds the workflow list and the first
page of runs from the start, so the widget paints at once, also before any front end exists.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import anywidget
import traitlets

from datatailr.jupyter_ext import _payload, _text
from datatailr.jupyter_ext._live import Poller

ENVIRONMENTS = ["dev", "pre", "prod"]
ACTIVE_STATES = frozenset({"pending", "scheduled", "running"})
ENV_VARIABLE = "DATATAILR_JOB_ENVIRONMENT"
VIEWS = ("graph", "timeline", "grid", "definition")
#: The synced traits that make up the explorer's state (what `dt ui` mirrors to its page).
STATE_TRAITS = (
    "environments", "environment", "workflows", "jobs", "workflow", "start_time", "end_time", "page",
    "page_size", "run_count", "runs", "run_id", "run", "task_id", "task", "versions", "status",
    "error", "live", "loaded", "state_filter", "trigger_filter", "version_filter", "view",
    "grid", "definition",
)
#: Whole logs sent to the front end for "Download" (larger ones: read them in the kernel).
MAX_DOWNLOAD_CHARS = 50_000_000
#: What can start a workflow's run, in the order the run list offers them as filters.
TRIGGERS = ("local", "deploy", "manual", "schedule", "rerun")


def _public_api() -> ModuleType:
    import datatailr.scheduler.batch as batch

    return batch


def _list_jobs(environment: str) -> list[dict]:
    """The services, apps and Excel add-ins of an environment (the public ``list_jobs``)."""
    from datatailr.scheduler.job import list_jobs

    return list_jobs(environment, health=False)


def default_environment() -> str:
    """$DATATAILR_JOB_ENVIRONMENT, else dev, validated by the public Environment."""
    from datatailr import Environment

    return Environment.parse(os.environ.get(ENV_VARIABLE) or "dev").value


def parse_environment(value: Any) -> str:
    from datatailr import Environment

    return Environment.parse(value).value


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"Not a date and time: {text!r} (use ISO 8601, e.g. 2026-11-27T13:00Z).") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _error_text(exc: BaseException) -> str:
    from datatailr.errors import DatatailrError

    if isinstance(exc, (DatatailrError, ValueError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _int_or_none(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what}={value!r}: give a whole number.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}={value!r}: give a whole number.") from None


class ExplorerWidget(anywidget.AnyWidget):
    """%dt_runs: workflows, runs, a run's DAG, a task's logs and result, rerun, load."""

    _esm = Path(__file__).parent / "static" / "explorer.js"

    environments = traitlets.List(traitlets.Unicode(), ENVIRONMENTS).tag(sync=True)
    environment = traitlets.Unicode("dev").tag(sync=True)
    workflows: traitlets.List[dict] = traitlets.List().tag(sync=True)
    jobs: traitlets.List[dict] = traitlets.List().tag(sync=True)  # services, apps, add-ins
    workflow = traitlets.Unicode("").tag(sync=True)  # slug; "" = the overview
    start_time = traitlets.Unicode("").tag(sync=True)  # ISO UTC or ""
    end_time = traitlets.Unicode("").tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(20).tag(sync=True)
    run_count = traitlets.Int(0).tag(sync=True)
    runs: traitlets.List[dict] = traitlets.List().tag(sync=True)
    run_id = traitlets.Int(None, allow_none=True).tag(sync=True)
    run = traitlets.Dict().tag(sync=True)  # run_details of run_id, {} when none
    task_id = traitlets.Int(None, allow_none=True).tag(sync=True)
    task = traitlets.Dict().tag(sync=True)  # the selected task: logs, result preview
    versions: traitlets.List[dict] = traitlets.List().tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    live = traitlets.Bool(False).tag(sync=True)
    loaded = traitlets.Dict().tag(sync=True)  # last "load into a cell": variable, code, ...
    state_filter = traitlets.List(traitlets.Unicode()).tag(sync=True)  # run states; [] = all
    trigger_filter = traitlets.List(traitlets.Unicode()).tag(sync=True)  # TRIGGERS; [] = all
    version_filter = traitlets.List(traitlets.Int()).tag(sync=True)  # job versions; [] = all
    view = traitlets.Unicode("graph").tag(sync=True)  # graph | timeline | grid | definition
    grid = traitlets.Dict().tag(sync=True)  # tasks x the page's runs: state, duration
    definition = traitlets.Dict().tag(sync=True)  # Workflow.definition() of one version

    def __init__(self, workflow: str | None = None, environment: Any = None, *,
                 page_size: int = 20, poll_interval: float | None = 1.0,
                 idle_interval: float = 5.0, shell: Any = None, api: Any = None) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._api = api if api is not None else _public_api()
        self._shell = shell
        self._handles: dict[tuple[str, str], Any] = {}
        self._views = 0
        self._had_views = False
        self._closed = False
        self._result_wanted = False
        # Which attempt's logs the task panel shows: "latest", "all" or a number.
        self._attempt_pick: int | str = "latest"
        self._last_value: tuple[tuple[int, int], Any] | None = None
        self._assigned: dict[str, tuple[int, int]] = {}
        self._snapshots: list[Any] = []
        self._snapshot_key: tuple = ()
        # The last messages the front end sent, for tests and debugging.
        self.messages: collections.deque[dict] = collections.deque(maxlen=500)
        self._handlers = {
            "hello": self._on_hello, "bye": self._on_bye,
            "set_environment": self._on_set_environment,
            "select_workflow": self._on_select_workflow, "set_range": self._on_set_range,
            "set_page": self._on_set_page, "select_run": self._on_select_run,
            "select_task": self._on_select_task, "task_result": self._on_task_result,
            "rerun": self._on_rerun, "load_result": self._on_load_result,
            "inserted": self._on_inserted, "refresh": self._on_refresh,
            "dismiss_error": self._on_dismiss_error, "stop": self._on_stop,
            "set_filter": self._on_set_filter, "set_view": self._on_set_view,
            "definition": self._on_definition, "log_search": self._on_log_search,
            "log_download": self._on_log_download, "select_attempt": self._on_select_attempt,
        }
        self.on_msg(self._on_custom_msg)
        with self.hold_sync():
            self.page_size = int(page_size)
            try:
                self.environment = (parse_environment(environment) if environment is not None
                                    else default_environment())
                self._load_workflows()
                if workflow:
                    self._select_workflow(self._resolve_slug(workflow))
                else:
                    self.status = self._overview_status()
            except Exception as exc:  # show it in the widget: the magic must not raise
                self.error = _error_text(exc)
        self._poller: Poller | None = None
        if poll_interval:
            self._poller = Poller(self, poll_interval, max(idle_interval, poll_interval))
            self._poller.start()

    # -- lifecycle --------------------------------------------------------------------------
    @traitlets.observe("comm")
    def _on_comm(self, change: dict) -> None:
        comm = change["new"]
        if comm is not None and hasattr(comm, "on_close"):
            comm.on_close(lambda _msg: self._stop_polling())

    def close(self) -> None:
        """Close the widget and stop refreshing it."""
        self._stop_polling()
        super().close()

    def _stop_polling(self) -> None:
        self._closed = True
        poller, self._poller = getattr(self, "_poller", None), None
        if poller is not None:
            poller.stop()

    @property
    def polling(self) -> bool:
        """True while the live-update thread is alive."""
        return self._poller is not None and self._poller.alive

    @property
    def polling_paused(self) -> bool:
        # A front end showed this widget and every view is gone (cell cleared): no one looks.
        return self._had_views and self._views <= 0

    def _ipython_display_(self) -> None:
        # The magic displays the widget and returns it; IPython would show the returned value
        # a second time. It sets this flag for the rest of its cell.
        if getattr(self, "_skip_display", False):
            self._skip_display = False
            return
        from IPython.display import display

        bundle = self._repr_mimebundle_() if callable(self._repr_mimebundle_) else None
        if bundle is None:
            display({"text/plain": self.text_view()}, raw=True)
            return
        data, metadata = bundle
        if self._in_kernel():
            # A saved notebook keeps this static copy beside the widget, whose model is gone
            # when the notebook is reopened; the live view hides it (js/src/app.js).
            handle = display(self._snapshot_bundle(), raw=True, display_id=True)
            self._snapshots.append(handle)
            self._snapshot_key = self._snapshot_state_key()
        display(data, metadata=metadata, raw=True)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:  # type: ignore[override]
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        # Where no widget front end exists (a terminal IPython), this text is what shows.
        return {**data, "text/plain": self.text_view()}, metadata

    def _in_kernel(self) -> bool:
        shell = self._shell
        if shell is None:
            ipython = sys.modules.get("IPython")
            get = getattr(ipython, "get_ipython", None)
            shell = get() if callable(get) else None
        return getattr(shell, "kernel", None) is not None

    def _state_dict(self) -> dict:
        return {"environment": self.environment, "workflows": self.workflows, "jobs": self.jobs,
                "workflow": self.workflow, "run_count": self.run_count, "runs": self.runs,
                "run": self.run, "error": self.error}

    def text_view(self) -> str:
        """What the explorer shows, as text (workflows, or a workflow's runs and its run)."""
        return _text.text_view(self._state_dict())

    def _snapshot_bundle(self) -> dict:
        return {"text/html": _text.snapshot_html(self._state_dict()),
                "text/plain": _text.HINT + "\n\n" + self.text_view()}

    def _snapshot_state_key(self) -> tuple:
        return (self.environment, self.workflow, self.run_id, self.run.get("state"),
                tuple((r["run_id"], r["state"]) for r in self.runs), len(self.workflows),
                tuple((j["slug"], j["state"], j["url"]) for j in self.jobs))

    @traitlets.observe("workflow", "run", "runs", "workflows", "jobs")
    def _update_snapshots(self, _change: dict) -> None:
        if not getattr(self, "_snapshots", None):
            return
        key = self._snapshot_state_key()
        if key == self._snapshot_key:
            return
        self._snapshot_key = key
        bundle = self._snapshot_bundle()
        for handle in self._snapshots:
            try:
                handle.update(bundle, raw=True)
            except Exception:  # noqa: BLE001 - a closed output must not break the explorer
                pass

    # -- messages ---------------------------------------------------------------------------
    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        req = content.get("req")
        self.messages.append(content)
        reply: dict[str, Any] = {"type": "ack", "req": req, "ok": True}
        try:
            handler = self._handlers.get(str(kind))
            if handler is None:
                raise ValueError(f"Unknown message type {kind!r}.")
            with self._lock:
                extra = handler(content)
                if kind not in ("hello", "bye", "inserted") and self.error:
                    self.error = ""
            reply.update(extra or {})
        except Exception as exc:
            text = _error_text(exc)
            with self._lock:
                self.error = text
            reply.update(ok=False, error=text)
        if kind != "bye" and not self._closed:
            self.send(reply)

    @classmethod
    def for_run(cls, workflow: str, environment: Any, run_id: int, **kwargs: Any) -> ExplorerWidget:
        """The explorer opened on one run of ``workflow`` (what an ``instant_run`` handle
        shows in a notebook): its graph, live while the run goes on."""
        widget = cls(workflow=workflow, environment=environment, **kwargs)
        widget._select_run(int(run_id))
        return widget

    def _on_hello(self, _msg: dict) -> None:
        self._views += 1
        self._had_views = True
        if self._poller is not None:
            self._poller.wake()

    def _on_bye(self, _msg: dict) -> None:
        self._views = max(0, self._views - 1)

    def _on_set_environment(self, msg: dict) -> None:
        env = parse_environment(msg.get("environment"))
        keep = self.workflow
        if env != self.environment:  # another environment's workflow has its own versions
            self.version_filter = []
        self.environment = env
        self._load_workflows()
        slugs = {w["slug"] for w in self.workflows}
        if keep and keep in slugs:
            self._select_workflow(keep)
        else:
            self._show_overview()
            if keep:
                self.status = f"{keep} does not exist in {env}: showing the overview."

    def _on_select_workflow(self, msg: dict) -> None:
        slug = str(msg.get("workflow") or "")
        if not slug:
            self._show_overview()
            return
        self._select_workflow(self._resolve_slug(slug), _int_or_none(msg.get("run_id"), "run_id"))

    def _on_set_range(self, msg: dict) -> None:
        start, end = _parse_time(msg.get("start_time")), _parse_time(msg.get("end_time"))
        if start and end and start > end:
            raise ValueError("The range starts after it ends: pick a start before the end.")
        self.start_time = _payload.iso(start) or ""
        self.end_time = _payload.iso(end) or ""
        self.page = 0
        if self.workflow:
            self._load_runs()
            self._keep_or_pick_run()

    def _on_set_page(self, msg: dict) -> None:
        page = _int_or_none(msg.get("page"), "page") or 0
        self.page = max(0, page)
        self._load_runs()

    def _on_select_run(self, msg: dict) -> None:
        run_id = _int_or_none(msg.get("run_id"), "run_id")
        self._select_run(run_id)

    def _on_select_task(self, msg: dict) -> None:
        run_id = _int_or_none(msg.get("run_id"), "run_id")
        if run_id is not None and run_id != self.run_id:
            self._select_run(run_id)
        task_id = _int_or_none(msg.get("task_id"), "task_id")
        self._result_wanted = bool(msg.get("result"))
        self._select_task(task_id)

    def _on_select_attempt(self, msg: dict) -> dict:
        if self.run_id is None or self.task_id is None:
            raise ValueError("Select a task first.")
        row = next((t for t in self.run.get("tasks", []) if t["id"] == self.task_id), None)
        if row is None:
            raise ValueError(f"Run {self.run_id} has no task id {self.task_id}.")
        made = int(self.task.get("log_attempts") or 0)
        value = msg.get("attempt")
        pick: int | str
        if value in ("all", "latest"):
            pick = str(value)
        else:
            n = _int_or_none(value, "attempt")
            if n is None or not 1 <= n <= max(made, 1):
                raise ValueError(
                    f"attempt={value!r}: task {row['name']!r} of run {self.run_id} made {made} "
                    f"attempt{'' if made == 1 else 's'}; pick 1 to {max(made, 1)}, "
                    "\"latest\" or \"all\".")
            pick = "latest" if n == made else n  # the latest follows a retry that begins
        self._attempt_pick = pick
        self.task = self._task_view(row, keep_result=True)
        return {"attempt": self.task["attempt"]}

    def _on_task_result(self, _msg: dict) -> None:
        self._result_wanted = True
        if self.task_id is not None and self.run_id is not None:
            self.task = {**self.task, "result": self._preview(self.run_id, self.task_id)}

    def _on_rerun(self, msg: dict) -> dict:
        run_id = _int_or_none(msg.get("run_id"), "run_id")
        if run_id is None:
            raise ValueError("Rerun which run? No run_id given.")
        version = _int_or_none(msg.get("version"), "version")
        if version is not None and version < 1:
            raise ValueError(f"version={version}: versions start at 1.")
        if version is None:  # the popup's empty field reads "latest"
            version = int(self._handle().job_version)
        new = self._handle().rerun(run_id, version=version, full=bool(msg.get("full")))
        new_id = int(new.run_id)
        self.page = 0
        self._load_runs()
        self._select_run(new_id)
        what = "full rerun" if msg.get("full") else "rerun"
        self.status = f"Started run #{new_id}, a {what} of #{run_id} with version {version}."
        if self._poller is not None:
            self._poller.wake()
        return {"run_id": new_id}

    def _on_load_result(self, msg: dict) -> dict:
        run_id = _int_or_none(msg.get("run_id"), "run_id")
        task_id = _int_or_none(msg.get("task_id"), "task_id")
        if run_id is None or task_id is None:
            raise ValueError("Load which result? Give run_id and task_id.")
        variable, code = self.load_result(run_id, task_id)
        self.send({"type": "insert_cell", "code": code, "variable": variable})
        return {"variable": variable}

    def _on_inserted(self, msg: dict) -> None:
        if self.loaded.get("variable") == msg.get("variable"):
            ok = bool(msg.get("ok"))
            self.loaded = {**self.loaded, "inserted": ok, "where": str(msg.get("where") or "")}
            below = "already below" if self.loaded["where"].startswith("exists@") else "below"
            self.status = (f"Loaded into {self.loaded['variable']}; the cell that loads it is {below}."
                           if ok else f"Loaded into {self.loaded['variable']}. Copy the line "
                           "below into a cell to load it again later.")

    def _on_stop(self, msg: dict) -> dict:
        run_id = _int_or_none(msg.get("run_id"), "run_id")
        if run_id is None:
            raise ValueError("Stop which run? No run_id given.")
        asked = bool(self._handle().stop(run_id))
        self.status = (f"Asked run #{run_id} to stop." if asked
                       else f"Run #{run_id} has already ended: nothing to stop.")
        self._load_runs()
        if self.run_id == run_id:
            self._select_run(run_id)
        if self._poller is not None:
            self._poller.wake()
        return {"stopped": asked}

    def _on_set_filter(self, msg: dict) -> None:
        states = msg.get("states", self.state_filter) or []
        if not isinstance(states, list):
            raise ValueError(f"states={states!r}: give a list of run states.")
        known = self._api.STATES
        bad = [x for x in states if x not in known]
        if bad:
            raise ValueError(f"Unknown run state {bad[0]!r}: use one of {', '.join(known)}.")
        triggers = msg.get("triggers", self.trigger_filter) or []
        if not isinstance(triggers, list):
            raise ValueError(f"triggers={triggers!r}: give a list of triggers.")
        bad = [x for x in triggers if x not in TRIGGERS]
        if bad:
            raise ValueError(f"Unknown trigger {bad[0]!r}: use one of {', '.join(TRIGGERS)}.")
        versions = msg.get("versions", self.version_filter) or []
        if not isinstance(versions, list):
            raise ValueError(f"versions={versions!r}: give a list of versions.")
        known_versions = [int(v["job_version"]) for v in self.versions]
        bad = [x for x in versions if isinstance(x, bool) or x not in known_versions]
        if bad:
            raise ValueError(f"Unknown version {bad[0]!r}: this workflow has versions "
                             f"{', '.join(map(str, known_versions)) or '(none)'}.")
        with self.hold_sync():
            self.state_filter = [str(x) for x in states]
            self.trigger_filter = [str(x) for x in triggers]
            self.version_filter = sorted({int(x) for x in versions})
        self.page = 0
        if self.workflow:
            self._load_runs()
            self._keep_or_pick_run()
            if self.view == "grid":
                self._load_grid()

    def _on_set_view(self, msg: dict) -> None:
        view = str(msg.get("view") or "graph")
        if view not in VIEWS:
            raise ValueError(f"view={view!r}: use one of {', '.join(VIEWS)}.")
        self.view = view
        if view == "grid":
            self._load_grid()
        elif view == "definition" and self.workflow:
            wanted = self.run.get("job_version") or self._handle().job_version
            if self.definition.get("job_version") != wanted or self.definition.get("slug") != self.workflow:
                self._load_definition(int(wanted))

    def _on_definition(self, msg: dict) -> None:
        version = _int_or_none(msg.get("version"), "version")
        self._load_definition(version if version is not None else int(self._handle().job_version))

    def _log_text(self, msg: dict) -> tuple[str, str]:
        stream = str(msg.get("stream") or "stdout")
        if stream not in ("stdout", "stderr"):
            raise ValueError(f"stream={stream!r}: use stdout or stderr.")
        if self.run_id is None or self.task_id is None:
            raise ValueError("Select a task first.")
        text = self._handle().logs(self.run_id, task_id=self.task_id, stderr=stream == "stderr",
                                   lines=_payload.ALL_LINES, attempt=self.task.get("attempt"))
        return stream, text or ""

    def _on_log_search(self, msg: dict) -> dict:
        query = str(msg.get("query") or "")
        stream, text = self._log_text(msg)
        if not query:
            return {"stream": stream, "query": "", "matches": [], "total": 0}
        matches, total = _payload.search_lines(text, query)
        return {"stream": stream, "query": query, "matches": matches, "total": total}

    def _on_log_download(self, msg: dict) -> dict:
        stream, text = self._log_text(msg)
        if len(text) > MAX_DOWNLOAD_CHARS:
            raise ValueError(
                f"This {stream} log has {len(text):,} characters, more than the explorer sends "
                f"({MAX_DOWNLOAD_CHARS:,}); read it with {self.task.get(stream + '_code', 'Workflow(...).logs(...)')}.")
        attempt = self.task.get("attempt")
        part = f".attempt{attempt}" if attempt is not None else ""
        name = (f"{self.workflow}-run{self.run_id}-{self.task.get('task_name', self.task_id)}"
                f"{part}.{stream}.log")
        return {"stream": stream, "text": text, "filename": name}

    def _on_refresh(self, _msg: dict) -> None:
        self.refresh()

    def _on_dismiss_error(self, _msg: dict) -> None:
        self.error = ""

    # -- state loading (public API only) ------------------------------------------------------
    def _handle(self, slug: str | None = None) -> Any:
        slug = slug or self.workflow
        key = (slug, self.environment)
        handle = self._handles.get(key)
        if handle is None:
            handle = self._api.Workflow(name=slug, environment=self.environment,
                                        get_existing=True)
            self._handles[key] = handle
        return handle

    def _resolve_slug(self, name: str) -> str:
        """A workflow's slug from its display name or slug (through Workflow's own lookup)."""
        for w in self.workflows:
            if name in (w["slug"], w["name"]):
                return str(w["slug"])
        handle = self._api.Workflow(name=name, environment=self.environment, get_existing=True)
        self._handles[(handle.slug, self.environment)] = handle
        return str(handle.slug)

    def _overview_status(self) -> str:
        n, m = len(self.workflows), len(self.jobs)
        jobs = f" and {m} service{'' if m == 1 else 's'} or app{'' if m == 1 else 's'}" if m else ""
        return f"{n} workflow{'' if n == 1 else 's'}{jobs} in {self.environment}."

    def _load_workflows(self) -> None:
        from datatailr import Schedule

        now = datetime.now(timezone.utc)
        # No health check: that is an HTTP request per job at every refresh of the overview.
        jobs = [_payload.job_json(j) for j in _list_jobs(self.environment)]
        job_slugs = {j["slug"] for j in jobs}
        out = []
        for w in self._api.list_workflows(self.environment):
            if w.get("slug") in job_slugs:  # a service or app: listed with the jobs
                continue
            item = _payload.workflow_json(w)
            if item.get("schedule"):
                try:
                    schedule = Schedule.parse(item["schedule"])
                    item["next_run"] = _payload.iso(schedule.next_after(now)) if schedule else None
                except Exception:  # noqa: BLE001 - a schedule the agent cannot read: no next time
                    item["next_run"] = None
            out.append(item)
        with self.hold_sync():
            self.workflows = out
            self.jobs = jobs

    def _show_overview(self) -> None:
        self.workflow = ""
        self.runs, self.run_count, self.page = [], 0, 0
        self._clear_run()
        self.versions = []
        self.status = self._overview_status()

    def _clear_run(self) -> None:
        self.run_id = None
        self.run = {}
        self._clear_task()

    def _clear_task(self) -> None:
        self.task_id = None
        self.task = {}
        self._result_wanted = False
        self._attempt_pick = "latest"

    def _select_workflow(self, slug: str, run_id: int | None = None) -> None:
        handle = self._handle(slug)
        if slug != self.workflow:  # versions are the workflow's own: its filter goes with it
            self.version_filter = []
        self.workflow = slug
        self.page = 0
        self._clear_run()
        self.versions = [_payload.version_json(v) for v in handle.versions()]
        self._load_runs()
        if run_id is not None:
            self._select_run(run_id)
        else:
            self._keep_or_pick_run()
        self.status = f"{handle.name} · {self.environment}"

    def _range(self) -> tuple[datetime | None, datetime | None]:
        return _parse_time(self.start_time), _parse_time(self.end_time)

    def _load_runs(self) -> None:
        handle = self._handle()
        start, end = self._range()
        filters: dict[str, Any] = {"state": list(self.state_filter) or None,
                                   "trigger": list(self.trigger_filter) or None,
                                   "job_version": list(self.version_filter) or None}
        count = int(handle.count_runs(start_time=start, end_time=end, **filters))
        pages = max(1, -(-count // max(1, self.page_size)))
        if self.page >= pages:
            self.page = pages - 1
        rows = handle.runs(start_time=start, end_time=end, refresh=True, limit=self.page_size,
                           offset=self.page * self.page_size, **filters)
        runs = [_payload.run_json(r) for r in rows]
        changed = [(r["run_id"], r["state"]) for r in runs] != [
            (r["run_id"], r["state"]) for r in self.runs]
        with self.hold_sync():
            self.run_count = count
            self.runs = runs
            if changed and self.view == "grid":
                self._load_grid()

    def _keep_or_pick_run(self) -> None:
        """After the list changed: keep the selected run if shown, else open the newest."""
        ids = [r["run_id"] for r in self.runs]
        if self.run_id is not None and self.run_id in ids:
            return
        self._select_run(ids[0] if ids else None)

    def _select_run(self, run_id: int | None) -> None:
        if run_id is None:
            self._clear_run()
            return
        handle = self._handle()
        details = _payload.details_json(handle.run_details(run_id))
        details["superseded_by"] = self._reruns_of(run_id)
        with self.hold_sync():
            keep = self.task.get("task_name") if run_id != self.run_id else None
            if run_id != self.run_id:
                self._clear_task()
            self.run_id = run_id
            self.run = details
            if keep is not None:  # switching runs keeps the selected task (by name)
                same = next((t for t in details["tasks"] if t["name"] == keep), None)
                if same is not None:
                    self.task_id = same["id"]
                    self.task = self._task_view(same, keep_result=False)

    def _reruns_of(self, run_id: int) -> list[int]:
        """Ids of every run that re-ran ``run_id``, oldest first (a store query: any history)."""
        rows = self._handle().runs(rerun_of=run_id, refresh=True)
        return sorted(int(r["run_id"]) for r in rows)

    def _load_grid(self) -> None:
        """Tasks x the runs on this page: each cell the task's state, duration and reuse."""
        if not self.workflow:
            self.grid = {}
            return
        handle = self._handle()
        runs: list[dict] = []
        names: list[str] = []
        cells: dict[str, dict] = {}
        for r in self.runs:
            details = handle.run_details(r["run_id"])
            runs.append({"run_id": r["run_id"], "state": r["state"],
                         "job_version": r["job_version"], "start_time": r["start_time"]})
            for t in details.get("tasks") or []:
                task = _payload.task_json(t)
                if task["name"] not in cells:
                    names.append(task["name"])
                    cells[task["name"]] = {}
                cells[task["name"]][str(r["run_id"])] = {
                    "id": task["id"], "state": task["state"], "duration": task["duration"],
                    "reused": task["reused"]}
        self.grid = {"workflow": self.workflow, "page": self.page, "runs": runs,
                     "tasks": [{"name": n, "cells": cells[n]} for n in names]}

    def _load_definition(self, version: int) -> None:
        handle = self._handle()
        definition = handle.definition(version)
        previous = None
        if version > 1:
            try:
                previous = str(handle.definition(version - 1).get("source") or "")
            except Exception:  # noqa: BLE001 - no previous version: nothing to diff against
                previous = None
        out = _payload.definition_json(definition, previous)
        out["versions"] = [v["job_version"] for v in self.versions]
        meta = next((v for v in self.versions if v["job_version"] == version), None)
        if meta:
            out["version_info"] = meta
        self.definition = out

    def _select_task(self, task_id: int | None) -> None:
        if task_id is None or self.run_id is None:
            self._clear_task()
            return
        names = {t["id"]: t for t in self.run.get("tasks", [])}
        if task_id not in names:
            raise ValueError(f"Run {self.run_id} has no task id {task_id}; task ids: {sorted(names)}.")
        if task_id != self.task_id:
            self._attempt_pick = "latest"
        self.task_id = task_id
        self.task = self._task_view(names[task_id], keep_result=False)

    def _log_attempts(self, task: dict) -> int:
        """How many attempts the task's logs hold: a reused task's are those of the run that
        computed it (the same task name there)."""
        came = task.get("result_from_run_id")
        if came is None:
            return int(task.get("attempts") or 0)
        details = self._handle().run_details(came)
        same = next((t for t in details.get("tasks") or [] if t["name"] == task["name"]), None)
        return int((same or {}).get("attempts") or 0)

    def _task_view(self, task: dict, keep_result: bool) -> dict:
        """The selected task with its log tails (and its result preview if asked for); of one
        attempt only when it was retried: the latest unless another was picked."""
        assert self.run_id is not None
        handle = self._handle()
        made = self._log_attempts(task)
        pick = self._attempt_pick
        attempt = (None if made <= 1 or pick == "all"
                   else made if pick == "latest" else min(int(pick), made))
        # The whole log, once: its true line count, then the tail that is shown.
        out_all = handle.logs(self.run_id, task_id=task["id"], lines=_payload.ALL_LINES,
                              attempt=attempt) or ""
        err_all = handle.logs(self.run_id, task_id=task["id"], stderr=True,
                              lines=_payload.ALL_LINES, attempt=attempt) or ""
        out_text, out_cut = _payload.log_tail(out_all)
        err_text, err_cut = _payload.log_tail(err_all)
        env = self.environment
        out_n, err_n = _payload.count_lines(out_all), _payload.count_lines(err_all)
        view = {
            **task, "run_id": self.run_id, "task_id": task["id"], "task_name": task["name"],
            "stdout": out_text, "stderr": err_text, "stdout_truncated": out_cut,
            "stderr_truncated": err_cut, "log_lines": _payload.LOG_LINES, "result": None,
            "stdout_lines": out_n, "stderr_lines": err_n,
            "log_attempts": made, "attempt": attempt,
            "stdout_code": _payload.logs_code(handle.name, env, self.run_id, task["name"],
                                              lines=out_n, attempt=attempt),
            "stderr_code": _payload.logs_code(handle.name, env, self.run_id, task["name"], True,
                                              lines=err_n, attempt=attempt),
        }
        if keep_result and self.task.get("result") is not None and self.task.get("state") == task["state"]:
            view["result"] = self.task["result"]
        elif self._result_wanted:
            view["result"] = self._preview(self.run_id, task["id"])
        return view

    def _value(self, run_id: int, task_id: int) -> Any:
        key = (run_id, task_id)
        if self._last_value is not None and self._last_value[0] == key:
            return self._last_value[1]
        value = self._handle().result(run_id, task_id=task_id)
        if value is not None:
            self._last_value = (key, value)
        return value

    def _preview(self, run_id: int, task_id: int) -> dict:
        try:
            return _payload.preview_value(self._value(run_id, task_id))
        except Exception as exc:
            return {"kind": "error", "type": "", "summary": "",
                    "text": f"Could not load the result: {_error_text(exc)}"}

    # -- public -------------------------------------------------------------------------------
    def load_result(self, run_id: int, task_id: int) -> tuple[str, str]:
        """Put a task's result in the kernel under a new variable; returns (variable, code)."""
        with self._lock:
            details = self.run if self.run.get("run_id") == run_id else \
                _payload.details_json(self._handle().run_details(run_id))
            names = {t["id"]: t["name"] for t in details.get("tasks", [])}
            if task_id not in names:
                raise ValueError(f"Run {run_id} has no task id {task_id}; task ids: {sorted(names)}.")
            task_name = names[task_id]
            value = self._value(run_id, task_id)
            ns = self._user_ns()
            taken = {k for k in (ns or {}) if self._assigned.get(k) != (run_id, task_id)}
            mine = [k for k, v in self._assigned.items() if v == (run_id, task_id) and k not in taken]
            variable = mine[0] if mine else _payload.variable_name(task_name, run_id, taken)
            if ns is not None:
                ns[variable] = value
            self._assigned[variable] = (run_id, task_id)
            handle = self._handle()
            code = _payload.load_code(handle.name, self.environment, run_id, task_name, variable)
            self.loaded = {"variable": variable, "code": code, "run_id": run_id,
                           "task_id": task_id, "task_name": task_name, "inserted": None,
                           "in_kernel": ns is not None}
            self.status = (f"Loaded {task_name} of run #{run_id} into {variable}."
                           if ns is not None else "No kernel namespace: copy the line below.")
            return variable, code

    def _user_ns(self) -> dict | None:
        if self._shell is not None:
            return self._shell.user_ns
        ipython = sys.modules.get("IPython")  # never import it: only use a running one
        get = getattr(ipython, "get_ipython", None)
        shell = get() if callable(get) else None
        return getattr(shell, "user_ns", None)

    def refresh(self) -> None:
        """Reload everything shown from the store."""
        with self._lock, self.hold_sync():
            self._handles.clear()
            self._load_workflows()
            if self.workflow:
                self.versions = [_payload.version_json(v) for v in self._handle().versions()]
                self._load_runs()
                if self.run_id is not None:
                    self._select_run(self.run_id)
                    self._refresh_task()
                else:
                    self._keep_or_pick_run()
            else:
                self.status = self._overview_status()

    def _refresh_task(self) -> None:
        if self.task_id is None:
            return
        tasks = {t["id"]: t for t in self.run.get("tasks", [])}
        if self.task_id in tasks:
            self.task = self._task_view(tasks[self.task_id], keep_result=True)

    def poll_once(self) -> bool:
        """One step of live updates: refresh what may have changed. True while active."""
        with self._lock:
            if self._closed:
                return False
            try:
                with self.hold_sync():
                    active = self._poll()
                    self.live = active
                return active
            except Exception as exc:
                self.error = f"Live update failed: {_error_text(exc)}"
                self.live = False
                return False

    def _poll(self) -> bool:
        if not self.workflow:
            self._load_workflows()
            return any(w.get("state") in ACTIVE_STATES for w in self.workflows)
        if self.page == 0 or any(r["state"] in ACTIVE_STATES for r in self.runs):
            before = [r["run_id"] for r in self.runs]
            self._load_runs()
            if self.run_id is None and self.runs and self.runs[0]["run_id"] not in before:
                self._select_run(self.runs[0]["run_id"])
        if self.run_id is not None and self._run_active():
            self._select_run(self.run_id)
            task = next((t for t in self.run.get("tasks", []) if t["id"] == self.task_id), None)
            if task is not None and (task["state"] in ACTIVE_STATES
                                     or task["state"] != self.task.get("state")):
                self._refresh_task()
        return self._run_active() or any(r["state"] in ACTIVE_STATES for r in self.runs)

    def _run_active(self) -> bool:
        return self.run.get("state") in ACTIVE_STATES or any(
            t.get("state") in ACTIVE_STATES for t in self.run.get("tasks", []))
