"""Helpers for the browser tests: the JupyterLab server and notebook page actions.

The recipe followed: server flags, token, readiness by /api/status, a copy of
the notebooks, waiting for the kernel's kernel_info_reply (not the idle indicator) before the
first run, chromium from /usr/bin with the recipe's flags.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    """A running JupyterLab serving ``root`` with its own HOME and DATATAILR_HOME."""

    def __init__(self, base: Path, app: str = "lab") -> None:
        self.app = app  # "lab" (JupyterLab) or "notebook" (Notebook 7)
        self.base = base
        self.root = base / "notebooks"
        self.home = base / "home"
        self.dt_home = base / "dt-home"
        self.config = base / "jupyter-config"
        for d in (self.root, self.home, self.dt_home, self.config / "labconfig"):
            d.mkdir(parents=True, exist_ok=True)
        # The "get notified about Jupyter news?" toast covers the page (recipe section 1).
        # A source extension someone installed in the venv (dash's) asks for a lab build in a
        # modal dialog that covers the page: no build checks in tests.
        (self.config / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True},
             "buildCheck": False, "buildAvailable": False}))
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATATAILR_", "JUPYTER_"))},
            "HOME": str(self.home),
            "DATATAILR_HOME": str(self.dt_home),
            "JUPYTER_CONFIG_DIR": str(self.config),
            "JUPYTER_DATA_DIR": str(self.home / "jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "jupyter-runtime"),
            "IPYTHONDIR": str(self.home / "ipython"),
            "PYTHONPATH": str(ROOT),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def python(self, code: str, timeout: float = 180) -> str:
        """Run Python against this lab's DATATAILR_HOME (seeding, stopping the agent)."""
        done = subprocess.run([sys.executable, "-c", code], env=self.env, cwd=self.root,
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        log = open(self.base / "lab.log", "w")  # noqa: SIM115 - closed with the process
        flags = (["--LabApp.extension_manager=readonly",
                  "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
                 if self.app == "lab" else [])
        module = "jupyterlab" if self.app == "lab" else "notebook"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
             "--allow-root", *flags],
            env=self.env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {(self.base / 'lab.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.25)
        raise TimeoutError("jupyter lab did not answer /api/status within 90 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.python("from datatailr.scheduler.agent import agent_status, stop_agent\n"
                    "if agent_status()['running']: stop_agent()")

    def notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook (code cells, no outputs) and return its lab URL."""
        nb = {"nbformat": 4, "nbformat_minor": 5,
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                          "language": "python"}},
              "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src,
                         "outputs": [], "execution_count": None} for i, src in enumerate(cells)]}
        (self.root / name).write_text(json.dumps(nb, indent=1))
        if self.app == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        # A workspace of its own: JupyterLab would otherwise reopen earlier tests' notebooks.
        workspace = Path(name).stem
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}"


# -- page helpers (recipe section 5) -------------------------------------------------------------


def open_notebook(page, url: str, timeout_s: float = 90) -> None:
    ready = {"ok": False}

    def on_ws(ws):
        if "/api/kernels/" in ws.url and "/channels" in ws.url:
            def on_frame(payload):
                data = payload if isinstance(payload, bytes) else payload.encode()
                if b"kernel_info_reply" in data:
                    ready["ok"] = True
            ws.on("framereceived", on_frame)

    page.on("websocket", on_ws)
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while not ready["ok"]:
        if time.monotonic() > deadline:
            raise TimeoutError("kernel never sent kernel_info_reply")
        page.wait_for_timeout(100)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]',
                           timeout=timeout_s * 1000)


def cell(page, text: str):
    """The notebook cell whose source contains ``text``."""
    return page.locator(".jp-Notebook .jp-Cell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=text)).first


def run_cell(page, c, wait: bool = True, timeout_ms: int = 60_000) -> None:
    """Run a cell in place (Ctrl+Enter) and, by default, wait until it has finished.

    A keypress that lands while JupyterLab is still settling is dropped without a trace (the
    prompt stays ``[ ]``); the press is repeated then, as in the recipe's spike.
    """
    from playwright.sync_api import expect

    prompt = c.locator(".jp-InputArea-prompt")
    before = prompt.inner_text()
    for attempt in range(3):
        c.locator(".jp-InputArea-editor .cm-content").click()
        expect(c).to_have_class(re.compile("jp-mod-active"))
        page.keyboard.press("Control+Enter")
        try:
            expect(prompt).not_to_have_text(before, timeout=4000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    if wait:
        expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout_ms)


def probe(page) -> dict:
    """Run the notebook's probe cell and return the kernel-side state it prints."""
    c = cell(page, "def probe")
    run_cell(page, c)
    text = c.locator(".jp-OutputArea-output").last.inner_text()
    match = re.search(r"PROBE (\{.*\})", text, re.S)
    assert match, text
    return json.loads(match.group(1))


PROBE_CELL = '''import json
def probe(w):
    print("PROBE " + json.dumps({
        "environment": w.environment, "workflow": w.workflow, "run_id": w.run_id,
        "task_id": w.task_id, "page": w.page, "run_count": w.run_count,
        "runs": [[r["run_id"], r["state"], r["rerun_of"], r["full"], r["job_version"]] for r in w.runs],
        "run_state": w.run.get("state"), "loaded": w.loaded, "error": w.error,
        "polling": w.polling, "live": w.live,
        "messages": [m.get("type") for m in w.messages]}, default=str))
probe(w)'''
