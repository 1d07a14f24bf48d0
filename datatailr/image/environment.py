"""A version's Python environment: recorded when it is saved, honoured where it runs.

Owns: reading ``python_requirements`` (a list, a requirements file, a pyproject, or ``"auto"``:
the distributions that the frozen code imports), the record of the interpreter and installed
distributions a version was made with, the check of requirements against an environment
(``packaging`` specifiers), and the isolated environments built once per requirement set
under ``$DATATAILR_HOME/envs/`` with ``uv`` (or ``venv`` + pip when uv is missing), in which
datatailr and its own dependencies are importable at this environment's versions.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datatailr.errors import InvalidArgumentError, RequirementsError

#: How long building one environment may take before the run fails.
BUILD_TIMEOUT_SECONDS = 900.0


# -- what was asked -------------------------------------------------------------------------

def _parse_requirement(text: str, where: str) -> Any:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise InvalidArgumentError(
            f"python_requirements: {text!r} (from {where}) is not a requirement: {exc}. Write "
            f"it as on a pip command line, e.g. 'six==1.15.0' or 'pandas>=2'.") from None


def _requirements_file(path: Path) -> list[str]:
    out = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            out.extend(_requirements_file(path.parent / line.split(None, 1)[1]))
            continue
        if line.startswith("-"):
            raise InvalidArgumentError(
                f"python_requirements file {str(path)!r}: option line {line!r} is not supported"
                f"; list requirements only (name and version specifier per line).")
        out.append(line)
    return out


def _pyproject(path: Path) -> list[str]:
    import tomllib

    with path.open("rb") as f:
        data = tomllib.load(f)
    deps = data.get("project", {}).get("dependencies")
    if deps is None:
        raise InvalidArgumentError(
            f"python_requirements={str(path)!r}: it has no [project] dependencies list.")
    return [str(d) for d in deps]


def _split_text(text: str) -> list[str]:
    """Requirements in a string: one per line or comma; a line that is not one requirement
    is read as several separated by spaces (``"six==1.15.0 rich"``)."""
    from packaging.requirements import InvalidRequirement, Requirement

    items: list[str] = []
    for piece in text.replace(",", "\n").splitlines():
        piece = piece.split(" #", 1)[0].strip()
        if not piece or piece.startswith("#"):
            continue
        try:
            Requirement(piece)
            items.append(piece)
        except InvalidRequirement:
            items.extend(piece.split())
    return items


def read_requirements(spec: Any) -> list[str] | str:
    """The requirement strings of ``spec``, validated now; ``"auto"`` stays ``"auto"`` (it
    is resolved when the code is frozen)."""
    if spec is None or spec == "" or spec == []:
        return []
    if isinstance(spec, str):
        text = spec.strip()
        if text == "auto":
            return "auto"
        path = Path(text).expanduser()
        looks_like_file = text.endswith((".txt", ".in", ".toml")) or os.sep in text
        if looks_like_file:
            if not path.is_file():
                raise InvalidArgumentError(
                    f"python_requirements={spec!r}: no such file (from {os.getcwd()}). Give a "
                    f"requirements file, a pyproject.toml, a list of requirements, or 'auto'.")
            items = _pyproject(path) if path.name.endswith(".toml") else _requirements_file(path)
            where = str(path)
        else:
            items, where = _split_text(text), "the string"
    elif isinstance(spec, list | tuple):
        items, where = [str(s).strip() for s in spec if str(s).strip()], "the list"
    else:
        raise InvalidArgumentError(
            f"python_requirements={spec!r}: give a list of requirements, a requirements file "
            f"or pyproject.toml path, or 'auto'.")
    for item in items:
        _parse_requirement(item, where)
    return list(items)


def infer_requirements(sources: Iterable[bytes | str], own_modules: Iterable[str]) -> list[str]:
    """``"auto"``: the installed distributions the code imports, pinned at their versions
    here (the user's own modules and the standard library need none)."""
    import importlib.metadata

    own = {m.split(".")[0] for m in own_modules}
    tops: set[str] = set()
    for source in sources:
        with contextlib.suppress(SyntaxError, ValueError):
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    tops.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    tops.add(node.module.split(".")[0])
    mapping = importlib.metadata.packages_distributions()
    pins: dict[str, str] = {}
    for top in sorted(tops - own - set(sys.stdlib_module_names) - {"datatailr"}):
        for dist in mapping.get(top, []):
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                pins[_canonical(dist)] = importlib.metadata.version(dist)
    pins.pop("datatailr", None)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


# -- what is here ---------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[-_.]+")


def _canonical(name: str) -> str:
    """A distribution's normalized name (PEP 503), as ``packaging.utils.canonicalize_name``
    gives it - without importing ``packaging`` on every save."""
    return _SEPARATORS.sub("-", name).lower()


def _python_version() -> str:
    """'3.11.7', as ``platform.python_version()`` says it (without importing platform)."""
    return sys.version.split()[0]


_SCANNED: dict[tuple, dict[str, str]] = {}


def distributions(paths: list[str] | None = None) -> dict[str, str]:
    """Installed distributions (canonical name -> version) on ``paths`` (default sys.path);
    remembered until a folder on the path changes (an install touches its site-packages)."""
    paths = list(sys.path if paths is None else paths)
    key = tuple((p, _mtime(p)) for p in paths)
    if key not in _SCANNED:
        _SCANNED.clear()
        _SCANNED[key] = _scan(paths)
    return dict(_SCANNED[key])


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path or ".").st_mtime
    except OSError:
        return None


