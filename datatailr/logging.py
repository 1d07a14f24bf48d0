"""``DatatailrLogger``: the vendor SDK's logger, whose lines land in the task's logs.

INFO and below go to stdout, WARNING and above to stderr. The handlers look the streams up
when they write, so a logger made at import time still writes into the captured streams of
whichever task uses it.
"""

from __future__ import annotations

import logging as _logging
import sys

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StreamAtEmit(_logging.StreamHandler):
    def __init__(self, which: str, level_filter) -> None:
        super().__init__()
        self.which = which
        self.addFilter(level_filter)

    @property  # type: ignore[override]
    def stream(self):
        return getattr(sys, self.which)

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.__init__ assigns it; we look it up
        pass


class DatatailrLogger:
    def __init__(self, name: str = "datatailr", level: int = _logging.INFO,
                 log_format: str = _FORMAT) -> None:
        self.logger = _logging.getLogger(name)
        self.logger.setLevel(level)
        if not any(isinstance(h, _StreamAtEmit) for h in self.logger.handlers):
            formatter = _logging.Formatter(log_format)
            out = _StreamAtEmit("stdout", lambda r: r.levelno < _logging.WARNING)
            err = _StreamAtEmit("stderr", lambda r: r.levelno >= _logging.WARNING)
            for handler in (out, err):
                handler.setFormatter(formatter)
                self.logger.addHandler(handler)
        self.logger.propagate = False

    def get_logger(self) -> _logging.Logger:
        return self.logger
