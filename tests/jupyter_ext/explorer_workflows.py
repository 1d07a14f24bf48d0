"""Fixture workflows for the explorer's tests, named by what they are."""

import os
import sys
import time

from datatailr import task, workflow

SCRIPT = "<script>alert('from stdout')</script>"
IMG = '<img src=x onerror="alert(1)">'


@task()
def make_frame():
    import pandas as pd

    print("making the frame")
    print(SCRIPT)
    print(IMG, file=sys.stderr)
    return pd.DataFrame({"region": ["north", "south", "<b>east</b>"], "sales": [100, 250, 75]})


@task()
def summarize(frame):
    print(f"rows: {len(frame)}")
    return {"total": int(frame["sales"].sum()), "note": "<i>not italic</i>"}


@workflow(name="Frame Report")
def frame_report():
    summarize(make_frame())


@task()
def wait_for_file(path):
    """Blocks until ``path`` exists: a run that stays running until the test says so."""
    print("waiting for the gate", flush=True)
    while not os.path.exists(path):
        time.sleep(0.05)
    print("gate open", flush=True)
    return "done"


@task()
def after_gate(value):
    return value.upper()


@workflow(name="Gated Pipeline")
def gated_pipeline(path):
    after_gate(wait_for_file(path))


@task()
def boom():
    print("about to fail")
    raise ZeroDivisionError("cannot divide by zero")


@workflow(name="Failing Pipeline")
def failing_pipeline():
    boom()


@task()
def extract():
    return [1, 2, 3]


@task()
def load(rows):
    return len(rows)


@workflow(name="Nightly Load", schedule="0 6 * * *")
def nightly_load():
    load(extract())


@task()
def step(*inputs):
    return len(inputs)


@workflow(name="Wide Fan Out")
def wide_fan_out(width=60, depth=4):
    """``depth`` layers of ``width`` tasks, each using two of the layer before: hundreds of tasks."""
    layer = [step().alias(f"source_{i}") for i in range(width)]
    for d in range(1, depth):
        layer = [step(layer[i], layer[(i * 7 + 3) % width]).alias(f"l{d}_task_{i}")
                 for i in range(width)]
    step(*layer).alias("collect")


@workflow(name="Frame Report")
def frame_report_v2():
    """Frame Report's second version: one more branch."""
    summarize(make_frame())
    load(extract())


@task()
def talk():
    for i in range(1, 20_002):
        print(f"line {i} \x1b[31mred\x1b[0m")
    print("done talking", file=sys.stderr)


@workflow(name="Chatty")
def chatty():
    talk()


@task(retries=2, retry_delay=0.05)
def fails_twice(marker_dir):
    """Fails on its first two attempts, succeeds on the third (counts them in files)."""
    attempt = len(os.listdir(marker_dir)) + 1
    open(os.path.join(marker_dir, f"attempt-{attempt}"), "w").close()
    print(f"attempt {attempt} starts", flush=True)
    if attempt < 3:
        print(f"attempt {attempt} fails", file=sys.stderr, flush=True)
        raise RuntimeError(f"transient failure {attempt}")
    return attempt


@workflow(name="Flaky Twice")
def flaky_twice(marker_dir):
    fails_twice(marker_dir)


@task(retries=1, retry_delay=0.05)
def retried_at_gates(path):
    """Each attempt waits for its own gate file (``path``.1, ``path``.2); attempt 1 then fails,
    attempt 2 returns: a retry to watch while it runs."""
    attempt = 2 if os.path.exists(f"{path}.tried") else 1
    open(f"{path}.tried", "a").close()
    print(f"attempt {attempt} waits", flush=True)
    while not os.path.exists(f"{path}.{attempt}"):
        time.sleep(0.05)
    if attempt == 1:
        print("attempt 1 fails", flush=True)
        raise RuntimeError("the first attempt fails")
    print("attempt 2 is done", flush=True)
    return attempt


@workflow(name="Retried Live")
def retried_live(path):
    retried_at_gates(path)
