"""Service, App and ExcelAddin definitions: versions, frozen code, errors, promote, remove."""

from __future__ import annotations

import importlib
import pickle
import sys
import textwrap

import pytest

from datatailr import workflow
from datatailr.core.dag import task
from datatailr.errors import InvalidArgumentError, NotFoundError
from datatailr.scheduler.job import (
    App,
    ExcelAddin,
    ExcelRuntimeError,
    Service,
    freeze_entrypoint,
    list_jobs,
    open_job,
)
from datatailr.scheduler.platform import current_platform

SERVICE_CODE = textwrap.dedent('''
    from .helpers import greeting

    def main(port):
        return greeting(port)
''')


@pytest.fixture
def package(home, tmp_path, monkeypatch):
    """An importable package ``svcpkg`` (service module, helpers, a data file, a streamlit
    page and a module of no known framework) in a folder of its own."""
    root = tmp_path / "code"
    pkg = root / "svcpkg"
    (pkg / "templates").mkdir(parents=True)
    (pkg / "__pycache__").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "api.py").write_text(SERVICE_CODE)
    (pkg / "helpers.py").write_text("def greeting(port):\n    return f'hello on {port}'\n")
    (pkg / "templates" / "index.html").write_text("<h1>hi</h1>")
    (pkg / "__pycache__" / "api.cpython-311.pyc").write_bytes(b"junk")
    (pkg / "page.py").write_text("import streamlit as st\nst.title('x')\n")
    (pkg / "plain.py").write_text("import json\n")
    monkeypatch.syspath_prepend(str(root))
    for name in [m for m in sys.modules if m.startswith("svcpkg")]:
        del sys.modules[name]
    yield pkg
    for name in [m for m in sys.modules if m.startswith("svcpkg")]:
        del sys.modules[name]


def stored_payload(job) -> dict:
    platform = current_platform()
    row = job._version_row()
    return pickle.loads(platform.blobs.get_bytes(row["code_key"]))


def test_a_service_is_saved_as_versions_with_its_package_frozen_by_value(package):
    api = importlib.import_module("svcpkg.api")
    svc = Service(name="Greeting API", entrypoint=api.main, env_vars={"LEVEL": 3},
                  python_requirements="fastapi uvicorn", image="registry/img:1",
                  build_script_pre="apt-get install -y gcc")
    assert svc.save() == (True, "Saved 'Greeting API' version 1 in dev.")
    payload = stored_payload(svc)
    assert sorted(payload["files"]) == ["svcpkg/__init__.py", "svcpkg/api.py",
                                        "svcpkg/helpers.py", "svcpkg/page.py", "svcpkg/plain.py",
                                        "svcpkg/templates/index.html"]
    assert payload["files"]["svcpkg/api.py"] == SERVICE_CODE.encode()
    assert (payload["module"], payload["function"], payload["callable"]) == (
        "svcpkg.api", "main", None)
    (package / "api.py").write_text("def main(port):\n    return 'edited'\n")
    assert stored_payload(svc)["files"]["svcpkg/api.py"] == SERVICE_CODE.encode()
    svc.save()
    loaded = Service("Greeting API", get_existing=True)
    assert loaded.version == 2
    assert [(v["job_version"], v["job_type"], v["entrypoint"], v["framework"])
            for v in loaded.versions()] == [(1, "service", "svcpkg.api:main", None),
                                            (2, "service", "svcpkg.api:main", None)]
    first = Service("Greeting API", get_existing=True, version=1)
    assert first.version == 1
    assert first.env_vars == {"LEVEL": "3"}
    assert first.python_requirements == ["fastapi", "uvicorn"]
    assert first.platform_options["image"] == "registry/img:1"
    assert first.platform_options["build_script_pre"] == "apt-get install -y gcc"
    definition = current_platform().metadata.get_version(
        first._row()["workflow_id"], 1)["definition"]
    assert (definition["job_type"], definition["code"]["files"],
            definition["code"]["by_value"]) == ("service", 6, "source")
    assert [(j["name"], j["job_type"], j["job_version"], j["state"], j["url"], j["health"])
            for j in list_jobs()] == [("Greeting API", "service", 2, None, None, None)]
    assert Service.ls("dev")[0]["slug"] == "greeting-api"
    assert App.ls("dev") == []


def test_a_function_without_a_file_is_pickled_by_value(home):
    def make(offset):
        def main(port):
            return port + offset
        return main

    frozen, info = freeze_entrypoint(make(5))
    payload = pickle.loads(frozen)
    assert (info["by_value"], info["files"], payload["files"]) == ("function", 0, {})
    assert pickle.loads(payload["callable"])(10) == 15


