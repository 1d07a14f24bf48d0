"""The explorer reads through the public API only, and ships its built front end."""

from __future__ import annotations

import ast
from pathlib import Path

import datatailr.jupyter_ext as ext

PACKAGE = Path(ext.__file__).parent
PUBLIC = {"datatailr", "datatailr.errors", "datatailr.scheduler.batch", "datatailr.scheduler.job"}


def datatailr_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("datatailr")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("datatailr"):
            found.add(node.module)
    return {m for m in found if not m.startswith("datatailr.jupyter_ext")}


def test_only_public_modules_are_imported():
    imports = {p.name: datatailr_imports(p) for p in sorted(PACKAGE.glob("*.py"))}
    assert {name: sorted(mods - PUBLIC) for name, mods in imports.items()} == {
        name: [] for name in imports}


def test_ipython_is_imported_only_inside_functions():
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name for n in top for a in n.names} | {
            n.module for n in top if isinstance(n, ast.ImportFrom) and n.module}
        assert not {n for n in names if n and n.split(".")[0] == "IPython"}, path.name


def test_the_built_front_end_is_shipped_beside_the_widget():
    bundle = PACKAGE / "static" / "explorer.js"
    text = bundle.read_text()
    assert text.startswith("// datatailr %dt_runs explorer - built from js/ by `npm run build`")
    assert "export{" in text.replace(" ", "") and "dt-explorer" in text
    from datatailr.jupyter_ext import ExplorerWidget

    assert str(ExplorerWidget._esm) == text


def test_the_front_end_reads_every_synced_trait():
    import re

    from datatailr.jupyter_ext._widget import STATE_TRAITS

    source = (PACKAGE.parents[1] / "js" / "src" / "app.js").read_text()
    block = re.search(r"export const TRAITS = \[(.*?)\];", source, re.S)
    assert block is not None
    assert re.findall(r'"([a-z_]+)"', block.group(1)) == list(STATE_TRAITS)
