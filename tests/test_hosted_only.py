"""Hosted-only names: accepted, recorded, and one clear error when asked the impossible."""

from __future__ import annotations

import sys

import pytest

import datatailr
from datatailr import Budget, Cost, Image, Node
from datatailr.errors import HostedOnlyError
from datatailr.excel import Addin, Queue


def hosted_message(call) -> str:
    with pytest.raises(HostedOnlyError) as caught:
        call()
    return str(caught.value)


def test_budget_and_cost():
    budget = Budget("team")
    assert (budget.name, repr(budget)) == ("team", "Budget(name='team')")
    assert hosted_message(lambda: budget.usage_usd) == (
        "Budget('team').usage_usd needs the hosted Datatailr platform; this local platform "
        "cannot do it.")
    assert hosted_message(Budget.ls).startswith("Budget.ls() needs the hosted Datatailr platform")
    assert hosted_message(Cost.view) == (
        "Cost.view() (the hosted platform's billing) needs the hosted Datatailr platform; this "
        "local platform cannot do it. Local runs cost nothing to report.")
    with pytest.raises(ValueError):
        Budget("")


def test_node():
    node = Node("compute-node-1")
    assert node.name == "compute-node-1"
    assert hosted_message(lambda: node.drain()) == (
        "Node('compute-node-1').drain needs the hosted Datatailr platform; this local platform "
        "cannot do it. Local runs use this machine, or the Dask cluster in DATATAILR_EXECUTOR.")
    assert hosted_message(Node.ls).startswith("Node.ls() needs the hosted")


def test_remote_login_helpers():
    assert datatailr.is_remote_logged_in() is False
    assert hosted_message(datatailr.get_remote_base_url).startswith(
        "get_remote_base_url() (a `datatailr login` session) needs the hosted")
    assert hosted_message(lambda: datatailr.construct_remote_base_url("svc")).startswith(
        "construct_remote_base_url('svc') needs the hosted")
    assert datatailr.is_dt_installed() is False
    assert datatailr.get_dt_env() is datatailr.Environment.DEV
    assert datatailr.__provider__ == "local"


def test_image_is_a_record(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pandas>=2\nnumpy\n")
    image = Image(python_requirements=["pandas", "numpy"], build_script_pre="RUN echo hi")
    assert image.python_requirements == "pandas\nnumpy"
    assert image.python_version == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert Image(python_requirements=str(requirements)).python_requirements == "pandas>=2\nnumpy\n"
    assert Image().from_dict(image.to_dict()) == image
    assert image.name is None and image.last_build_succeeded is None
    with pytest.raises(ValueError):
        Image(python_version="2.7")
    with pytest.raises(ValueError):
        Image(python_requirements=str(tmp_path / "missing.txt"))


def test_excel_addin_functions_are_plain_python_and_run_is_hosted():
    addin = Addin("pricing", "Prices")

    @addin.expose(description="Adds", help="a + b")
    def add(a: int, b: int) -> int:
        return a + b

    assert add(2, 3) == 5
    assert addin.functions == [{"name": "add", "description": "Adds", "help": "a + b",
                                "volatile": False, "streaming": False, "progressbar": False}]
    assert hosted_message(addin.run).startswith(
        "Addin('pricing').run() (the Excel runtime) needs the hosted Datatailr platform")
    assert hosted_message(lambda: Queue("q", 1).push(3)).startswith("Queue('q').push()")


def test_joblib_backend_runs_on_local_processes():
    joblib = pytest.importorskip("joblib")
    from datatailr.joblib import DatatailrPool, register_datatailr

    register_datatailr()
    with joblib.parallel_backend("datatailr", n_jobs=2, worker_memory="2g"):
        squares = joblib.Parallel()(joblib.delayed(pow)(i, 2) for i in range(6))
    assert squares == [0, 1, 4, 9, 16, 25]
    assert hosted_message(DatatailrPool(2).start).startswith("DatatailrPool.start()")
