"""Workflows as a user runs them: a script in a folder of its own, run with ``python``."""

from __future__ import annotations

import textwrap

SCRIPT = textwrap.dedent('''
    import logging
    import sys

    sys.path.insert(0, "libs")            # vendor examples add paths at run time
    import shared_helpers                 # a module next to the script

    from datatailr import task, workflow

    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
    log = logging.getLogger("my_pipeline")   # created at import time

    @task()
    def extract():
        log.info("extracting")
        return shared_helpers.numbers()

    @task()
    def transform(values):
        log.warning("%d values", len(values))
        return [v * 2 for v in values]

    @workflow(name="Script Pipeline")
    def pipeline():
        transform(extract())

    if __name__ == "__main__":
        run = pipeline(local_run=True)
        print("RESULT", run.state, run.result("transform"))
''')


def write_project(folder):
    (folder / "libs").mkdir()
    (folder / "libs" / "shared_helpers.py").write_text("def numbers():\n    return [1, 2, 3]\n")
    (folder / "my_pipeline.py").write_text(SCRIPT)
    return folder / "my_pipeline.py"


def test_a_script_runs_locally_and_its_logs_hold_what_its_loggers_wrote(tmp_path, run_python):
    script = write_project(tmp_path)
    done = run_python(script)
    lines = done.stdout.splitlines()
    assert lines[-1] == "RESULT completed [2, 4, 6]"
    assert "[extract] INFO extracting" in lines  # echoed live with the task's name
    check = run_python(textwrap.dedent('''
        from datatailr import Workflow
        wf = Workflow("Script Pipeline")
        run_id = wf.runs()[0]["run_id"]
        print(repr(wf.logs(run_id, "extract")), repr(wf.logs(run_id, "transform")))
    '''))
    assert check.stdout == "'INFO extracting\\n' 'WARNING 3 values\\n'\n"


def test_output_is_plain_lines_when_not_a_terminal(tmp_path, run_python):
    done = run_python(write_project(tmp_path))
    lines = [line for line in done.stdout.splitlines() if not line.startswith("[")]
    assert lines[0] == "▶ run 1 of Script Pipeline: 2 tasks"
    assert lines[1:3] == ["  ▶ extract started", lines[2]]
    assert lines[2].startswith("  ✓ extract completed in ")
    assert lines[-2].startswith("■ run 1 completed in ")


def test_a_local_run_whose_process_is_killed_does_not_stay_running(home, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from datatailr import Workflow

    (tmp_path / "sleepy.py").write_text(textwrap.dedent('''
        import time
        from datatailr import task, workflow

        @task()
        def sleepy():
            time.sleep(60)

        @workflow(name="sleepy")
        def wf():
            sleepy()

        wf(local_run=True)
    '''))
    env = {**os.environ, "DATATAILR_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "sleepy.py")], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    state = None
    while time.monotonic() < deadline:
        try:
            runs = Workflow("sleepy").runs(refresh=True)
        except ValueError:
            runs = []
        if runs and runs[0]["state"] == "running":
            [task] = Workflow("sleepy").run_details(runs[0]["run_id"])["tasks"]
            if task["state"] == "running":
                state = "running"
                break
        time.sleep(0.05)
    assert state == "running"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    [run] = Workflow("sleepy").runs()
    assert run["state"] == "unknown"
    [t] = Workflow("sleepy").run_details(run["run_id"])["tasks"]
    assert (t["state"], t["error"]) == ("unknown", "The process running it died.")


def test_on_a_terminal_progress_is_a_rich_bar(home, tmp_path):
    import os
    import pty
    import subprocess
    import sys

    script = write_project(tmp_path)
    leader, follower = pty.openpty()
    env = {**os.environ, "DATATAILR_HOME": str(home), "TERM": "xterm", "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=follower, stderr=follower,
                            env=env, cwd=tmp_path)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 0
    screen = b"".join(chunks).decode("utf-8", errors="replace")
    assert "\x1b[" in screen  # drawn with terminal control codes: the bar, not plain lines
    assert "Script Pipeline" in screen and "2/2" in screen
    assert "✓ extract completed in" in screen and "RESULT completed [2, 4, 6]" in screen


def test_ctrl_c_stops_a_local_run_and_records_it(home, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from datatailr import Workflow

    (tmp_path / "interrupted.py").write_text(textwrap.dedent('''
        import time
        from datatailr import task, workflow

        @task()
        def quick():
            return 1

        @task()
        def sleepy(x):
            time.sleep(60)

        @workflow(name="interrupted")
        def wf():
            sleepy(quick())
            sleepy(2).alias("other")

        wf(local_run=True)
    '''))
    env = {**os.environ, "DATATAILR_HOME": str(home)}
    # Ctrl+C in a terminal signals the whole foreground process group, workers included.
    proc = subprocess.Popen([sys.executable, str(tmp_path / "interrupted.py")], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            run = Workflow("interrupted").runs(refresh=True)[0]
            tasks = Workflow("interrupted").run_details(run["run_id"])["tasks"]
            if [t["state"] for t in tasks] == ["completed", "running", "running"]:
                break
        except (ValueError, IndexError):
            pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    [run] = Workflow("interrupted").runs(refresh=True)
    details = Workflow("interrupted").run_details(run["run_id"])
    assert (details["state"], details["error"]) == ("stopped", "Interrupted.")
    assert [(t["name"], t["state"]) for t in details["tasks"]] == [
        ("quick", "completed"), ("sleepy", "stopped"), ("other", "stopped")]
