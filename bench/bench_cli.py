"""Benchmark of the ``dt`` CLI, cold, on a big store: 1,000 workflows and 100,000 runs.

    .venv/bin/python bench/bench_cli.py [--repeat 5] [--rebuild]

Each command runs as a whole new process (``dt job ls``, ``dt job runs NAME``, ``dt log read
NAME``, ``dt result get NAME -t TASK``), on the read-only fast path (the default for a SQLite
store) and on the full SQLAlchemy store (``DATATAILR_FAST_READ=0``, the path every command took
before: the in-run baseline), rounds alternating with the floors measured in the same run:
``python -c pass`` and ``python -c "import datatailr"``; medians of ``--repeat``. Then, in one
process, ``Workflow.runs()`` (the rows the CLI prints) beside the raw query of the same rows
with the standard library's sqlite3. The load average is printed beside the figures.

The processes run with bytecode caches written and read (``PYTHONDONTWRITEBYTECODE`` is
dropped from their environment), as an installed package has them: without, every process
compiles the package's modules again (~50 ms here), on every path alike.

The store is made once and cached under ``.work/bench_cli/``: one workflow is run for real,
then its stored rows are copied (999 more workflows with their versions, 100,000 runs with their
task rows, all older than the real run) with sqlite3 - the seeding is the only place that
touches the database directly; everything measured goes through ``dt``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".work" / "bench_cli"
HOME = CACHE / "home"
N_WORKFLOWS = 1000
N_RUNS = 100_000
NAME = "bench-report"


def env(tree: Path = ROOT, extra: dict[str, str] | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**base, "DATATAILR_HOME": str(HOME), "PYTHONPATH": str(tree),
            "DATATAILR_JOB_ENVIRONMENT": "dev", **(extra or {})}


#: The environment of the baseline: every read on the full (SQLAlchemy) store.
FULL_STORE = {"DATATAILR_FAST_READ": "0"}


SEED = '''
from datatailr import task, workflow

@task()
def fetch():
    print("fetching")
    return {"sales": [100, 200, 150]}

@task()
def total(data):
    print("summing")
    return sum(data["sales"])

@workflow(name="Bench Report")
def bench_report():
    total(fetch())

print(bench_report(local_run=True, progress=False).state)
'''


def build() -> None:
    """The real run, then the copies (seeding only)."""
    shutil.rmtree(CACHE, ignore_errors=True)
    HOME.mkdir(parents=True, mode=0o700)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", SEED], env=env(), check=True, cwd=CACHE)
    db = sqlite3.connect(HOME / "datatailr.db")
    db.row_factory = sqlite3.Row
    [wf] = db.execute("SELECT * FROM workflows WHERE slug = ?", (NAME,)).fetchall()
    [version] = db.execute("SELECT * FROM versions WHERE workflow_id = ?",
                           (wf["workflow_id"],)).fetchall()
    [run] = db.execute("SELECT * FROM runs WHERE workflow_id = ?", (wf["workflow_id"],)).fetchall()
    tasks = db.execute("SELECT * FROM task_runs WHERE run_id = ?", (run["run_id"],)).fetchall()

    def insert(table: str, rows: list[dict]) -> None:
        cols = list(rows[0])
        db.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                       f"({', '.join('?' * len(cols))})", [tuple(r[c] for c in cols) for r in rows])

    with db:
        wf_ids = [wf["workflow_id"]]
        for i in range(1, N_WORKFLOWS):
            cur = db.execute("INSERT INTO workflows (slug, environment, name, created_at, job_type)"
                             " VALUES (?, ?, ?, ?, ?)", (f"bench-job-{i:04d}", "dev",
                                                         f"Bench Job {i:04d}", wf["created_at"],
                                                         wf["job_type"]))
            wf_ids.append(int(cur.lastrowid or 0))
            insert("versions", [{**dict(version), "workflow_id": wf_ids[-1]}])
        # runs: 10,000 of bench-report (its real run stays the newest), 90 of every other
        per_other = (N_RUNS - 10_000) // (N_WORKFLOWS - 1)
        counts = [N_RUNS - per_other * (N_WORKFLOWS - 1) - 1] + [per_other] * (N_WORKFLOWS - 1)
        next_id = int(run["run_id"]) + 1
        start0 = float(run["start_time"]) - 60
        runs_batch: list[dict] = []
        task_batch: list[dict] = []
        for wf_id, count in zip(wf_ids, counts):
            for j in range(count):
                start = start0 - 86400 * 200 * (j / count)
                runs_batch.append({**dict(run), "run_id": next_id, "workflow_id": wf_id,
                                   "state": "failed" if j % 17 == 0 else "completed",
                                   "created_at": start - 0.01, "start_time": start,
                                   "end_time": start + 1.5, "pid": None, "heartbeat": None})
                for t in tasks:
                    task_batch.append({**dict(t), "run_id": next_id, "start_time": start,
                                       "end_time": start + 0.5})
                next_id += 1
            if len(runs_batch) > 20_000:
                insert("runs", runs_batch)
                insert("task_runs", task_batch)
                runs_batch, task_batch = [], []
        if runs_batch:
            insert("runs", runs_batch)
            insert("task_runs", task_batch)
    n_wf, n_runs = (db.execute("SELECT count(*) FROM workflows").fetchone()[0],
                    db.execute("SELECT count(*) FROM runs").fetchone()[0])
    db.close()
    print(f"built the store: {n_wf:,} workflows, {n_runs:,} runs in "
          f"{time.perf_counter() - t0:.1f} s ({HOME})")


FLOOR_QUERY = f"""
import os, sqlite3
db = sqlite3.connect("file:" + os.environ["DATATAILR_HOME"] + "/datatailr.db?mode=ro", uri=True)
db.row_factory = sqlite3.Row
[wf] = db.execute("SELECT * FROM workflows WHERE slug = ? AND environment = 'dev'", ({NAME!r},))
rows = [dict(r) for r in db.execute("SELECT * FROM runs WHERE workflow_id = ? ORDER BY "
        "start_time DESC, run_id DESC LIMIT 20", (wf["workflow_id"],))]
