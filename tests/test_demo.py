"""scripts/demo as a newcomer runs it: JupyterLab answers, Ctrl+C stops everything, no mess.

Runs the real script in a temporary HOME on the environment already set up (the repository's
.venv, else the interpreter running the tests), until JupyterLab answers on the URL it printed;
then Ctrl+C (SIGINT to the script's process group, as a terminal sends it), and checks that
JupyterLab and the agent are gone and that git sees no change in the working tree.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def read_until(proc, pattern: str, timeout: float) -> tuple[list[str], re.Match | None]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        found = re.search(pattern, line)
        if found:
            return lines, found
    return lines, None


def agent_running(home: Path, venv_python: str) -> bool:
    code = "from datatailr.scheduler.agent import agent_status; print(agent_status()['running'])"
    done = subprocess.run([venv_python, "-c", code], capture_output=True, text=True, check=True,
                          env={"DATATAILR_HOME": str(home), "PYTHONPATH": str(ROOT),
                               "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    return done.stdout.strip() == "True"


def first_cell_in_a_kernel_of(base: str, token: str, home: Path) -> str:
    """Start a kernel in the demo's JupyterLab, run the quickstart's first cell there, and
    return the DATATAILR_HOME it ends with."""
    from jupyter_client import BlockingKernelClient

    auth = {"Authorization": f"token {token}"}
    request = urllib.request.Request(f"{base}/api/kernels", data=b"{}", method="POST",
                                     headers={**auth, "Content-Type": "application/json"})
    kernel = json.load(urllib.request.urlopen(request, timeout=60))
    client = BlockingKernelClient()
    client.load_connection_file(
        str(home / ".local" / "share" / "jupyter" / "runtime" / f"kernel-{kernel['id']}.json"))
    client.start_channels(hb=False)  # a heartbeat not beating yet reads as a dead kernel
    try:
        deadline = time.monotonic() + 120
        while True:  # until the kernel answers kernel_info (it may take a while to start)
            asked = client.kernel_info()
            try:
                if client.get_shell_msg(timeout=5)["parent_header"].get("msg_id") == asked:
                    break
            except queue.Empty:
                assert time.monotonic() < deadline, "the kernel never answered"
        # ... and until iopub is connected too: a SUB socket that connects late drops what was
        # published before, and execute_interactive would then wait for output that was sent.
        while True:
            asked = client.kernel_info()
            try:
                while client.get_iopub_msg(timeout=2)["parent_header"].get("msg_id") != asked:
                    pass
                break
            except queue.Empty:
                assert time.monotonic() < deadline, "the kernel's iopub never answered"
        nb = json.loads((ROOT / "notebooks" / "01-quickstart.ipynb").read_text())
        cell = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
        printed: list[str] = []
        client.execute_interactive(cell + "\nprint(os.environ['DATATAILR_HOME'])", timeout=60,
                                   output_hook=lambda msg: printed.append(
                                       msg["content"].get("text", "")))
        return "".join(printed).strip()
    finally:
        client.stop_channels()


def processes_with(variable: str) -> list[str]:
    """Command lines of the live (not zombie) processes that have ``variable`` (NAME=value)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z" and variable.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError):  # gone meanwhile, or not ours to read
            continue
    return found


def test_the_demo_starts_jupyterlab_on_its_own_home_and_ctrl_c_leaves_no_mess(tmp_path):
    venv = ROOT / ".venv" if (ROOT / ".venv" / "bin" / "python").exists() else Path(sys.prefix)
    home, demo_home = tmp_path / "home", tmp_path / "demo-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATATAILR_", "JUPYTER", "PYTHONPATH"))}
    port = free_port()
    env.update(HOME=str(home), PORT=str(port), DEMO_HOME=str(demo_home), VENV=str(venv))
    before = git_status()
    proc = subprocess.Popen([str(ROOT / "scripts" / "demo")], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        lines, url = read_until(proc, r"== JupyterLab: (http://127\.0\.0\.1:\d+/\S+token=(\w+))",
                                timeout=240)
        assert url, "\n".join(lines)
        assert lines[1:3] == [f"== the demo's history: DATATAILR_HOME={demo_home}", "== local runs"]
        token = url.group(2)
        status = json.load(urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/status?token={token}", timeout=60))
        served = json.load(urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=60))
        assert agent_running(demo_home, str(venv / "bin" / "python"))
        # a notebook started there keeps the demo's home
        assert first_cell_in_a_kernel_of(f"http://127.0.0.1:{port}", token, home) == str(demo_home)
        # JupyterLab serves the scratch copy of the notebooks, not the tracked folder
        assert ("started" in status, sorted(item["name"] for item in served["content"]
                                             if item["type"] == "notebook")) == (
            True, sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = read_until(proc, r"(?!)", timeout=60)  # to the end of its output
        code = proc.wait(timeout=30)
    assert (code, rest[-1:]) == (0, ["== stopped JupyterLab and the agent this demo started. "
                                   f"The demo's history stays in {demo_home}."]), rest
    assert not agent_running(demo_home, str(venv / "bin" / "python"))
    # JupyterLab, its kernel, the agent and its runners: nothing with the demo's home is left
    # (a stopped agent has released its home a moment before its process is gone)
    deadline = time.monotonic() + 60
    while processes_with(f"DATATAILR_HOME={demo_home}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(f"DATATAILR_HOME={demo_home}") == []
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there any more
    runs = subprocess.run([str(venv / "bin" / "python"), "-m", "datatailr.cli", "job", "ls",
                           "--json"], capture_output=True, text=True, check=True, cwd=ROOT,
                          env={"DATATAILR_HOME": str(demo_home), "PYTHONPATH": str(ROOT),
                               "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert sorted((w["slug"], w["state"]) for w in json.loads(runs.stdout)) == [
        ("complex-pipeline", "completed"), ("daily-sales-report", "completed")]
    assert not (home / ".datatailr").exists()
    assert git_status() == before
