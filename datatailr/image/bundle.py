"""The source bundle of a version: every file of the user's own code its workflow can reach.

Owns: finding the user's modules (what is neither the standard library, nor installed in
site-packages, nor datatailr) reachable from the task functions - their modules, what those
import directly or not (read with ``ast``, resolved with import machinery finders, never
executed), and the modules named in the globals of functions defined in ``__main__`` or a
notebook; packing them into a deterministic zip; extracting a bundle once per hash into
``$DATATAILR_HOME/images/`` and putting it first on ``sys.path`` (``activate``).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.machinery
import importlib.util
import io
import os
import shutil
import sys
import tempfile
import types
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datatailr.image.pickling import _installed_prefixes

#: Not importable: sources shown with a version that are not modules (a notebook's cells).
SHOWN_ONLY = ".datatailr/"
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)
_OWN_ROOT = os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def is_users_file(path: str | None, installed: tuple[str, ...] | None = None) -> bool:
    """A Python source file of the user's own: not installed, not the stdlib, not datatailr."""
    if not path or not path.endswith(".py") or not os.path.isfile(path):
        return False
    real = os.path.realpath(path)
    if real.startswith(_OWN_ROOT + os.sep):
        return False
    return not real.startswith(installed or _installed_prefixes())


class _Module:
    __slots__ = ("name", "path", "is_package")

    def __init__(self, name: str, path: str, is_package: bool) -> None:
        self.name, self.path, self.is_package = name, path, is_package

    @property
    def relpath(self) -> str:
        parts = self.name.split(".")
        return "/".join(parts) + ("/__init__.py" if self.is_package else ".py")


class Collector:
    """Walks the imports of the user's modules from some seeds."""

    def __init__(self) -> None:
        self.installed = _installed_prefixes()
        self.modules: dict[str, _Module] = {}
        self.files: dict[str, bytes] = {}  # relpath -> source bytes
        self._specs: dict[str, Any] = {}
        self._seen: set[str] = set()

    # -- resolving names without executing anything ---------------------------------------
    def _spec(self, name: str) -> Any:
        if name in self._specs:
            return self._specs[name]
        spec = None
        module = sys.modules.get(name)
        if module is not None:
            spec = getattr(module, "__spec__", None)
            if spec is None and getattr(module, "__file__", None):
                spec = importlib.util.spec_from_file_location(name, module.__file__)
        else:
            parent, _, last = name.rpartition(".")
            if not parent:
                with contextlib.suppress(ImportError, ValueError, AttributeError):
                    spec = importlib.machinery.PathFinder.find_spec(name)
            else:
                parent_spec = self._spec(parent)
                locations = getattr(parent_spec, "submodule_search_locations", None)
                if locations:
                    with contextlib.suppress(ImportError, ValueError, AttributeError):
                        spec = importlib.machinery.PathFinder.find_spec(name, list(locations))
        self._specs[name] = spec
        return spec

    def add_name(self, name: str) -> None:
        """Add module ``name`` (and its parent packages) if it is the user's, then its imports."""
        if not name or name in self._seen:
            return
        self._seen.add(name)
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top in sys.builtin_module_names \
                or top == "datatailr" or name == "__main__":
            return
        spec = self._spec(name)
        origin = getattr(spec, "origin", None) if spec is not None else None
        if not is_users_file(origin, self.installed):
            return
        assert origin is not None
        if "." in name:
            self.add_name(name.rpartition(".")[0])
        is_package = os.path.basename(origin) == "__init__.py"
        module = _Module(name, origin, is_package)
        self.modules[name] = module
        self.add_file(module.relpath, origin, package=name if is_package
                      else name.rpartition(".")[0])

    def add_file(self, relpath: str, path: str, package: str = "") -> None:
        """Add one source file under ``relpath`` and follow its imports."""
        try:
            data = Path(path).read_bytes()
        except OSError:
            return
        self.files[relpath] = data
        try:
            tree = ast.parse(data, filename=path)
        except (SyntaxError, ValueError):
            return
        for name in _imported_names(tree, package):
            self.add_name(name)

    def add_source(self, relpath: str, text: str, package: str = "") -> None:
        self.files[relpath] = text.encode()
        with contextlib.suppress(SyntaxError, ValueError):
            for name in _imported_names(ast.parse(text), package):
                self.add_name(name)

    def add_function(self, function: Any) -> None:
        """The function's module, and the user's modules its code refers to by global name."""
        module_name = getattr(function, "__module__", None) or ""
        if module_name != "__main__":
            self.add_name(module_name)
        for value in referenced_globals(function):
            if isinstance(value, types.ModuleType):
                self.add_name(value.__name__)
            else:
                owner = getattr(value, "__module__", None)
                if isinstance(owner, str) and owner != "__main__":
                    self.add_name(owner)

    def add_main(self) -> None:
        """The script run as ``__main__``, when there is one on disk, and its imports."""
        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        if main is None or not is_users_file(path, self.installed):
            return
        assert path is not None
        spec = getattr(main, "__spec__", None)
        if spec is not None and spec.name and spec.name != "__main__":  # python -m pkg.mod
            self.add_name(spec.name)
            return
        self.add_file(os.path.basename(path), path)

    def zip_bytes(self) -> bytes:
        return pack(self.files)


