"""`dt`, the command line of datatailr: argument parsing and rendering over the public API.

Owns: the command tree (``dt job|log|result|agent ...``), turning API values into tables, plain
text or JSON, and turning API errors into one ``Error: ...`` line with exit status 1.
Must not: hold logic of its own, or import ``datatailr.store``/``datatailr.engine`` - only the
public API (``datatailr``, ``datatailr.scheduler.batch``, ``datatailr.scheduler.agent``,
``datatailr.errors``), and ``datatailr.scheduler.platform.read_only`` for the commands that
only look (``dt job ls``, ``dt job runs``, ``dt log read``, ``dt result get``: a SQLite store
read without SQLAlchemy). Heavy imports (the API, rich) happen inside commands so that
``dt --help`` starts fast.

``main`` is the root click group; ``pyproject.toml`` declares ``dt = "datatailr.cli:main"``.
"""

from __future__ import annotations

from datatailr.cli._app import main

__all__ = ["main"]