def test_an_app_finds_its_framework_or_says_which_to_name(package):
    page = importlib.import_module("svcpkg.page")
    app = App("Sales Page", entrypoint=page)
    assert (app.framework, app.env_vars) == ("streamlit", {"DATATAILR_FRAMEWORK": "streamlit"})
    app.save()
    assert App("Sales Page", get_existing=True).framework == "streamlit"
    plain = importlib.import_module("svcpkg.plain")
    with pytest.raises(InvalidArgumentError) as err:
        App("Plain", entrypoint=plain)
    assert str(err.value) == (
        f"App('Plain'): cannot tell the framework of {plain!r} from its imports; pass "
        f"framework= one of streamlit, dash, flask, fastapi, panel, voila, jupyter.")
    with pytest.raises(InvalidArgumentError, match="App\\(framework='django'\\): use one of"):
        App("Plain", entrypoint=plain, framework="django")


def test_bad_definitions_fail_at_once_naming_the_fix(package):
    api = importlib.import_module("svcpkg.api")
    with pytest.raises(InvalidArgumentError, match="give the function that starts the server"):
        Service("X", entrypoint=api)
    with pytest.raises(InvalidArgumentError, match="needs entrypoint="):
        Service("X")
    with pytest.raises(InvalidArgumentError, match="add get_existing=True"):
        Service("X", entrypoint=api.main, version=2)
    with pytest.raises(InvalidArgumentError, match="at least one letter or digit"):
        Service("--", entrypoint=api.main)
    with pytest.raises(InvalidArgumentError, match="no importable module 'no_such_module'"):
        App("Y", entrypoint="no_such_module:app", framework="flask")
    with pytest.raises(NotFoundError) as err:
        Service("Missing", get_existing=True)
    assert str(err.value) == ("No Service 'Missing' in environment 'dev'. Services there: "
                              "(none yet).")
    svc = Service("Greeting API", entrypoint=api.main)
    svc.save()
    with pytest.raises(NotFoundError, match="has not started yet: start it with .run()"):
        svc.logs()
    with pytest.raises(NotFoundError, match="has no version 7 in 'dev'; versions: \\[1\\]"):
        Service("Greeting API", get_existing=True, version=7)
    with pytest.raises(InvalidArgumentError, match="job_type='workflow'"):
        list_jobs(job_type="workflow")


def test_a_service_cannot_take_a_workflows_name(package):
    @task()
    def one():
        return 1

    @workflow(name="Greeting API")
    def pipeline():
        one()

    pipeline(local_run=True, progress=False)
    api = importlib.import_module("svcpkg.api")
    with pytest.raises(InvalidArgumentError) as err:
        Service("Greeting API", entrypoint=api.main).save()
    assert str(err.value) == ("'Greeting API' is a workflow in dev, not a service: give the "
                              "service another name, or remove the workflow first.")
    with pytest.raises(NotFoundError, match="'Greeting API' there is a workflow"):
        open_job("Greeting API")
    assert list_jobs() == []


def test_an_excel_addin_is_versioned_and_listed_but_starts_only_on_the_hosted_platform(package):
    api = importlib.import_module("svcpkg.api")
    addin = ExcelAddin(name="Options Pricer", entrypoint=api.main)
    with pytest.raises(ExcelRuntimeError) as err:
        addin.run()
    message = ("ExcelAddin 'Options Pricer' cannot start here: it needs the hosted Datatailr "
               "platform's Excel runtime. Save it with .save() (it is versioned and listed) and "
               "deploy it from the hosted platform.")
    assert str(err.value) == message
    assert isinstance(err.value, NotImplementedError)
    assert list_jobs() == []  # run() refused before saving anything
    addin.save()
    addin.save()
    [listed] = list_jobs()
    assert (listed["name"], listed["job_type"], listed["job_version"], listed["state"]) == (
        "Options Pricer", "excel_addin", 2, None)
    loaded = open_job("options-pricer")
    assert isinstance(loaded, ExcelAddin)
    with pytest.raises(ExcelRuntimeError, match="Excel runtime"):
        loaded.start()
    assert loaded.runs() == []


def test_promote_copies_a_version_to_the_next_environment_and_remove_deletes_it(package):
    api = importlib.import_module("svcpkg.api")
    svc = Service("Greeting API", entrypoint=api.main)
    svc.save()
    svc.save()
    assert svc.promote(version=1) == (
        True, "Promoted 'Greeting API' version 1 from dev to pre: version 1 there.")
    in_pre = Service("Greeting API", environment="pre", get_existing=True)
    assert in_pre.version == 1
    assert stored_payload(in_pre) == stored_payload(Service("Greeting API", get_existing=True,
                                                            version=1))
    assert in_pre.promote()[1] == ("Promoted 'Greeting API' version 1 from pre to prod: "
                                   "version 1 there.")
    in_prod = Service("Greeting API", environment="prod", get_existing=True)
    with pytest.raises(InvalidArgumentError, match="prod, the last environment"):
        in_prod.promote()
    assert in_prod.promote(to="dev")[1].endswith("version 3 there.")
    code_key = in_pre._version_row()["code_key"]
    assert in_pre.remove() == (True, "Removed 'Greeting API' from pre.")
    assert current_platform().blobs.get_bytes(code_key) is None
    assert list_jobs("pre") == []
    assert [j["job_version"] for j in list_jobs("dev")] == [3]
