"""Benchmark of the Dask executor, printed beside a baseline measured in the same run.

    .venv/bin/python bench/bench_dask.py              # every shape, 3 rounds
    .venv/bin/python bench/bench_dask.py shared 5     # one shape; rounds

Workflows on a 2-worker LocalCluster (process workers, one thread each), run with
DATATAILR_EXECUTOR=dask://... through the public API (trace, version, run rows, results and
logs stored, a process per task), beside Dask's own ``dask.delayed`` running the same graph on
the same cluster with no bookkeeping. Rounds alternate ours and baseline, so machine load hits
both alike. Not a test: nothing here asserts a time. Shapes and targets:

- ``shared``: one task makes a 50 MiB array, 200 tasks each read it (data stays on the
  worker that made it, moved by Dask; never read back from storage): within 2x.
- ``noop``: 1,000 independent no-op tasks: within 1.5x.
- ``wide``: 1 -> 998 -> 1 (fan-out, fan-in) and ``layered``: 4 layers of 250 tasks, each
  reading one of the layer before: within 2x.
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
N_SHARED = 200
SHARED_BYTES = 50 * 2**20


def inc(*values):
    return sum(values) + 1


def noop():
    return None


def make_array():
    import numpy as np

    return np.arange(SHARED_BYTES // 8, dtype=np.float64)


def read_array(array, i):
    return float(array[i * 1000: i * 1000 + 1000].sum())


t_inc = task()(inc)
t_noop = task()(noop)
t_make_array = task()(make_array)
t_read_array = task()(read_array)


@workflow(name="bench dask noop")
def noops():
    for _ in range(N):
        t_noop()


@workflow(name="bench dask shared")
def shared():
    array = t_make_array()
    for i in range(N_SHARED):
        t_read_array(array, i)


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


def delayed_noops():
    import dask

    d = dask.delayed(noop, pure=False)
    return [d() for _ in range(N)]


def delayed_shared():
    import dask

    array = dask.delayed(make_array, pure=False)()
    d = dask.delayed(read_array, pure=False)
    return [d(array, i) for i in range(N_SHARED)]


#: shape -> (our workflow, the dask.delayed graph, tasks, target ratio)
SHAPES = {"shared": (shared, delayed_shared, N_SHARED + 1, 2.0),
          "noop": (noops, delayed_noops, N, 1.5),
          "wide": (wide, delayed_wide, N, 2.0),
          "layered": (layered, delayed_layered, N, 2.0)}


def bench(client, name, rounds):
    import dask

    ours_wf, baseline_graph, n, target = SHAPES[name]

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
    print(f"{name}: {n} tasks on 2 Dask workers ({rounds} rounds, alternating)")
    for label, fn in (("best", min), ("median", statistics.median)):
        ours_t, base_t, inner_t = fn(o_wall), fn(b_wall), fn(o_inner)
        print(f"  {label:<6} ours {ours_t:7.3f} s ({ours_t / n * 1000:6.2f} ms/task; run "
              f"itself {inner_t:6.3f} s)   dask.delayed {base_t:7.3f} s "
              f"({base_t / n * 1000:6.2f} ms/task)   ratio {ours_t / base_t:4.2f}x")
    print(f"  target: ratio <= {target:g}x")


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
