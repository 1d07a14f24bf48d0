"""``dt ui``: the results explorer as a web page on 127.0.0.1, for users outside Jupyter.

The page is the notebook widget's own front-end bundle (datatailr/jupyter_ext/static/
explorer.js) on a small model that talks over a websocket (static/ui.js); behind the socket
each page gets its own ``ExplorerWidget``, the same state and messages as in a notebook, with
no kernel. Served by tornado (JupyterLab's own server library) on a free port of 127.0.0.1
with a random token in the printed URL, like JupyterLab: a request without it gets 403.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import threading
from pathlib import Path
from typing import Any

import click

from datatailr.cli._options import ENV_VARIABLE, ENVIRONMENTS

STATIC = Path(__file__).resolve().parents[1] / "jupyter_ext" / "static"
COOKIE = "dt_ui_token"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>datatailr · workflow runs</title>
<style>
  body { margin: 0; padding: 12px; background: #fafafa; font-family: system-ui, sans-serif; }
  #dt-connection:empty { display: none; }
  #dt-connection { color: #b71c1c; padding: 6px 0; }
  @media (prefers-color-scheme: dark) {
    body { background: #111;
      --jp-layout-color0: #1e1e1e; --jp-layout-color1: #252526; --jp-layout-color2: #333;
      --jp-border-color1: #616161; --jp-border-color2: #424242;
      --jp-ui-font-color1: rgba(255,255,255,.87); --jp-ui-font-color2: rgba(255,255,255,.6);
      --jp-ui-font-color3: rgba(255,255,255,.38); --jp-brand-color1: #64b5f6;
      --jp-success-color1: #66bb6a; --jp-error-color1: #ef5350; --jp-warn-color1: #ffa726;
      --jp-input-background: #2d2d2d; --jp-cell-editor-background: #1b1b1b; }
  }
</style>
</head>
<body>
<div id="dt-connection" role="status"></div>
<div id="dt-app"></div>
<script type="module" src="./static/ui.js"></script>
</body>
</html>
"""


def _tornado() -> Any:
    try:
        import tornado.web  # noqa: F401
        import tornado.websocket  # noqa: F401
    except ImportError:  # pragma: no cover - jupyterlab brings it
        raise click.ClickException(
            "dt ui needs tornado, a dependency of datatailr: pip install 'tornado>=6.2'."
        ) from None
    import tornado

    return tornado


def make_app(token: str, environment: str | None = None, workflow: str | None = None,
             poll_interval: float = 1.0) -> Any:
    """The tornado application: the page, its two scripts and the state socket."""
    _tornado()
    import tornado.web
    import tornado.websocket

    def authorized(handler: Any) -> bool:
        given = handler.get_query_argument("token", None) or handler.get_cookie(COOKIE) or ""
        return hmac.compare_digest(given.encode(), token.encode())

    class Page(tornado.web.RequestHandler):
        def get(self) -> None:
            if not authorized(self):
                raise tornado.web.HTTPError(403, "open the URL that dt ui printed (with its token)")
            self.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:; "
                            "style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:")
            self.write(PAGE)

    class Script(tornado.web.RequestHandler):
        def get(self, name: str) -> None:
            if not authorized(self):
                raise tornado.web.HTTPError(403)
            self.set_header("Content-Type", "text/javascript; charset=utf-8")
            self.write((STATIC / name).read_bytes())

    class State(tornado.websocket.WebSocketHandler):
        """One page's explorer: traits out as JSON, its messages in."""

        widget: Any = None

        def prepare(self) -> None:
            if not authorized(self):
                raise tornado.web.HTTPError(403)

        def open(self, *args: Any, **kwargs: Any) -> None:
            from datatailr.jupyter_ext._widget import STATE_TRAITS, ExplorerWidget

            loop = asyncio.get_running_loop()
            self._loop = loop
            self.widget = widget = ExplorerWidget(workflow=workflow, environment=environment,
                                                  poll_interval=poll_interval)
            widget.send = lambda content, buffers=None: self._post({"kind": "custom", "content": content})
            widget.observe(lambda change: self._post(
                {"kind": "update", "state": {change["name"]: change["new"]}}), names=list(STATE_TRAITS))
            self._post({"kind": "state", "state": {k: getattr(widget, k) for k in STATE_TRAITS}})

        def _post(self, msg: dict) -> None:
            # Traits change on the widget's live-update thread too: write on the loop's.
            text = json.dumps(msg, default=str)

            def write() -> None:
                if self.ws_connection is not None:
                    self.write_message(text)

            if threading.current_thread() is threading.main_thread() and self._loop.is_running():
                try:
                    if asyncio.get_running_loop() is self._loop:
                        write()
                        return
                except RuntimeError:
                    pass
            self._loop.call_soon_threadsafe(write)

        async def on_message(self, message: str | bytes) -> None:
            try:
                msg = json.loads(message)
            except ValueError:
                return
            widget = self.widget
            if widget is None or not isinstance(msg, dict):
                return
            if msg.get("kind") == "custom" and isinstance(msg.get("content"), dict):
                # Store reads may take a moment: keep the loop free for other pages.
                await asyncio.get_running_loop().run_in_executor(
                    None, widget._on_custom_msg, widget, msg["content"], [])
            elif msg.get("kind") == "set" and isinstance(msg.get("state"), dict):
                from datatailr.jupyter_ext._widget import STATE_TRAITS

                for key, value in msg["state"].items():
                    if key in STATE_TRAITS:
                        setattr(widget, key, value)

        def on_close(self) -> None:
            if self.widget is not None:
                self.widget.close()
                self.widget = None

    return tornado.web.Application([
        (r"/", Page),
        (r"/static/(explorer\.js|ui\.js)", Script),
        (r"/ws", State),
    ], websocket_ping_interval=30)


def serve(token: str, environment: str | None, workflow: str | None, port: int,
          ready: Any = None) -> None:
    """Run the server until interrupted; ``ready(url)`` is called once it listens."""
    import tornado.httpserver
    import tornado.netutil

    async def main() -> None:
        app = make_app(token, environment, workflow)
        sockets = tornado.netutil.bind_sockets(port, address="127.0.0.1")
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        bound = sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{bound}/?token={token}"
        if ready is not None:
            ready(url)
        await asyncio.Event().wait()

    asyncio.run(main())


@click.command("ui")
@click.argument("workflow", required=False)
@click.option("--env", "-e", "environment", type=click.Choice(ENVIRONMENTS, case_sensitive=False),
              default="dev", envvar=ENV_VARIABLE, show_default=True, show_envvar=True,
              help="Environment to show first (the page can switch).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: a free one).")
@click.option("--no-browser", is_flag=True, help="Only print the URL; do not open a browser.")
def ui(workflow: str | None, environment: str | None, port: int, no_browser: bool) -> None:
    """Open the results explorer in a browser: the %dt_runs explorer as a web page.

    Serves on 127.0.0.1 only, with a token in the URL it prints (like JupyterLab); Ctrl-C
    stops it.

    \b
    Examples:
      dt ui
      dt ui daily_sales_report -e prod --no-browser
    """
    _tornado()
    token = secrets.token_hex(24)

    def ready(url: str) -> None:
        click.echo("The datatailr explorer is at (Ctrl-C to stop):", err=True)
        click.echo(f"    {url}", err=False)
        if not no_browser:
            import webbrowser

            webbrowser.open(url)

    serve(token, environment, workflow, port, ready)
