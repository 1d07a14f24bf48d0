"""The pure run state machine."""

from datatailr.engine.scheduling import RunGraph

# a -> b -> d ; a -> c -> d ; e independent
DEPS = {0: (), 1: (0,), 2: (0,), 3: (1, 2), 4: ()}


def test_ready_tasks_follow_the_dependencies():
    g = RunGraph(DEPS)
    assert g.take_ready() == [0, 4]
    assert g.take_ready() == []
    assert g.complete(0) == [1, 2]
    assert g.take_ready() == [1, 2]
    assert g.complete(1) == []
    assert g.complete(2) == [3]
    assert g.take_ready() == [3]
    g.complete(3)
    assert not g.finished
    g.complete(4)
    assert (g.finished, g.outcome()) == (True, "completed")


def test_a_failure_skips_everything_downstream_but_not_independent_branches():
    g = RunGraph(DEPS)
    g.take_ready()
    g.complete(0)
    g.take_ready()
    assert g.fail(1) == [3]
    g.complete(2)
    g.complete(4)
    assert g.state == {0: "completed", 1: "failed", 2: "completed", 3: "did_not_run",
                       4: "completed"}
    assert (g.finished, g.outcome()) == (True, "failed")


def test_reused_tasks_start_completed():
    g = RunGraph(DEPS, reused=[0, 1])
    assert g.take_ready() == [2, 4]
    assert g.state[1] == "completed"


def test_retry_requeues_and_stop_ends_everything():
    g = RunGraph(DEPS)
    assert g.take_ready() == [0, 4]
    g.requeue(0)
    assert g.take_ready() == [0]
    assert g.stop_all() == ([0, 4], [1, 2, 3])
    assert (g.finished, g.outcome()) == (True, "stopped")
