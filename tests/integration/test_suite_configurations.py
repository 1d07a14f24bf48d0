"""The end-to-end suite of tests/scheduler, run again on the configurations past one machine.

The test functions are the very ones of ``test_local_run`` and ``test_agent`` (imported, so a
test added there runs here too); only ``home`` differs: it also points DATATAILR_EXECUTOR,
DATATAILR_STORAGE_URL and DATATAILR_DB_URL at a Dask LocalCluster, a storage URL served by
fsspec, and a real PostgreSQL database.

Local runs go through the four configurations (local default, dask + file storage, postgres
metadata, all three); deploys, the agent and reruns (slow: a process per run; their local
configuration is tests/scheduler itself) through the one that has all three, which is what
a team past one machine runs - with its agent started beforehand, as a shared database never
has a deploy start one.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import config_param
from tests.scheduler import test_agent, test_local_run

#: tests that do not depend on the configuration, left to tests/scheduler (with why)
NOT_REPEATED = {
    # waits for a wall-clock minute; schedules go through the same agent path as deploys
    "test_a_schedule_fires_in_real_time",
    # the detached agent and its lock file are per home, whatever the configuration
    "test_deploy_through_a_pipe_returns_without_waiting_for_the_agent",
    "test_two_agents_cannot_share_a_home",
}

#: agent tests that drive an Agent of their own (with the test's clock): no background agent
DRIVE_THEIR_OWN_AGENT = {
    "test_schedule_fires_once_per_due_time_and_catches_up_once",
    "test_expire_after_ages_out_results",
}

AGENT_TESTS = set()
for _module in (test_local_run, test_agent):
    for _name, _function in vars(_module).items():
        if _name.startswith("test_") and callable(_function) and _name not in NOT_REPEATED:
            globals()[_name] = _function
            if _module is test_agent:
                AGENT_TESTS.add(_name)
del _module, _name, _function


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ in AGENT_TESTS:
        names: tuple[str, ...] = ("all",)
    else:
        names = ("local", "dask", "postgres", "all", "s3", "s3-dask")
    metafunc.parametrize("configuration", [config_param(n) for n in names])


@pytest.fixture
def home(home, configuration, configure, request):
    settings = configure(configuration)
    name = request.function.__name__
    if name in AGENT_TESTS and name not in DRIVE_THEIR_OWN_AGENT and \
            "DATATAILR_DB_URL" in settings:
        # A shared database: deploys start no agent (the team runs its own), so the team's
        # agent is started here, as its machine would have it running.
        from datatailr.scheduler.agent import start_agent

        start_agent()
    return home
