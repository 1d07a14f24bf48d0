"""The docs: the site builds with every link and anchor checked, and the README's links resolve."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(tmp_path, docs_dir=None):
    """``mkdocs build --strict`` into a temporary folder; the finished process."""
    config = ROOT / "mkdocs.yml"
    if docs_dir is not None:  # the same site from another folder of pages
        text = config.read_text().replace("docs_dir: docs", f"docs_dir: {docs_dir}")
        config = tmp_path / "mkdocs.yml"
        config.write_text(text.replace("paths: [.]", f"paths: [{ROOT}]"))
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
         "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})


def test_the_site_builds_strictly_with_the_api_reference(tmp_path):
    import datatailr
    import datatailr.errors

    done = build(tmp_path)
    assert (done.returncode, [line for line in done.stderr.splitlines()
                              if line.startswith(("WARNING", "ERROR"))]) == (0, [])
    reference = tmp_path / "site" / "reference"
    batch = (reference / "batch" / "index.html").read_text()
    # the reference is generated from the docstrings, not written by hand
    assert "A handle on one run of this workflow." in batch
    # ... and covers every public name, as the package grows
    top = (reference / "datatailr" / "index.html").read_text()
    errors = (reference / "errors" / "index.html").read_text()
    # names imported on first use (datatailr._LAZY) are documented where they are defined
    static = [n for n in datatailr.__all__ if not n.startswith("__") and n not in datatailr._LAZY]
    missing = [f"datatailr.{n}" for n in static if f'id="datatailr.{n}"' not in top]
    missing += [f"datatailr.errors.{n}" for n in datatailr.errors.__all__
                if f'id="datatailr.errors.{n}"' not in errors]
    assert missing == []


def test_a_broken_link_fails_the_build(tmp_path):
    import shutil

    pages = tmp_path / "pages"
    shutil.copytree(ROOT / "docs", pages)
    with (pages / "index.md").open("a") as f:
        f.write("\n[gone](guide/no-such-page.md) [anchor](guide/cli.md#no-such-section)\n")
    done = build(tmp_path, docs_dir=pages)
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert (done.returncode, len(warnings)) == (1, 2), done.stderr
    assert "no-such-page.md" in warnings[0] and "no-such-section" in warnings[1]


def test_the_readme_links_to_files_that_exist():
    text = (ROOT / "README.md").read_text()
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text)
               if not t.startswith(("http://", "https://", "#"))]
    assert [t for t in targets if not (ROOT / t).exists()] == []
    assert len(targets) >= 5
