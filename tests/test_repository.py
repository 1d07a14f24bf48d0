"""The repository explains itself: no tracked file points at texts that are not in it.

A fresh clone has only what git tracks, so a comment or a doc that sends the reader to a
planning text kept beside the repository (a folder of texts one level up, a spec, a design or style
sheet, an API contract by file name) leads nowhere. This greps every tracked file for such
references and names each one as ``file:line``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: A path outside the repository, a planning text by file name, or one by its short name.
OUTSIDE = re.compile(
    r"\.\./shared|/work/(?:shared|vendor)|shared/[A-Z][A-Z-]*\.md"
    r"|\b(?:SPEC|API|DESIGN|STYLE|JUPYTER-RECIPE)\.md\b"
    r"|\b(?:SPEC|DESIGN|STYLE)\b(?!_|\.[a-z])"  # not a name like SPEC_X or a file SPEC.json
)

#: Files whose owners have yet to reword their references (each owner edits only their own
#: files). The list may only shrink: a listed file that is clean fails the second test, so
#: that its entry is deleted.
PENDING: dict[str, str] = {}

THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [name for name in out.stdout.decode().split("\0") if name and name != THIS_FILE]


def references() -> dict[str, list[str]]:
    """``{path: ["path:line: text", ...]}`` for every tracked text file that points outside."""
    found: dict[str, list[str]] = {}
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file():  # deleted in the work tree, not yet in the index
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # binary
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                found.setdefault(name, []).append(f"{name}:{number}: {line.strip()[:120]}")
    return found


def test_no_tracked_file_refers_outside_the_repository():
    found = references()
    offenders = [hit for name, hits in sorted(found.items()) if name not in PENDING
                 for hit in hits]
    assert offenders == []


def test_every_pending_file_still_needs_its_fix():
    found = references()
    fixed = sorted(name for name in PENDING if name not in found)
    assert fixed == [], "clean now: delete these entries from PENDING"


def test_the_pattern_catches_each_kind_of_reference():
    up = "../" + "shared"  # spelled in two parts so this file does not match itself
    lines = [f"see {up}/API.md", "(STYLE.md rule 8)", "SPEC's first example",
             "the map in DESIGN", "Follows shared" + "/JUPYTER-RECIPE.md", "API.md \"States\"",
             'DEMO = Path("/work/vendor/sdk/datatailr_demo")', "as SPEC says."]
    clean = ["the public API", "_STATE_STYLE = {", "a shared filesystem at /shared/datatailr",
             "spec_workflows.py", "SPECIAL offers", "python -m x SPEC.json"]
    assert ([bool(OUTSIDE.search(s)) for s in lines], [bool(OUTSIDE.search(s)) for s in clean]) \
        == ([True] * len(lines), [False] * len(clean))
