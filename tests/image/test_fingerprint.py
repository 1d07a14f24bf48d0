"""Task fingerprints: code and constant inputs, not line numbers or neighbours."""

from __future__ import annotations

from datatailr.image.fingerprint import task_fingerprint


def define(source: str) -> dict:
    namespace: dict = {"__name__": "__main__"}
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


BASE = '''
LIMIT = 3

def helper(x):
    return x * 2

def task_a(xs):
    return [helper(x) for x in xs if x in {"a", "b"} or x < LIMIT]

def task_b(xs):
    return sum(xs)
'''


def fp(namespace, name, *args):
    return task_fingerprint(namespace[name], args, {}, {})


def test_unchanged_code_has_the_same_fingerprint_wherever_it_sits():
    one, moved = define(BASE), define("\n\n# a comment\n" + BASE)
    assert fp(one, "task_a", 1) == fp(moved, "task_a", 1)
    assert fp(one, "task_b") == fp(define(BASE.replace("sum(xs)", "sum(xs) ")), "task_b")


def test_what_the_code_calls_and_reads_counts_and_its_neighbours_do_not():
    one = define(BASE)
    assert fp(one, "task_a") != fp(define(BASE.replace("x * 2", "x * 3")), "task_a")
    assert fp(one, "task_a") != fp(define(BASE.replace("LIMIT = 3", "LIMIT = 4")), "task_a")
    edited_b = define(BASE.replace("sum(xs)", "max(xs)"))
    assert fp(one, "task_a") == fp(edited_b, "task_a")
    assert fp(one, "task_b") != fp(edited_b, "task_b")


def test_constant_inputs_and_declared_variables_count():
    one = define(BASE)
    assert fp(one, "task_b", [1, 2]) != fp(one, "task_b", [1, 3])
    assert task_fingerprint(one["task_b"], (), {}, {"A": "1"}) != \
        task_fingerprint(one["task_b"], (), {}, {"A": "2"})


def test_an_attribute_name_is_not_a_global_the_task_reads():
    source = '''
import subprocess

def task_c():
    return subprocess.run(["true"]).returncode
'''
    before = define(source)
    after = define(source)
    after["run"] = object()  # e.g. `run = pipeline(local_run=True)` in the same notebook
    assert fp(before, "task_c") == fp(after, "task_c")
    after["subprocess"] = object()  # the global it does read
    assert fp(before, "task_c") != fp(after, "task_c")
