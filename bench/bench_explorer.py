"""Benchmark of the %dt_runs explorer: opening big histories and drawing big DAGs.

    .venv/bin/python bench/bench_explorer.py [--runs 100000] [--tasks 1000] [--no-browser]

Prints each figure beside its baseline: the issue's targets (a workflow with 100,000 runs opens in
under 1 s; a 1,000-task DAG renders in under 2 s; its timeline in under 1 s) and the same
action on a workflow with 10 runs (a workflow with 100,000 runs should open as fast as one with ten); the timeline
beside the DAG's first paint of the same run; a retried task's latest attempt (what its panel
opens on) and a picked one beside all its attempts in one log.

The history is made by running the workflows for real once, then copying their stored run
rows straight into the metadata store (100,000 local runs would take hours). That seeding is
the only place that touches the store; everything measured goes through the explorer, which
reads through the public API. The DAG is drawn by the real bundle in Debian's chromium with a
stand-in for the widget model, fed the JSON the kernel would send.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BUNDLE = ROOT / "datatailr" / "jupyter_ext" / "static" / "explorer.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    """(median seconds over ``repeat`` calls, last result)."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def row(what: str, seconds: float, baseline: str) -> None:
    print(f"  {what:<52} {seconds * 1000:>9.1f} ms   {baseline}")


def define_workflows():
    from datatailr import task, workflow

    @task()
    def extract():
        print("extracting")
        return list(range(10))

    @task()
    def total(rows):
        return sum(rows)

    @workflow(name="Bench Small")
    def bench_small():
        total(extract())

    @workflow(name="Bench Big")
    def bench_big():
        total(extract())

    @task()
    def node(*inputs):
        return len(inputs)

    @workflow(name="Bench Wide")
    def bench_wide(n_tasks=1000, width=100):
        layer = [node().alias(f"source_{i}") for i in range(width)]
        made = width
        depth = 1
        while made < n_tasks:
            count = min(width, n_tasks - made)
            layer = [node(layer[i % len(layer)], layer[(i * 7 + 3) % len(layer)])
                     .alias(f"layer_{depth}_task_{i}") for i in range(count)]
            made += count
            depth += 1

    @task(retries=2, retry_delay=0.01)
    def chatty_retry(marker_dir, lines):
        attempt = len(os.listdir(marker_dir)) + 1
        open(os.path.join(marker_dir, str(attempt)), "w").close()
        for i in range(lines):
            print(f"attempt {attempt} line {i}")
        if attempt < 3:
            raise RuntimeError(f"attempt {attempt} fails")
        return attempt

    @workflow(name="Bench Retried")
    def bench_retried(marker_dir, lines=20_000):
        chatty_retry(marker_dir, lines)

    return bench_small, bench_big, bench_wide, bench_retried


def copy_runs(workflow_name: str, total: int) -> None:
    """Seeding only: clone the workflow's one stored run into ``total`` runs, spread over the
    last 200 days (some in the last week for the heatmap)."""
    import sqlalchemy as sa

    from datatailr.scheduler.platform import current_platform
    from datatailr.store.metadata import runs, task_runs

    meta = current_platform().metadata
    row = meta.find_workflow(workflow_name, "dev")
    [template] = meta.list_runs(row["workflow_id"], limit=1)
    tasks = meta.task_runs(template["run_id"])
    now = time.time()
    with meta.write() as conn:
        batch, task_batch = [], []
        next_id = int(conn.execute(sa.select(sa.func.max(runs.c.run_id))).scalar_one()) + 1
        for i in range(total - 1):
            start = now - 200 * 86400 * (i / total) - 60
            run_id = next_id + i
            batch.append({**{k: template[k] for k in (
                "workflow_id", "job_version", "trigger")},
                "run_id": run_id, "state": "failed" if i % 17 == 0 else "completed",
                "created_at": start - 0.01, "start_time": start, "end_time": start + 1.5,
                "full": False, "stop_requested": False, "options": "{}"})
            for t in tasks:
                task_batch.append({**{k: t[k] for k in ("task_id", "name", "attempts")},
                                   "run_id": run_id, "state": "completed",
                                   "start_time": start, "end_time": start + 0.5,
                                   "result_run_id": t["result_run_id"],
                                   "result_task_id": t["result_task_id"]})
            if len(batch) >= 5000:
                conn.execute(runs.insert(), batch)
                conn.execute(task_runs.insert(), task_batch)
                batch, task_batch = [], []
        if batch:
            conn.execute(runs.insert(), batch)
            conn.execute(task_runs.insert(), task_batch)