def _scan(paths: list[str]) -> dict[str, str]:
    """Names and versions from the ``NAME-VERSION.dist-info`` (and ``.egg-info``) folder
    names - without opening each one's metadata, which costs a second for a large
    environment; the first of a name on the path wins, as for imports."""
    found: dict[str, str] = {}
    for entry in paths:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in sorted(names):
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            stem = name.rsplit(".", 1)[0]
            dist, sep, version = stem.partition("-")
            if not sep:
                import importlib.metadata

                with contextlib.suppress(Exception):
                    meta = importlib.metadata.PathDistribution(Path(entry or ".") / name)
                    dist, version = meta.metadata["Name"], meta.version
            version = version.split("-py")[0]
            if dist and version:
                found.setdefault(_canonical(dist), version)
    return dict(sorted(found.items()))


def record() -> dict:
    """What a version records of the environment it was made in."""
    return {
        "python": _python_version(),
        "implementation": sys.implementation.name,
        "platform": sysconfig.get_platform(),
        "distributions": distributions(),
    }


def unmet(requirements: list[str], installed: dict[str, str] | None = None
          ) -> list[tuple[str, str | None]]:
    """(requirement, installed version or None) for each requirement not satisfied."""
    import importlib.metadata

    from packaging.requirements import Requirement

    out: list[tuple[str, str | None]] = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        if installed is not None:
            have = installed.get(_canonical(req.name))
        else:
            try:
                have = importlib.metadata.version(req.name)
            except importlib.metadata.PackageNotFoundError:
                have = None
        if have is None or (req.specifier and not req.specifier.contains(have, prereleases=True)):
            out.append((text, have))
    return out


def check_here(requirements: list[str], workflow_name: str) -> None:
    """For a local run: fail at once, naming each unmet requirement and the fix."""
    missing = unmet(requirements)
    if not missing:
        return
    listed = "; ".join(f"{req} (installed: {have})" if have else f"{req} (not installed)"
                       for req, have in missing)
    quoted = " ".join(f"'{req}'" for req, _ in missing)
    raise RequirementsError(
        f"Workflow {workflow_name!r} needs {listed} in this Python ({sys.executable}). A local "
        f"run uses this environment: install it with `{sys.executable} -m pip install "
        f"{quoted}`, or deploy the workflow (the agent builds an environment that has it).")


# -- isolated environments ------------------------------------------------------------------

