"""Small workflows the CLI tests fill a real store with, named by what they are."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from datatailr import Schedule, task, workflow

# ---------------------------------------------------------------- the product page's sales report


@task()
def fetch_data():
    print("fetching sales")
    return {"sales": [100, 200, 150]}


@task()
def calculate_total(data):
    total = sum(data["sales"])
    print("summing 3 days")
    print(f"total {total}")
    print("rounding to cents", file=sys.stderr)
    return total


@workflow(name="Daily Sales Report")
def daily_sales_report():
    calculate_total(fetch_data())


# ---------------------------------------------------------------- a task that raises


@task()
def explode(data):
    print("about to fail")
    raise RuntimeError(f"no sales on {len(data['sales'])} days")


@workflow(name="Flaky Pipeline")
def flaky_pipeline():
    calculate_total(explode(fetch_data()))


# ---------------------------------------------------------------- the product page's complex pipeline


@task()
def get_number():
    return 42


@task()
def add(a, b):
    return a + b


@task()
def reduce_list(*numbers):
    return sum(numbers)


@workflow("Complex Pipeline")
def complex_pipeline():
    add(get_number().alias("my_number"), 13).alias("first_addition")
    total_2 = reduce_list(*[get_number().alias(f"num_{i}") for i in range(2)])
    add(total_2, 1).alias("add_one")


# ---------------------------------------------------------------- a DataFrame result


@task()
def sales_frame():
    import pandas as pd

    return pd.DataFrame({"day": ["mon", "tue", "wed"], "sales": [100, 200, 150]})


@workflow(name="Frame Report")
def frame_report():
    sales_frame()


# ---------------------------------------------------------------- controlled by a flag file


@task()
def fail_until_flag(data, flag):
    if not Path(flag).exists():
        raise RuntimeError(f"flag {Path(flag).name} is missing")
    print("flag found")
    return data


@workflow(name="Fixable Pipeline")
def fixable_pipeline(flag):
    calculate_total(fail_until_flag(fetch_data(), flag))


@task()
def wait_for_flag(flag):
    print("waiting for the flag", flush=True)
    deadline = time.monotonic() + 60
    while not Path(flag).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{flag} never appeared")
        time.sleep(0.05)
    print("flag seen", flush=True)
    return "done"


@workflow(name="Waiting Pipeline")
def waiting_pipeline(flag):
    wait_for_flag(flag)


# ---------------------------------------------------------------- on a schedule


@workflow(name="Morning Report", schedule=Schedule(cron_expression="0 6 * * 1-5"))
def morning_report():
    calculate_total(fetch_data())