def bench_python(n_runs: int, n_tasks: int) -> dict:
    print(f"Seeding: 10 runs of 'Bench Small', {n_runs:,} of 'Bench Big', "
          f"one run of a {n_tasks:,}-task workflow, a task retried twice ...", flush=True)
    bench_small, bench_big, bench_wide, bench_retried = define_workflows()
    t0 = time.perf_counter()
    for _ in range(10):
        bench_small(local_run=True, progress=False)
    bench_big(local_run=True, progress=False)
    copy_runs("bench-big", n_runs)
    wide_run = bench_wide(n_tasks, local_run=True, progress=False)
    bench_retried(tempfile.mkdtemp(), local_run=True, progress=False)
    print(f"  seeded in {time.perf_counter() - t0:.1f} s "
          f"(the {n_tasks}-task run: {wide_run.state})\n", flush=True)

    t_import, _ = timed(lambda: __import__("datatailr.jupyter_ext._widget"))
    from datatailr.jupyter_ext import ExplorerWidget

    def open_(name, **kw):
        w = ExplorerWidget(workflow=name, poll_interval=None, **kw)
        w.close()
        return w

    print("Python side (the kernel):")
    row("import the widget module (anywidget, ipywidgets)", t_import, "once per kernel")
    first_big, _ = timed(lambda: open_("Bench Big"))
    small, _ = timed(lambda: open_("Bench Small"), repeat=5)
    big, w = timed(lambda: open_("Bench Big"), repeat=5)
    row("open a workflow with 10 runs (median of 5)", small, "baseline")
    row(f"open a workflow with {n_runs:,} runs, first", first_big, "target < 1000 ms")
    row(f"open a workflow with {n_runs:,} runs (median of 5)", big,
        f"target < 1000 ms; {big / small:.1f}x the 10-run open")
    state_bytes = len(json.dumps({k: getattr(w, k) for k in (
        "workflows", "runs", "run", "versions", "run_count")}, default=str))
    print(f"  {'  state sent at open (workflows + first page + run)':<52} {state_bytes / 1024:>9.1f} KB"
          f"   {w.run_count:,} runs in the store, {len(w.runs)} in the state")

    w = ExplorerWidget(workflow="Bench Big", poll_interval=None)
    w.send = lambda *_a, **_k: None
    last_page = (w.run_count - 1) // w.page_size
    t_page, _ = timed(lambda: w._on_custom_msg(w, {"type": "set_page", "page": last_page, "req": 1}, []), 3)
    row(f"page to the oldest runs (page {last_page + 1:,})", t_page, "on demand")
    t_range, _ = timed(lambda: w._on_custom_msg(w, {"type": "set_range", "req": 2,
                                                    "start_time": "2000-01-01T00:00:00Z",
                                                    "end_time": None}, []), 3)
    row("apply a date range", t_range, "on demand")
    run_id = w.runs[0]["run_id"]
    t_task, _ = timed(lambda: w._on_custom_msg(w, {"type": "select_task", "req": 3,
                                                   "run_id": run_id, "task_id": 0,
                                                   "result": True}, []), 3)
    row("one task's logs and result preview", t_task, "on demand")
    t_poll, _ = timed(w.poll_once, 5)
    row("one live-update poll (page 1 + count)", t_poll, "every 1 s while runs are active")
    w.close()
    t_overview, ov = timed(lambda: ExplorerWidget(poll_interval=None), 3)
    ov.close()
    row(f"open the overview ({len(ov.workflows)} workflows, heatmaps)", t_overview, "no workflow selected")

    t_wide, ww = timed(lambda: open_("Bench Wide"), 3)
    row(f"open the {n_tasks:,}-task workflow's newest run", t_wide, "run_details + payload")

    # A task retried twice, 20,000 stdout lines per attempt: the panel opens on the latest.
    w = ExplorerWidget(workflow="Bench Retried", poll_interval=None)
    w.send = lambda *_a, **_k: None
    msg = {"type": "select_task", "req": 4, "run_id": w.run_id, "task_id": 0}
    t_latest, _ = timed(lambda: w._on_custom_msg(w, msg, []), 5)
    latest_lines = w.task["stdout_lines"]
    pick_all = {"type": "select_attempt", "req": 5, "attempt": "all"}
    t_all, _ = timed(lambda: w._on_custom_msg(w, pick_all, []), 5)
    all_lines = w.task["stdout_lines"]
    pick_1 = {"type": "select_attempt", "req": 6, "attempt": 1}
    t_first, _ = timed(lambda: w._on_custom_msg(w, pick_1, []), 5)
    w.close()
    row(f"retried task, all attempts ({all_lines:,} lines, median of 5)", t_all, "baseline")
    row(f"retried task opens on the latest ({latest_lines:,} lines)", t_latest,
        f"{t_latest / t_all:.2f}x all attempts")
    row("retried task, pick attempt 1", t_first, f"{t_first / t_all:.2f}x all attempts")
    print()
    return {"wide_run": ww.run}


PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;font-family:sans-serif} #host{width:1200px}</style></head>
<body><div id="host"></div><script type="module">
import widget from "/explorer.js";
let cleanup = null;
window.renderWith = (state) => {
  if (cleanup) cleanup();
  const listeners = new Map();
  const model = {
    get: (k) => state[k],
    on: (e, cb) => listeners.set(e, [...(listeners.get(e) || []), cb]),
    off: () => {},
    send: () => {},
  };
  const host = document.getElementById("host");
  host.replaceChildren();
  const el = document.createElement("div");
  host.appendChild(el);
  const t0 = performance.now();
  cleanup = widget.render({ model, el });
  const timeline = state.view === "timeline";
  return new Promise((resolve) => {
    const check = () => {
      if (timeline) {
        // Every task has its row (only those in view have elements: the rest are drawn as
        // they scroll in).
        const tl = el.querySelector(".dt-timeline");
        if (!tl || Number(tl.dataset.rows) < state.run.tasks.length) return setTimeout(check, 0);
        const built = performance.now() - t0;
        return requestAnimationFrame(() => requestAnimationFrame(() => {
          resolve({ built, painted: performance.now() - t0, nodes: Number(tl.dataset.rows),
                    elements: el.querySelectorAll(".dt-tl-row").length,
                    timelineMs: Number(tl.dataset.renderMs) });
        }));
      }
      const n = el.querySelectorAll(".dt-node").length;
      if (n >= state.run.tasks.length) {
        const built = performance.now() - t0;
        // The frame after the DOM is built: the browser has laid it out and painted it.
        requestAnimationFrame(() => requestAnimationFrame(() => {
          const dag = el.querySelector(".dt-dag");
          resolve({ built, painted: performance.now() - t0, nodes: n,
                    layoutMs: Number(dag.dataset.layoutMs), dagMs: Number(dag.dataset.renderMs),
                    engine: dag.dataset.engine });
        }));
      } else setTimeout(check, 0);
    };
    check();
  });
};
window.ready = true;
</script></body></html>"""


def bench_browser(run: dict) -> None:
    if not Path(CHROMIUM).exists():
        print("Browser side: skipped (no /usr/bin/chromium)")
        return
    from playwright.sync_api import sync_playwright

    state = {"environments": ["dev", "pre", "prod"], "environment": "dev", "workflows": [],
             "workflow": "bench-wide", "start_time": "", "end_time": "", "page": 0,
             "page_size": 20, "run_count": 1, "runs": [], "run_id": run["run_id"], "run": run,
             "task_id": None, "task": {}, "versions": [], "status": "", "error": "",
             "live": False, "loaded": {}, "state_filter": [], "trigger_filter": [],
             "version_filter": [], "jobs": [], "view": "graph", "grid": {}, "definition": {}}
    bundle = BUNDLE.read_text()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # Served from memory through request interception: no listener is opened.
        page.route("http://bench.local/", lambda r: r.fulfill(body=PAGE, content_type="text/html"))
        page.route("http://bench.local/explorer.js",
                   lambda r: r.fulfill(body=bundle, content_type="text/javascript"))
        page.goto("http://bench.local/")
        page.wait_for_function("window.ready === true")
        results = []
        for i in range(5):
            # Change a name so every render lays the graph out anew (no layout cache hit).
            tasks = [{**t, "name": f"{t['name']}" if i == 0 else f"{t['name']}~{i}"}
                     for t in run["tasks"]]
            results.append(page.evaluate("s => window.renderWith(s)", {**state, "run": {**run, "tasks": tasks}}))
        timelines = [page.evaluate("s => window.renderWith(s)",
                                   {**state, "view": "timeline",
                                    "run": {**run, "tasks": [{**t, "name": f"{t['name']}^{i}"}
                                                             for t in run["tasks"]]}})
                     for i in range(5)]
        browser.close()
    n = results[0]["nodes"]
    edges = sum(len(t["dependencies"]) for t in run["tasks"])
    print(f"Browser side (chromium, {n:,} tasks, {edges:,} edges, engine {results[0]['engine']}):")
    row("first render: layout", results[0]["layoutMs"] / 1000, "")
    row("first render: DAG laid out and built (SVG)", results[0]["dagMs"] / 1000, "")
    row("first render: whole explorer built", results[0]["built"] / 1000, "")
    row("first render: painted", results[0]["painted"] / 1000, "target < 2000 ms")
    med = statistics.median(r["painted"] for r in results[1:])
    row("render, painted (median of 4 more)", med / 1000, "target < 2000 ms")
    print(f"Timeline (Gantt) of the same {timelines[0]['nodes']:,} tasks "
          f"({timelines[0]['elements']} rows in view or near it have elements):")
    row("first render: timeline rows built", timelines[0]["timelineMs"] / 1000, "")
    row("first render: painted", timelines[0]["painted"] / 1000,
        f"target < 1000 ms; the DAG's first paint {results[0]['painted']:.0f} ms")
    row("render, painted (median of 4 more)",
        statistics.median(r["painted"] for r in timelines[1:]) / 1000, "target < 1000 ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    work = ROOT / ".work"
    home = Path(tempfile.mkdtemp(prefix="bench-explorer-", dir=work if work.is_dir() else None))
    os.environ["DATATAILR_HOME"] = str(home / "dt-home")
    print(f"DATATAILR_HOME={os.environ['DATATAILR_HOME']}  ({os.cpu_count()} CPUs)\n")
    out = bench_python(args.runs, args.tasks)
    if not args.no_browser:
        bench_browser(out["wide_run"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