def requirements_key(requirements: list[str]) -> str:
    text = json.dumps({"python": _python_version(), "exe": sys.executable,
                       "requirements": sorted(requirements)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def envs_root() -> Path:
    from datatailr.config import load_config

    return load_config().home / "envs"


#: datatailr's dependencies that only its notebook UI needs: not installed in run environments.
_UI_ONLY = {"anywidget", "traitlets"}


def _datatailr_requirements() -> list[str]:
    """datatailr's declared dependencies: from the source checkout's pyproject.toml when it
    runs from one, else from its installed metadata."""
    import importlib.metadata

    import datatailr

    pyproject = Path(datatailr.__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():
        with contextlib.suppress(Exception):
            import tomllib

            with pyproject.open("rb") as f:
                data = tomllib.load(f)
            if str(data.get("project", {}).get("name", "")).startswith("datatailr"):
                return [str(d) for d in data["project"].get("dependencies", [])]
    for dist in ("datatailr-local-first", "datatailr"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found = importlib.metadata.distribution(dist)
            return [r for r in found.requires or [] if "extra ==" not in r]
    return []


def _own_dependencies(requirements: list[str]) -> list[str]:
    """datatailr's own runtime dependencies and everything they need, pinned at this
    environment's versions, except what the requirements name (theirs win)."""
    import importlib.metadata

    from packaging.requirements import Requirement

    asked = {_canonical(Requirement(r).name) for r in requirements}
    here = distributions()
    roots = [Requirement(r) for r in _datatailr_requirements()]
    config_extras = [name for name in ("distributed", "psycopg2-binary", "s3fs")
                     if name in here and _configured_for(name)]
    roots += [Requirement(n) for n in config_extras]
    pins: dict[str, str] = {}
    stack = [r for r in roots if _canonical(r.name) not in _UI_ONLY]
    while stack:
        req = stack.pop()
        name = _canonical(req.name)
        if name in pins or name in asked or name not in here:
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        pins[name] = here[name]
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            for text in importlib.metadata.requires(name) or []:
                with contextlib.suppress(Exception):
                    sub = Requirement(text)
                    if sub.marker is None or sub.marker.evaluate({"extra": ""}):
                        stack.append(sub)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _configured_for(name: str) -> bool:
    from datatailr.config import load_config

    config = load_config()
    if name in ("distributed", "dask"):
        return config.executor != "local"
    if name == "psycopg2-binary":
        return config.db_url.startswith("postgres")
    return config.storage_url.startswith("s3")


def _uv() -> str | None:
    with contextlib.suppress(ImportError, FileNotFoundError):
        import uv  # type: ignore[import-not-found]

        return str(uv.find_uv_bin())
    return shutil.which("uv")


def _python_of(folder: Path) -> Path:
    return folder / "bin" / "python"


def activation(python: str, environ: dict[str, str]) -> dict[str, str]:
    """``environ`` as an activated virtual environment of ``python`` has it: its ``bin``
    first on PATH and VIRTUAL_ENV set, so a task's own ``python`` is the run's."""
    folder = Path(python).parent.parent
    path = environ.get("PATH", "")
    return {**environ, "VIRTUAL_ENV": str(folder),
            "PATH": f"{folder / 'bin'}{os.pathsep}{path}" if path else str(folder / "bin")}


def cached(requirements: list[str]) -> str | None:
    """The interpreter of the environment already built for ``requirements``, if any."""
    folder = envs_root() / requirements_key(requirements)
    python = _python_of(folder)
    return str(python) if (folder / ".complete").is_file() and python.exists() else None


def ensure(requirements: list[str], log: Any = None) -> str:
    """The interpreter a run with these requirements uses: this one when it satisfies them,
    else the isolated environment for the set (built now if it is not yet). Raises
    ``RequirementsError`` with the installer's output when they cannot be installed."""
    if not requirements or not unmet(requirements):
        return sys.executable
    root = envs_root()
    folder = root / requirements_key(requirements)
    python = _python_of(folder)
    if (folder / ".complete").is_file() and python.exists():
        return str(python)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{folder.name}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build per set, whoever asks at once
        if (folder / ".complete").is_file() and python.exists():
            return str(python)
        if folder.exists():
            shutil.rmtree(folder)
        try:
            _build(folder, requirements, log)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        (folder / ".complete").write_text(json.dumps({"requirements": requirements}))
    return str(python)


def _run(cmd: list[str], what: str, log: Any) -> None:
    if log is not None:
        log(f"$ {' '.join(cmd)}")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS,
                              env={**os.environ, "VIRTUAL_ENV": ""})
    except subprocess.TimeoutExpired:
        raise RequirementsError(
            f"{what} took longer than {BUILD_TIMEOUT_SECONDS:g} s and was stopped.") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise RequirementsError(f"{what} failed:\n{output}")


def _build(folder: Path, requirements: list[str], log: Any) -> None:
    uv = _uv()
    base = sys.executable
    packages = [*requirements, *_own_dependencies(requirements)]
    if uv is not None:
        _run([uv, "venv", "--quiet", "--python", base, str(folder)],
             "Creating the environment with uv", log)
        _run([uv, "pip", "install", "--quiet", "--python", str(_python_of(folder)), *packages],
             f"Installing python_requirements {requirements} with uv", log)
    else:
        _run([base, "-m", "venv", str(folder)], "Creating the environment with venv", log)
        _run([str(_python_of(folder)), "-m", "pip", "install", "--quiet",
              "--disable-pip-version-check", *packages],
             f"Installing python_requirements {requirements} with pip", log)
    _link_datatailr(folder)


def _link_datatailr(folder: Path) -> None:
    """datatailr itself, importable in the environment: a folder holding a link to this
    package, named by a .pth file (nothing else of this environment leaks in)."""
    import datatailr

    package = Path(datatailr.__file__).resolve().parent
    holder = folder / "datatailr-link"
    holder.mkdir(exist_ok=True)
    link = holder / "datatailr"
    if not link.exists():
        link.symlink_to(package, target_is_directory=True)
    done = subprocess.run([str(_python_of(folder)), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True)
    site = Path(done.stdout.strip())
    (site / "datatailr-link.pth").write_text(str(holder) + "\n")
