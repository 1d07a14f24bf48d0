"""%dt_runs and the workflow results explorer (an anywidget) for Jupyter.

Two public names: ``load_ipython_extension`` (``%load_ext datatailr`` calls it) and
``ExplorerWidget``. Importing this package imports neither IPython nor anywidget; the widget
module loads on first use. The explorer reads through the public API only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datatailr.jupyter_ext._widget import ExplorerWidget

__all__ = ["ExplorerWidget", "load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%dt_runs`` on an IPython shell."""
    from datatailr.jupyter_ext._magic import make_magic

    ipython.register_magic_function(make_magic(ipython), magic_kind="line", magic_name="dt_runs")


def __getattr__(name: str) -> Any:
    if name == "ExplorerWidget":
        from datatailr.jupyter_ext._widget import ExplorerWidget

        return ExplorerWidget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
