"""Fixtures for the explorer's browser tests: a real JupyterLab and Debian's chromium.

Everything the server, kernel and agent write stays in pytest's basetemp (HOME, Jupyter's
config/data/runtime dirs, DATATAILR_HOME). Screenshots go to test-artifacts/browser/
(git-ignored). Every test here is marked ``browser``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Lab


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS,
            "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1366, "height": 1300}}


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def screenshot(artifacts):
    """screenshot(locator_or_page, name): saves test-artifacts/browser/NAME.png."""

    def shoot(target, name: str) -> Path:
        path = artifacts / f"{name}.png"
        target.screenshot(path=str(path))
        return path

    return shoot