def _imported_names(tree: ast.AST, package: str) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts):
                    continue
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                module = f"{base}.{node.module}" if node.module and base else (node.module or base)
            else:
                module = node.module or ""
            if not module:
                continue
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def referenced_globals(function: Any) -> list[Any]:
    """The values of the global names the function's code (and its nested code) uses."""
    code = getattr(function, "__code__", None)
    glob = getattr(function, "__globals__", None)
    if code is None or glob is None:
        return []
    out = []
    stack = [code]
    seen: set[str] = set()
    while stack:
        c = stack.pop()
        for name in c.co_names:
            if name not in seen and name in glob:
                seen.add(name)
                out.append(glob[name])
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return out


def collect(functions: Iterable[Any], *, main_source: str | None = None) -> Collector:
    """The user's files reachable from ``functions``; ``main_source`` is shown with the
    version when ``__main__`` has no file (a notebook)."""
    collector = Collector()
    functions = list(functions)
    for function in functions:
        collector.add_function(function)
    collector.add_main()
    main = sys.modules.get("__main__")
    if main_source is not None and not is_users_file(getattr(main, "__file__", None)):
        collector.add_source(SHOWN_ONLY + "notebook.py", main_source)
    return collector


# -- the zip ----------------------------------------------------------------------------------

def pack(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` whose bytes depend on their names and contents only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for relpath in sorted(files):
            info = zipfile.ZipInfo(relpath, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[relpath])
    return buffer.getvalue()


def unpack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def bundle_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- extraction and activation ------------------------------------------------------------

def cache_root() -> Path:
    from datatailr.config import load_config

    return load_config().home / "images"


def extract(data: bytes, digest: str | None = None) -> Path:
    """The folder holding the bundle's files: made once per hash, atomically."""
    digest = digest or bundle_hash(data)
    folder = cache_root() / digest[:32]
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=folder.parent))
    try:
        for relpath, content in unpack(data).items():
            target = tmp / relpath
            if not target.resolve().is_relative_to(tmp.resolve()):
                raise ValueError(f"bundle entry {relpath!r} points outside its folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process extracted it first: theirs is identical
            if not folder.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


_ACTIVE: dict[str, Any] = {}


def activate(bundle: bytes | str | None, digest: str | None = None) -> Path | None:
    """Make this process import the bundle's modules: extract it (bytes) or find it (a hash
    already extracted here), put its folder first on ``sys.path``, and forget modules of the
    same names loaded from anywhere else. Returns the folder (None for no bundle)."""
    if bundle is None:
        return None
    if isinstance(bundle, str):
        folder = cache_root() / bundle[:32]
        if not folder.is_dir():
            raise FileNotFoundError(f"No extracted bundle {bundle!r} under {cache_root()}.")
    else:
        digest = digest or bundle_hash(bundle)
        folder = extract(bundle, digest)
        _ACTIVE.update(digest=digest, data=bundle)
    entry = str(folder)
    while entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()
    names = {_module_name(p) for p in _relpaths(folder)}
    for name in [n for n in list(sys.modules) if n in names]:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if not os.path.realpath(file).startswith(os.path.realpath(entry) + os.sep):
            del sys.modules[name]
    return folder


def active() -> tuple[str, bytes] | None:
    """(hash, bytes) of the bundle this process activated last or froze last, for shipping
    to Dask workers with a run; None when there is none."""
    if "data" not in _ACTIVE:
        return None
    return _ACTIVE["digest"], _ACTIVE["data"]


def remember(digest: str, data: bytes) -> None:
    _ACTIVE.update(digest=digest, data=data)


def _relpaths(folder: Path) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*.py")
            if not p.relative_to(folder).as_posix().startswith(SHOWN_ONLY)]


def _module_name(relpath: str) -> str:
    name = relpath[:-3].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name
