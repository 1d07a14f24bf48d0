"""Tracing workflow bodies into DAGs: pure, no disk."""

from __future__ import annotations

import collections

import pytest

from datatailr.core.dag import Ref, Task, substitute, task, trace
from datatailr.core.resources import Resources
from datatailr.errors import (
    CyclicDependencyError,
    DuplicateJobNameError,
    InvalidArgumentError,
    MissingDagError,
    TaskUsageError,
)
from tests.fixtures import spec_workflows


def shape(dag):
    return [(n.id, n.name, n.dependencies) for n in dag.nodes]


def test_spec_sales_pipeline_is_two_nodes_and_one_edge():
    dag = trace(spec_workflows.sales_pipeline.body)
    assert shape(dag) == [(0, "fetch_data", ()), (1, "calculate_total", (0,))]
    assert dag.nodes[1].args == (Ref(0),)


def test_spec_complex_pipeline_graph():
    dag = trace(spec_workflows.complex_pipeline.body)
    assert shape(dag) == [
        (0, "my_number", ()),
        (1, "first_addition", (0,)),
        (2, "num_0", ()), (3, "num_1", ()), (4, "num_2", ()), (5, "num_3", ()),
        (6, "num_4", ()),
        (7, "reduce_list", (2, 3, 4, 5, 6)),
        (8, "add_one", (7,)), (9, "add_two", (7,)), (10, "add_three", (7,)),
    ]
    assert dag.nodes[1].args == (Ref(0), 13)
    assert dag.nodes[1].constants == {"b": "13"}
    assert dag.nodes[7].args == (Ref(2), Ref(3), Ref(4), Ref(5), Ref(6))


@task
def f(x=None):
    return x


@task()
def g(*args, **kwargs):
    return args, kwargs


def test_task_outside_a_workflow_is_the_plain_function():
    assert f(3) == 3
    assert g(1, b=2) == ((1,), {"b": 2})


def test_repeated_calls_get_numbered_names_that_stay_unique_after_alias():
    def body():
        a = f()
        b = f()
        a.alias("x")
        c = f()
        d = f()
        return a, b, c, d

    dag = trace(body)
    assert dag.names == ["x", "f-1", "f-2", "f-3"]


def test_default_name_skips_a_name_taken_by_an_alias():
    def body():
        f().alias("f-1")
        f()

    assert trace(body).names == ["f-1", "f-2"]


def test_alias_to_a_taken_name_is_an_error_naming_both():
    def body():
        f()
        f().alias("f")

    with pytest.raises(DuplicateJobNameError) as info:
        trace(body)
    assert str(info.value) == (
        "Cannot alias task 'f-1' as 'f': task id 0 of this workflow is already named 'f'. "
        "Pick another name."
    )


def test_dependencies_are_found_in_nested_containers():
    Pair = collections.namedtuple("Pair", "left right")

    def body():
        a, b, c, d, e = (f().alias(n) for n in "abcde")
        g([a, (b, {"k": c})], {d}, key={"nested": [e]}, pair=Pair(a, 1))

    dag = trace(body)
    node = dag.nodes[5]
    assert node.dependencies == (0, 1, 2, 3, 4)
    assert node.args == ([Ref(0), (Ref(1), {"k": Ref(2)})], {Ref(3)})
    assert node.kwargs == {"key": {"nested": [Ref(4)]}, "pair": Pair(Ref(0), 1)}
    values = {0: "A", 1: "B", 2: "C", 3: "D", 4: "E"}
    assert substitute(node.args, values) == (["A", ("B", {"k": "C"})], {"D"})
    assert substitute(node.kwargs, values) == {"key": {"nested": ["E"]}, "pair": Pair("A", 1)}


def test_ordering_edges_without_data():
    def body():
        a, b, c, d = (f().alias(n) for n in "abcd")
        a >> b
        c << b
        [a, b] >> d

    dag = trace(body)
    assert shape(dag) == [(0, "a", ()), (1, "b", (0,)), (2, "c", (1,)), (3, "d", (0, 1))]
    assert dag.nodes[3].data_dependencies == ()


def test_a_cycle_of_orderings_is_refused():
    def body():
        a = f().alias("a")
        b = f(a).alias("b")
        b >> a

    with pytest.raises(CyclicDependencyError) as info:
        trace(body)
    assert "'a', 'b'" in str(info.value)


