"""A service and an Excel add-in for the explorer's overview tests, deployed as `python FILE`.

The service answers plain HTTP from the standard library; the add-in is only saved (it runs on
the hosted platform's Excel runtime alone). ``python explorer_services.py`` deploys both.
"""

import http.server

from datatailr.scheduler.job import ExcelAddin, Service


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
        body = b"OK" if self.path == "/health" else b"hello from the price service"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(port):
    print(f"listening on {port}", flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Hello).serve_forever()


def price(ticker: str) -> float:
    return 1.0


if __name__ == "__main__":
    ExcelAddin(name="Price Sheet", entrypoint=price).save()
    Service(name="Price Service", entrypoint=serve).run()
