"""`dt job get --source` shows every file of a version's image; `dt job diff` what changed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.cli.conftest import dt


def _deploy(tmp_path, home, helper_body):
    (tmp_path / "helper_mod.py").write_text(helper_body)
    (tmp_path / "flow.py").write_text(textwrap.dedent("""
        from datatailr import task, workflow
        import helper_mod

        @task()
        def compute():
            return helper_mod.value()

        @workflow(name="imaged")
        def imaged():
            compute()

        if __name__ == "__main__":
            imaged(save_only=True)
    """))
    env = {"DATATAILR_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": ""}
    import os

    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    done = subprocess.run([sys.executable, "flow.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_source_shows_every_file_and_diff_what_changed(home, tmp_path):
    _deploy(tmp_path, home, "def value():\n    return 1\n")
    _deploy(tmp_path, home, "def value():\n    return 2\n")
    shown = dt("job", "get", "imaged", "--source", "--version", "1")
    assert shown.exit_code == 0, shown.stderr
    assert "# ---- helper_mod.py\ndef value():\n    return 1\n" in shown.stdout
    assert "# ---- flow.py\n" in shown.stdout
    diff = dt("job", "diff", "imaged", "1", "2")
    assert diff.exit_code == 0, diff.stderr
    assert "-    return 1\n+    return 2\n" in diff.stdout
    assert dt("job", "diff", "imaged", "2", "2").stdout == ""