print(len(rows))
"""


def whole_process(args: list[str], tree: Path = ROOT, extra: dict[str, str] | None = None
                  ) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(args, env=env(tree, extra), cwd=CACHE, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {out.stderr.strip()}")
    return seconds


def in_process_rows(repeat: int) -> None:
    """``Workflow.runs(limit=None)`` (every run of bench-report, as dicts) beside sqlite3's raw
    query of the same rows."""
    os.environ.update(env())
    sys.path.insert(0, str(ROOT))
    from datatailr.scheduler.batch import Workflow

    wf = Workflow("Bench Report", get_existing=True)
    db = sqlite3.connect(HOME / "datatailr.db")
    db.row_factory = sqlite3.Row
    wf_id = db.execute("SELECT workflow_id FROM workflows WHERE slug = ?", (NAME,)).fetchone()[0]

    from datatailr.store.metadata import RUN_COLUMNS

    columns = ", ".join(f'"{c.name}"' for c in RUN_COLUMNS)  # the columns list_runs reads

    def raw() -> int:
        rows = db.execute(f"SELECT {columns} FROM runs WHERE workflow_id = ? ORDER BY run_id DESC",
                          (wf_id,)).fetchall()
        return len([dict(r) for r in rows])

    def api() -> int:
        return len(wf.runs(limit=None, refresh=True))

    from datatailr.scheduler.platform import current_platform

    def store() -> int:
        return len(current_platform().metadata.list_runs(wf_id))

    api()
    times: dict[str, list[float]] = {"raw": [], "store": [], "api": []}
    for _ in range(repeat):
        for label, fn in (("raw", raw), ("store", store), ("api", api)):
            t0 = time.perf_counter()
            n = fn()
            times[label].append(time.perf_counter() - t0)
    raw_s, api_s = statistics.median(times["raw"]), statistics.median(times["api"])
    print(f"\nin one process, {n:,} runs of {NAME} (median of {repeat}):")
    print(f"  {'sqlite3 raw query (same columns) -> dicts':<44} {raw_s * 1000:8.1f} ms   baseline")
    store_s = statistics.median(times["store"])
    print(f"  {'MetadataStore.list_runs (the store part)':<44} {store_s * 1000:8.1f} ms   "
          f"{store_s / raw_s:.2f}x the raw query")
    print(f"  {'Workflow.runs(limit=None)':<44} {api_s * 1000:8.1f} ms   {api_s / raw_s:.2f}x the raw "
          f"query (target <= 1.3x)")

    from datatailr.scheduler.batch import list_workflows
    from datatailr.scheduler.platform import read_only

    meta = current_platform().metadata
    since = time.time() - 7 * 86400
    overview: dict[str, list[float]] = {"full": [], "fast": [], "overview": []}
    for _ in range(max(1, repeat // 2)):
        t0 = time.perf_counter()
        listed = list_workflows("dev")
        overview["full"].append(time.perf_counter() - t0)
        with read_only():
            t0 = time.perf_counter()
            fast = list_workflows("dev")
            overview["fast"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        seen = meta.workflow_overview("dev", since)
        overview["overview"].append(time.perf_counter() - t0)
    assert [w["slug"] for w in listed] == [w["slug"] for w in seen] == [w["slug"] for w in fast]
    full_s, fast_s, one_s = (min(overview[k]) for k in ("full", "fast", "overview"))
    print(f"\nthe environment overview of {len(seen):,} workflows (dt job ls), in one process:")
    print(f"  {'list_workflows(), full store':<44} {full_s * 1000:8.1f} ms   baseline")
    print(f"  {'list_workflows(), read_only() (sqlite3)':<44} {fast_s * 1000:8.1f} ms   "
          f"{full_s / fast_s:.1f}x faster")
    print(f"  {'MetadataStore.workflow_overview(): 3 queries':<44} {one_s * 1000:8.1f} ms   "
          f"(its rows only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--compare", type=Path, action="append", default=[], metavar="TREE",
                        help="also time every dt command with the package from this source tree "
                        "(e.g. an older commit's `git archive`), alternating round by round; "
                        "repeatable")
    parser.add_argument("--no-rows", action="store_true", help="skip the in-process rows figure")
    parser.add_argument("--rows-only", action="store_true", help="only the in-process figures")
    opts = parser.parse_args()
    if opts.rows_only:
        in_process_rows(opts.repeat)
        return
    if opts.rebuild or not (HOME / "datatailr.db").exists():
        build()
    py = sys.executable
    dt = [py, "-m", "datatailr.cli"]
    commands = {
        "dt job ls": [*dt, "job", "ls"],
        f"dt job runs {NAME}": [*dt, "job", "runs", NAME],
        f"dt log read {NAME}": [*dt, "log", "read", NAME],
        f"dt result get {NAME} -t total": [*dt, "result", "get", NAME, "-t", "total"],
    }
    cases: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "python -c pass": ([py, "-c", "pass"], None),
        "python -c 'import datatailr'": ([py, "-c", "import datatailr"], None),
        "dt --help": ([*dt, "--help"], None),
    }
    for label, args in commands.items():
        cases[label] = (args, None)
        cases[f"  full store: {label[3:]}"] = (args, FULL_STORE)
    # the floor of `dt job runs`: the same page of rows by the standard library's sqlite3
    cases["python + sqlite3: runs page (the floor)"] = ([py, "-c", FLOOR_QUERY], None)
    cases["python -c 'import sqlalchemy'"] = ([py, "-c", "import sqlalchemy"], None)
    runs = [(label, args, ROOT, extra) for label, (args, extra) in cases.items()]
    for tree in opts.compare:
        runs += [(f"  {tree.name}: {label[3:]}", args, tree.resolve(), None)
                 for label, args in commands.items()]
    for _label, args, tree, extra in runs:  # warm the page cache and the .pyc files once
        whole_process(args, tree, extra)
    times: dict[str, list[float]] = {label: [] for label, _a, _t, _e in runs}
    for _ in range(opts.repeat):
        for label, args, tree, extra in runs:
            times[label].append(whole_process(args, tree, extra))
    load = os.getloadavg()
    print(f"\nwhole processes, cold interpreter, median of {opts.repeat} "
          f"(load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} cores):")
    floor = statistics.median(times["python -c pass"])
    for label, ts in times.items():
        med = statistics.median(ts)
        target = "  target <= 200 ms" if label in commands else ""
        if label.startswith("  full store: "):
            fast = statistics.median(times["dt " + label[len("  full store: "):]])
            target = f"  {med / fast:.1f}x the fast path"
        print(f"  {label:<44} {med * 1000:8.1f} ms   min {min(ts) * 1000:6.1f}   "
              f"+{(med - floor) * 1000:6.1f} over python -c pass{target}")
    if not opts.no_rows:
        in_process_rows(opts.repeat)


if __name__ == "__main__":
    main()
