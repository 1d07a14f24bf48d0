"""The daily sales report, the docs' first example.

`python examples/daily_sales_report.py` deploys it to the local agent; `--local` runs it here
and now instead."""

import sys

from datatailr import task, workflow


@task()
def fetch_data():
    print("fetching the day's sales")
    return {"sales": [100, 200, 150]}


@task()
def calculate_total(data):
    total = sum(data["sales"])
    print(f"total: {total}")
    return total


@workflow(name="daily_sales_report")
def sales_pipeline():
    data = fetch_data()
    calculate_total(data)


if __name__ == "__main__":
    if "--local" in sys.argv:
        sales_pipeline(local_run=True)
    else:
        sales_pipeline()
