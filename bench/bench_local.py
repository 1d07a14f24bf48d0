"""Benchmarks of local runs (issue 2), each printed beside a baseline measured in the same run.

    .venv/bin/python bench/bench_local.py            # all
    .venv/bin/python bench/bench_local.py fanout     # one: fanout | wide | sleep | dataframe | cold

Targets (2 cores): fan-out/fan-in of 200 no-op tasks <= 1 ms overhead per task over a bare
ProcessPoolExecutor and <= 0.3 ms per task in all, every result stored; a 1,000-task fan-out
<= 0.3 s in all; 8 x sleep(0.5) in < 0.55 s; a 320 MB DataFrame passed between two tasks
within 1.3x of pickling it to a file and loading it back; a 2-task script from a cold
interpreter < 1 s and `import datatailr` < 0.2 s. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DATATAILR_HOME"] = tempfile.mkdtemp(prefix="dt-bench-")

from datatailr import task, workflow  # noqa: E402


def noop(*_args):
    return None


def nap(seconds):
    time.sleep(seconds)


@task()
def t_noop(*_args):
    return None


@task()
def t_nap(seconds):
    time.sleep(seconds)


N = 200


@workflow(name="bench fanout")
def fanout():
    first = t_noop()
    middle = [t_noop(first) for _ in range(N - 2)]
    t_noop(*middle)


@workflow(name="bench sleep")
def sleepers():
    for i in range(8):
        t_nap(0.5).alias(f"nap_{i}")


def best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def row(label, ours, base, unit="s"):
    print(f"  {label:<44} ours {ours:8.4f} {unit}   baseline {base:8.4f} {unit}")


def bench_fanout():
    def baseline():
        with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
            pool.submit(noop).result()
            futures = [pool.submit(noop, None) for _ in range(N - 2)]
            middle = [f.result() for f in futures]
            pool.submit(noop, *middle).result()

    def ours():
        run = fanout(local_run=True, progress=False)
        assert run.state == "completed", run

    ours()  # warm: version saved once, imports done
    b_min, b_med = best(baseline)
    o_min, o_med = best(ours)
    print(f"fan-out/fan-in of {N} no-op tasks (results stored, logs captured):")
    row("wall time, best of 5", o_min, b_min)
    row("wall time, median of 5", o_med, b_med)
    print(f"  overhead per task: {(o_min - b_min) / N * 1000:.3f} ms (best), "
          f"{(o_med - b_med) / N * 1000:.3f} ms (median); target <= 1 ms")
    print(f"  whole call per task: {o_min / N * 1000:.3f} ms (best), every result stored; "
          f"target <= 0.3 ms")


WIDE = 1000


@workflow(name="bench wide")
def wide():
    first = t_noop()
    for _ in range(WIDE):
        t_noop(first)


def _store(path):
    with open(path, "wb") as f:
        pickle.dump(None, f, protocol=5)


def bench_wide():
    with tempfile.TemporaryDirectory() as d:
        def baseline():  # the floor of "a process pool that stores every result"
            with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
                pool.submit(_store, os.path.join(d, "first")).result()
                for f in [pool.submit(_store, os.path.join(d, str(i))) for i in range(WIDE)]:
                    f.result()

        def ours():
            run = wide(local_run=True, progress=False)
            assert run.state == "completed", run

        ours()
        b_min, b_med = best(baseline)
        o_min, o_med = best(ours)
    print(f"fan-out of {WIDE} no-op tasks, the whole call (trace, save, run, record):")
    row("wall time, best of 5", o_min, b_min)
    row("wall time, median of 5", o_med, b_med)
    print("  target <= 0.3 s; baseline: a process pool pickling each result to a file")


def bench_sleep():
    def baseline():
        with ProcessPoolExecutor(max_workers=8) as pool:
            list(pool.map(nap, [0.5] * 8))

    def ours():
        sleepers(local_run=True, progress=False)

    ours()
    b_min, _ = best(baseline, 3)
    o_min, o_med = best(ours, 3)
    print("8 independent tasks that each sleep 0.5 s:")
    row("wall time, best of 3", o_min, b_min)
    print(f"  median {o_med:.3f} s; target <= 0.55 s")


def bench_dataframe():
    import numpy as np
    import pandas as pd

    rows = 320 * 2**20 // (8 * 8)  # 8 float64 columns -> 320 MiB

    def make_df():
        rng = np.random.default_rng(0)
        return pd.DataFrame(rng.random((rows, 8)), columns=[f"c{i}" for i in range(8)])

    @task()
    def make():
        df = make_df()
        print(time.time())  # the moment the value leaves the task's code
        return df

    @task()
    def use(df):
        return df.shape

    @workflow(name="bench dataframe")
    def passing():
        use(make())

    df = make_df()
    print(f"DataFrame of {df.memory_usage(deep=True).sum() / 2**20:.0f} MiB passed between two tasks:")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "df.pkl")

        def baseline():
            with open(path, "wb") as f:
                pickle.dump(df, f, protocol=5)
            with open(path, "rb") as f:
                pickle.load(f)

        b_min, _ = best(baseline, 3)
    df = None  # free it before the runs

    def ours():
        run = passing(local_run=True, progress=False)
        assert run.result("use") == (rows, 8)
        returned = float(run.logs("make").split()[-1])
        [use_task] = [t for t in run.run_details()["tasks"] if t["name"] == "use"]
        # From make's return to use's first line: pickling, writing, the controller's turn,
        # reading and unpickling - everything that passing the value costs.
        return use_task["start_time"].timestamp() - returned

    times = [ours() for _ in range(3)]
    print(f"  make's return -> use's first line: {', '.join(f'{t:.3f}' for t in times)} s")
    row("passing (store + load) vs pickle to file + load", min(times), b_min)
    print(f"  ratio {min(times) / b_min:.2f}x; target <= 1.3x")


def bench_cold():
    script = textwrap.dedent("""
        from datatailr import task, workflow

        @task()
        def one():
            return 1

        @task()
        def two(x):
            return x + 1

        @workflow(name="cold start")
        def wf():
            two(one())

        if __name__ == "__main__":
            assert wf(local_run=True).result("two") == 2
    """)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "script.py"
        path.write_text(script)
        env = {**os.environ, "DATATAILR_HOME": str(Path(d) / "home"), "PYTHONPATH": str(ROOT)}

        def run(args):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
            return time.perf_counter() - t0

        run([str(path)])  # first run creates the database
        bare = min(run(["-c", "pass"]) for _ in range(5))
        imp = min(run(["-c", "import datatailr"]) for _ in range(5))
        whole = min(run([str(path)]) for _ in range(5))
    print("cold interpreter:")
    row("`import datatailr` (process incl. startup)", imp, bare)
    print(f"  import alone {imp - bare:.3f} s; target < 0.2 s")
    row("`python script.py`, a 2-task local run", whole, bare)
    print("  target < 1 s in total")


BENCHES = {"fanout": bench_fanout, "wide": bench_wide, "sleep": bench_sleep,
           "dataframe": bench_dataframe, "cold": bench_cold}

if __name__ == "__main__":
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    for name in sys.argv[1:] or list(BENCHES):
        BENCHES[name]()
