"""The source bundle: the user's files found by reading imports, never by running them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from datatailr.image import bundle as bundle_mod
from tests.conftest import ROOT


def make_project(root):
    (root / "proj" / "sub").mkdir(parents=True)
    (root / "proj" / "__init__.py").write_text("")
    (root / "proj" / "sub" / "__init__.py").write_text("from . import leaf\n")
    (root / "proj" / "sub" / "leaf.py").write_text("from ..util import helper\nimport six\n")
    (root / "proj" / "util.py").write_text("def helper():\n    return 1\n")
    (root / "proj" / "tasks.py").write_text(
        "import json\nfrom proj.sub import leaf\n\n\ndef work():\n    return leaf\n\n\n"
        "def later():\n    from .never import x  # missing: skipped\n    import untouched\n")
    (root / "untouched.py").write_text("raise SystemExit('imported!')\n")
    (root / "boom.py").write_text("raise SystemExit('executed!')\n")


def test_collect_follows_absolute_and_relative_imports_without_executing(tmp_path):
    make_project(tmp_path)
    code = textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import proj.tasks
        from datatailr.image import bundle
        c = bundle.collect([proj.tasks.work])
        print(sorted(c.files))
        print(sorted(c.modules))
    ''')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "['proj/__init__.py', 'proj/sub/__init__.py', 'proj/sub/leaf.py', 'proj/tasks.py', "
        "'proj/util.py', 'untouched.py']",
        "['proj', 'proj.sub', 'proj.sub.leaf', 'proj.tasks', 'proj.util', 'untouched']",
    ]


def test_a_module_only_read_is_never_run(tmp_path):
    make_project(tmp_path)
    (tmp_path / "proj" / "tasks.py").write_text("import boom\n\ndef work():\n    return 1\n")
    collector = bundle_mod.Collector()
    sys.path.insert(0, str(tmp_path))
    try:
        collector.add_file("proj/tasks.py", str(tmp_path / "proj" / "tasks.py"), "proj")
    finally:
        sys.path.remove(str(tmp_path))
    assert sorted(collector.files) == ["boom.py", "proj/tasks.py"]
    assert "boom" not in sys.modules


def test_the_zip_depends_on_contents_only_and_extracts_once(home):
    files = {"b.py": b"B = 2\n", "a/__init__.py": b"", "a/x.py": b"X = 1\n"}
    data = bundle_mod.pack(files)
    assert bundle_mod.pack(dict(reversed(list(files.items())))) == data
    assert bundle_mod.unpack(data) == files
    folder = bundle_mod.extract(data)
    assert folder == home / "images" / bundle_mod.bundle_hash(data)[:32]
    (folder / "b.py").write_text("B = 'kept'\n")
    assert bundle_mod.extract(data) == folder  # once per hash: not rewritten
    assert (folder / "b.py").read_text() == "B = 'kept'\n"


def test_activate_puts_the_bundle_first_and_forgets_modules_loaded_elsewhere(home, tmp_path):
    (tmp_path / "dt_probe_mod.py").write_text("VALUE = 'on disk'\n")
    data = bundle_mod.pack({"dt_probe_mod.py": b"VALUE = 'frozen'\n"})
    sys.path.insert(0, str(tmp_path))
    saved = list(sys.path)
    try:
        import dt_probe_mod  # type: ignore[import-not-found]

        assert dt_probe_mod.VALUE == "on disk"
        folder = bundle_mod.activate(data)
        assert sys.path[0] == str(folder)
        import dt_probe_mod as again  # type: ignore[import-not-found]

        assert again.VALUE == "frozen"
        assert bundle_mod.active() == (bundle_mod.bundle_hash(data), data)
        assert bundle_mod.activate(bundle_mod.bundle_hash(data)) == folder  # by hash
    finally:
        sys.path[:] = [p for p in saved if p != str(tmp_path)]
        sys.modules.pop("dt_probe_mod", None)