def test_an_empty_body_is_missing_a_dag():
    with pytest.raises(MissingDagError):
        trace(lambda: None)


@pytest.mark.parametrize("misuse, words", [
    (lambda n: bool(n), "bool() / if"),
    (lambda n: [x for x in n], "iteration"),
    (lambda n: len(n), "len()"),
    (lambda n: n["sales"], "indexing"),
    (lambda n: n + 1, "arithmetic +"),
    (lambda n: sum(n), "iteration"),
    (lambda n: n < 3, "comparison <"),
])
def test_using_a_node_as_its_value_says_to_move_the_logic_into_a_task(misuse, words):
    def body():
        misuse(f())

    with pytest.raises(TaskUsageError) as info:
        trace(body)
    message = str(info.value)
    assert words in message
    assert "Move this logic into a @task function" in message


def test_attribute_of_a_node_is_refused():
    with pytest.raises(TaskUsageError, match="has no attribute 'sales'"):
        trace(lambda: f().sales)


def test_wrong_call_signature_points_at_the_users_line():
    def body():
        f(1, 2)

    with pytest.raises(TypeError) as info:
        trace(body)
    assert "f(x=None): too many positional arguments (called at " in str(info.value)
    assert "test_dag.py:" in str(info.value)


def test_missing_argument_is_reported_at_trace_time():
    @task()
    def needs(a, b):
        return a

    with pytest.raises(TypeError, match="missing required argument 'b'"):
        trace(lambda: needs(1))


def test_system_arguments_are_left_for_run_time():
    @task()
    def report(data, rundate, job_name="x"):
        return data

    dag = trace(lambda: report(f()))
    assert dag.nodes[1].system_args == ("rundate", "job_name")  # defaults are filled too


def test_per_call_settings_chain():
    def body():
        f().alias("a").set_resources(memory="1g", cpu=2).update_env_vars({"A": 1})

    node = trace(body).nodes[0]
    assert (node.name, node.resources, node.env_vars) == (
        "a", Resources(memory="1g", cpu=2.0), {"A": "1"})


def test_task_options_and_bad_ones():
    @task(memory="150m", cpu=0.1, retries=2, retry_delay=1, timeout=5)
    def h():
        return 1

    node = trace(lambda: h()).nodes[0]
    assert (node.resources, node.retries, node.retry_delay, node.timeout) == (
        Resources("150m", 0.1), 2, 1.0, 5.0)
    with pytest.raises(InvalidArgumentError, match="retries=-1"):
        task(retries=-1)
    with pytest.raises(InvalidArgumentError, match="is not a size"):
        task(memory="lots")


def test_a_node_is_a_task_and_cannot_be_pickled():
    import pickle

    def body():
        node = f()
        assert isinstance(node, Task)
        pickle.dumps(node)

    with pytest.raises(TaskUsageError, match="cannot be pickled"):
        trace(body)


def test_tracing_does_not_leak_out_of_the_body():
    trace(lambda: f())
    assert f(5) == 5


def test_memory_given_explicitly_is_a_limit_and_the_default_is_not():
    @task(memory="150m")
    def limited():
        return 1

    @task(cpu=2)
    def cpu_only():
        return 1

    def body():
        limited()
        cpu_only()
        cpu_only().alias("set").set_resources(memory="1g")
        cpu_only().alias("set_cpu").set_resources(cpu=4)
        cpu_only().alias("object").set_resources(Resources(memory="64m"))
        cpu_only().alias("object_cpu").set_resources(Resources(cpu=1))
        limited().alias("limited_cpu").set_resources(cpu=3)

    dag = trace(body)
    assert {n.name: n.memory_limit for n in dag.nodes} == {
        "limited": 150 * 2**20, "cpu_only": None, "set": 2**30, "set_cpu": None,
        "object": 64 * 2**20, "object_cpu": None, "limited_cpu": 150 * 2**20}
    # the default still shows as the memory a task asked for
    assert dag.by_name("cpu_only").resources == Resources(memory="128m", cpu=2.0)
    assert (Resources().memory, Resources().memory_limit, Resources("128m").memory_limit) == (
        "128m", None, 128 * 2**20)
    assert type(Resources().memory) is str
