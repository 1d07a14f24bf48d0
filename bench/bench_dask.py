"""Benchmark of the Dask executor (issue 7), printed beside a baseline measured in the same run.

    .venv/bin/python bench/bench_dask.py              # both shapes, 3 rounds
    .venv/bin/python bench/bench_dask.py wide 5       # one shape: wide | layered; rounds

A 1,000-task workflow on a 2-worker LocalCluster (process workers, one thread each), run with
DATATAILR_EXECUTOR=dask://... through the public API (trace, version, run rows, results and
logs stored, a process per task), beside Dask's own ``dask.delayed`` running the same graph on
the same cluster with no bookkeeping. Target: overhead per task at most 2x the baseline's.
Shapes: ``wide`` is 1 -> 998 -> 1 (fan-out, fan-in); ``layered`` is 4 layers of 250 tasks,
each task reading one of the layer before. Rounds alternate ours and baseline, so machine
load hits both alike. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DATATAILR_HOME"] = tempfile.mkdtemp(prefix="dt-bench-dask-")

from datatailr import task, workflow  # noqa: E402

N = 1000


def inc(*values):
    return sum(values) + 1


t_inc = task()(inc)


@workflow(name="bench dask wide")
def wide():
    first = t_inc()
    t_inc(*[t_inc(first) for _ in range(N - 2)])


@workflow(name="bench dask layered")
def layered():
    layer = [t_inc() for _ in range(N // 4)]
    for _ in range(3):
        layer = [t_inc(x) for x in layer]


def delayed_wide():
    import dask

    d = dask.delayed(inc, pure=False)
    first = d()
    return d(*[d(first) for _ in range(N - 2)])


def delayed_layered():
    import dask

    d = dask.delayed(inc, pure=False)
    layer = [d() for _ in range(N // 4)]
    for _ in range(3):
        layer = [d(x) for x in layer]
    return layer


SHAPES = {"wide": (wide, delayed_wide), "layered": (layered, delayed_layered)}


def bench(client, name, rounds):
    import dask

    ours_wf, baseline_graph = SHAPES[name]

    def ours():
        t0 = time.perf_counter()
        run = ours_wf(local_run=True, progress=False)
        wall = time.perf_counter() - t0
        assert run.state == "completed", run.run_details()["error"]
        details = run.run_details()
        inner = (details["end_time"] - details["start_time"]).total_seconds()
        return wall, inner

    def baseline():
        t0 = time.perf_counter()
        dask.compute(baseline_graph(), scheduler=client)
        return time.perf_counter() - t0

    ours()  # warm: the version is saved once, imports and the client connection done
    baseline()
    o_wall, o_inner, b_wall = [], [], []
    for _ in range(rounds):
        wall, inner = ours()
        o_wall.append(wall)
        o_inner.append(inner)
        b_wall.append(baseline())
    print(f"{name}: {N} tasks on 2 Dask workers ({rounds} rounds, alternating)")
    for label, fn in (("best", min), ("median", statistics.median)):
        ours_t, base_t, inner_t = fn(o_wall), fn(b_wall), fn(o_inner)
        print(f"  {label:<6} ours {ours_t:7.3f} s ({ours_t / N * 1000:6.2f} ms/task; run "
              f"itself {inner_t:6.3f} s)   dask.delayed {base_t:7.3f} s "
              f"({base_t / N * 1000:6.2f} ms/task)   ratio {ours_t / base_t:4.2f}x")
    print("  target: ratio <= 2x")


def main() -> None:
    from distributed import Client, LocalCluster

    names = [a for a in sys.argv[1:] if a in SHAPES] or list(SHAPES)
    rounds = next((int(a) for a in sys.argv[1:] if a.isdigit()), 3)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                           silence_logs=logging.CRITICAL)
    os.environ["DATATAILR_EXECUTOR"] = "dask://" + cluster.scheduler_address.split("://")[1]
    client = Client(cluster, set_as_default=False)
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f}; storage: a folder (the default)")
        for name in names:
            bench(client, name, rounds)
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
