"""Reading python_requirements and checking them against an environment."""

from __future__ import annotations

import importlib.metadata

import pytest

from datatailr.errors import InvalidArgumentError
from datatailr.image import environment as env_mod


def test_requirements_from_a_list_a_string_a_file_and_a_pyproject(tmp_path):
    assert env_mod.read_requirements(["six==1.15.0", " pandas>=2 "]) == ["six==1.15.0",
                                                                          "pandas>=2"]
    assert env_mod.read_requirements("six==1.15.0 rich") == ["six==1.15.0", "rich"]
    assert env_mod.read_requirements("pandas >= 2\nsix==1.15.0, rich") == [
        "pandas >= 2", "six==1.15.0", "rich"]
    assert env_mod.read_requirements("") == []
    assert env_mod.read_requirements("auto") == "auto"
    (tmp_path / "base.txt").write_text("click>=8\n")
    req = tmp_path / "requirements.txt"
    req.write_text("# pinned\nsix==1.15.0  # old\n\n-r base.txt\n")
    assert env_mod.read_requirements(str(req)) == ["six==1.15.0", "click>=8"]
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["six>=1.10", "rich"]\n')
    assert env_mod.read_requirements(str(pyproject)) == ["six>=1.10", "rich"]


def test_bad_requirements_are_refused_at_once_naming_them(tmp_path):
    with pytest.raises(InvalidArgumentError,
                       match=r"'six >= = 1' \(from the list\) is not a requirement"):
        env_mod.read_requirements(["six >= = 1"])
    with pytest.raises(InvalidArgumentError, match="no such file"):
        env_mod.read_requirements(str(tmp_path / "requirements.txt"))
    with pytest.raises(InvalidArgumentError, match="give a list of requirements"):
        env_mod.read_requirements(42)


def test_unmet_names_missing_and_mismatched_distributions():
    six = importlib.metadata.version("six")
    assert env_mod.unmet([f"six=={six}", "six>=1"]) == []
    assert env_mod.unmet(["six==0.0.1", "datatailr-no-such-thing"]) == [
        ("six==0.0.1", six), ("datatailr-no-such-thing", None)]
    assert env_mod.unmet(['six==0.0.1; python_version < "3"']) == []  # marker: not here


def test_auto_pins_the_installed_distributions_the_code_imports():
    sources = [b"import six\nfrom rich.console import Console\nimport os, helper\n"
               b"from . import sibling\n"]
    assert env_mod.infer_requirements(sources, ["helper"]) == [
        f"rich=={importlib.metadata.version('rich')}",
        f"six=={importlib.metadata.version('six')}"]


def test_names_and_the_python_version_are_said_as_packaging_and_platform_say_them():
    import platform

    from packaging.utils import canonicalize_name

    names = ["Django", "zope.interface", "Foo_Bar.baz", "typing-extensions", "A__B--C..d", "x"]
    assert [env_mod._canonical(n) for n in names] == [str(canonicalize_name(n)) for n in names]
    assert env_mod._python_version() == platform.python_version()
