"""Benchmark of data between tasks: results with out-of-band buffers, mapped by their readers.

    .venv/bin/python bench/bench_data.py [w3|w6] [--repeat 3]

W3: a 320 MiB DataFrame returned by task A and taken by task B; the figure is the transfer,
from A's last line (``return``) to B's first line (the value in hand): storing, the
scheduler's turn, loading. W6: one 50 MiB array made by one task and read by 100 tasks (each
sums it); the figure is the whole run.

Each is measured, alternating round by round in one run, for: datatailr as it is (large buffers
out of band, mapped by readers); datatailr with every buffer kept inside the pickle (what every
result was before; ``blobs.OUT_OF_BAND_MIN`` raised, which the forked workers inherit); dask's
threaded scheduler (shared memory, nothing stored); a process pool passing pickle files (the
value dumped to a file by one process and loaded by the next); and, for W3, the floor of
dumping the frame to a file and loading it back in one process. Best of ``--repeat``; the load
average is printed beside the figures. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DATATAILR_HOME"] = tempfile.mkdtemp(prefix="dt-bench-data-")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from datatailr import task, workflow  # noqa: E402
from datatailr.store import blobs  # noqa: E402

ROWS = 320 * 2**20 // (8 * 8)  # 8 float64 columns -> 320 MiB
ARRAY_WORDS = 50 * 2**20 // 8  # float64 -> 50 MiB
READERS = 100
SCRATCH = Path(tempfile.mkdtemp(prefix="dt-bench-data-files-"))


def make_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.random((ROWS, 8)), columns=[f"c{i}" for i in range(8)])


def make_array() -> np.ndarray:
    return np.arange(ARRAY_WORDS, dtype="float64")


# -- datatailr --------------------------------------------------------------------------------


@task()
def frame_a():
    df = make_frame()
    print(time.time())  # the moment the value leaves A's code
    return df


@task()
def frame_b(df):
    print(time.time())  # the value is in B's hands
    return df.shape


@workflow(name="bench data w3")
def w3_workflow():
    frame_b(frame_a())


@task()
def array_source():
    return make_array()


@task()
def array_reader(a, i):
    return float(a[i])


@workflow(name="bench data w6")
def w6_workflow():
    a = array_source()
    for i in range(READERS):
        array_reader(a, i).alias(f"reader_{i}")


def dt_w3() -> float:
    run = w3_workflow(local_run=True, progress=False)
    assert run.result("frame_b") == (ROWS, 8), run
    sent = float(run.logs("frame_a").split()[-1])
    got = float(run.logs("frame_b").split()[-1])
    return got - sent


def dt_w6() -> float:
    t0 = time.perf_counter()
    run = w6_workflow(local_run=True, progress=False)
    seconds = time.perf_counter() - t0
    assert run.state == "completed", run
    return seconds


def in_band(fn):
    """``fn`` with every buffer kept inside the pickle (the store as it was)."""
    def run() -> float:
        saved = blobs.OUT_OF_BAND_MIN
        blobs.OUT_OF_BAND_MIN = 2**62
        try:
            return fn()
        finally:
            blobs.OUT_OF_BAND_MIN = saved
    return run


# -- dask threaded ----------------------------------------------------------------------------


def dask_w3() -> float:
    import dask

    stamps: dict[str, float] = {}

    def a():
        df = make_frame()
        stamps["sent"] = time.time()
        return df

    def b(df):
        stamps["got"] = time.time()
        return df.shape

    shape = dask.delayed(b)(dask.delayed(a)()).compute(scheduler="threads")
    assert shape == (ROWS, 8)
    return stamps["got"] - stamps["sent"]


def dask_w6() -> float:
    import dask

    t0 = time.perf_counter()
    a = dask.delayed(make_array)()
    values = dask.compute(*[dask.delayed(lambda x, i: float(x[i]))(a, i) for i in range(READERS)],
                          scheduler="threads")
    assert len(values) == READERS
    return time.perf_counter() - t0


# -- a process pool passing pickle files -------------------------------------------------------


def _pool_a(path: str) -> float:
    df = make_frame()
    sent = time.time()
    with open(path, "wb") as f:
        pickle.dump(df, f, protocol=5)
    return sent


def _pool_b(path: str) -> float:
    with open(path, "rb") as f:
        df = pickle.load(f)
    assert df.shape == (ROWS, 8)
    return time.time()


def pool_w3() -> float:
    path = str(SCRATCH / "w3.pkl")
    with ProcessPoolExecutor(2) as pool:
        sent = pool.submit(_pool_a, path).result()
        got = pool.submit(_pool_b, path).result()
    return got - sent


def _pool_source(path: str) -> None:
    with open(path, "wb") as f:
        pickle.dump(make_array(), f, protocol=5)


def _pool_reader(path: str, i: int) -> float:
    with open(path, "rb") as f:
        return float(pickle.load(f)[i])


def pool_w6() -> float:
    path = str(SCRATCH / "w6.pkl")
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        pool.submit(_pool_source, path).result()
        values = list(pool.map(_pool_reader, [path] * READERS, range(READERS)))
    assert len(values) == READERS
    return time.perf_counter() - t0


def floor_w3() -> float:
    """Dump the frame to a file and load it back, in one process (make it outside the time)."""
    df = make_frame()
    path = SCRATCH / "floor.pkl"
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        pickle.dump(df, f, protocol=5)
    del df
    with open(path, "rb") as f:
        pickle.load(f)
    return time.perf_counter() - t0


def measure(title: str, systems: dict, repeat: int) -> None:
    times: dict[str, list[float]] = {name: [] for name in systems}
    for fn in systems.values():  # once each to warm imports and the page cache
        fn()
    for _ in range(repeat):
        for name, fn in systems.items():
            times[name].append(fn())
    load = os.getloadavg()
    print(f"\n{title} (best of {repeat}; load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, "
          f"{os.cpu_count()} cores):")
    dask_best = min(times["dask threaded"])
    for name, ts in times.items():
        best = min(ts)
        ratio = f"{best / dask_best:6.1f}x dask threaded" if dask_best > 0.001 else ""
        print(f"  {name:<48} {best * 1000:9.1f} ms   (all: "
              f"{', '.join(f'{t * 1000:.0f}' for t in ts)})  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", help="w3 and/or w6 (default: both)")
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    opts.which = opts.which or ["w3", "w6"]
    if set(opts.which) - {"w3", "w6"}:
        parser.error(f"workloads are w3 and w6, not {sorted(set(opts.which) - {'w3', 'w6'})}")
    if "w3" in opts.which:
        measure("W3: a 320 MiB DataFrame from task A to task B, A's return -> B's first line", {
            "datatailr (buffers out of band, mapped)": dt_w3,
            "datatailr (buffers in the pickle, as before)": in_band(dt_w3),
            "dask threaded": dask_w3,
            "process pool + pickle files": pool_w3,
            "floor: pickle.dump to a file + pickle.load": floor_w3,
        }, opts.repeat)
    if "w6" in opts.which:
        measure(f"W6: one 50 MiB array read by {READERS} tasks, the whole run", {
            "datatailr (buffers out of band, mapped)": dt_w6,
            "datatailr (buffers in the pickle, as before)": in_band(dt_w6),
            "dask threaded": dask_w6,
            "process pool + pickle files": pool_w6,
        }, opts.repeat)


if __name__ == "__main__":
    main()
