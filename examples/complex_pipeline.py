"""The "Complex Pipeline" example: aliases, a fan-in of five parallel tasks, three fan-out tasks.
`python examples/complex_pipeline.py` deploys it; `--local` runs it here."""

import sys
import time

from datatailr import task, workflow


@task()
def get_number():
    time.sleep(0.2)  # long enough to see num_0..num_4 overlap in the timings
    return 42


@task()
def add(a, b):
    return a + b


@task()
def reduce_list(*numbers):
    return sum(numbers)


@workflow("Complex Pipeline")
def complex_pipeline():
    total_1 = add(get_number().alias("my_number"), 13).alias("first_addition")  # noqa: F841
    total_2 = reduce_list(*[get_number().alias(f"num_{i}") for i in range(5)])
    add(total_2, 1).alias("add_one")
    add(total_2, 2).alias("add_two")
    add(total_2, 3).alias("add_three")


if __name__ == "__main__":
    if "--local" in sys.argv:
        complex_pipeline(local_run=True)
    else:
        complex_pipeline()
