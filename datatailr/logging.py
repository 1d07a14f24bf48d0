"""``DatatailrLogger``: the vendor SDK's logger, whose lines land in the task's logs.

INFO and below go to stdout, WARNING and above to stderr. The handlers look the streams up
when they write, so a logger made at import time still writes into the captured streams of
whichever task uses it. Also the SDK's small helpers: ``get_log_level()``
($DATATAILR_LOG_LEVEL), ``color_text`` and ``RED``/``GREEN``/... (plain text under
``NO_COLOR``), the level filters, ``ColoredFormatter`` and ``job_name``.
"""

from __future__ import annotations

import getpass
import logging as _logging
import os
import sys
from logging.handlers import RotatingFileHandler
from typing import ClassVar

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

USE_COLOR = not bool(os.environ.get("NO_COLOR", ""))
#: The job this process runs for ($DATATAILR_JOB_NAME, set in every task).
job_name = os.getenv("DATATAILR_JOB_NAME", "unknown_job")

_LEVELS = {"TRACE": _logging.DEBUG, "DEBUG": _logging.DEBUG, "INFO": _logging.INFO,
           "WARNING": _logging.WARNING, "ERROR": _logging.ERROR, "CRITICAL": _logging.CRITICAL}
_COLORS = {"red": "\033[31m", "green": "\033[32m", "yellow": "\033[33m", "blue": "\033[34m",
           "magenta": "\033[35m", "cyan": "\033[36m", "bold": "\033[1m"}
_RESET = "\033[0m"


def get_log_level() -> int:
    """The level named by $DATATAILR_LOG_LEVEL (TRACE/DEBUG/INFO/WARNING/ERROR/CRITICAL),
    INFO by default or when the name is unknown."""
    return _LEVELS.get(os.getenv("DATATAILR_LOG_LEVEL", "INFO").upper(), _logging.INFO)


def color_text(text: str, color_name: str) -> str:
    """``text`` in an ANSI colour (red, green, yellow, blue, magenta, cyan, bold), unless
    NO_COLOR is set or the colour is unknown."""
    code = _COLORS.get(color_name.lower(), "")
    if not USE_COLOR or not code:
        return text
    return f"{code}{text}{_RESET}"


def RED(text: str) -> str:  # noqa: N802 - the SDK's names
    return color_text(text, "red")


def GREEN(text: str) -> str:  # noqa: N802
    return color_text(text, "green")


def YELLOW(text: str) -> str:  # noqa: N802
    return color_text(text, "yellow")


def BLUE(text: str) -> str:  # noqa: N802
    return color_text(text, "blue")


def MAGENTA(text: str) -> str:  # noqa: N802
    return color_text(text, "magenta")


def CYAN(text: str) -> str:  # noqa: N802
    return color_text(text, "cyan")


def BOLD(text: str) -> str:  # noqa: N802
    return color_text(text, "bold")


class MaxLevelFilter(_logging.Filter):
    """Only records at or below ``level``."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: _logging.LogRecord) -> bool:
        return record.levelno <= self.level


class MinLevelFilter(_logging.Filter):
    """Only records at or above ``level``."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: _logging.LogRecord) -> bool:
        return record.levelno >= self.level


class ColoredFormatter(_logging.Formatter):
    """``time - LEVEL - user - job - logger - [Line n]: message``, coloured by level."""

    COLORS: ClassVar[dict[int, str]] = {
        _logging.DEBUG: "\033[34m", _logging.INFO: "\033[32m", _logging.WARNING: "\033[33m",
        _logging.ERROR: "\033[31m", _logging.CRITICAL: "\033[41m",
    }
    RESET = _RESET
    BOLD = "\033[1m"

    def format(self, record: _logging.LogRecord) -> str:
        timestamp, level, message = self.formatTime(record), record.levelname, record.getMessage()
        if USE_COLOR:
            color = self.COLORS.get(record.levelno, self.RESET)
            timestamp = f"{self.BOLD}{timestamp}{self.RESET}"
            level = f"{color}{level}{self.RESET}"
            message = f"{color}{message}{self.RESET}"
        user = os.environ.get("DATATAILR_USER") or getpass.getuser()
        job = os.environ.get("DATATAILR_JOB_NAME", job_name)
        return (f"{timestamp} - {level} - {user} - {job} - {record.name} - "
                f"[Line {record.lineno}]: {message}")


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
    """``DatatailrLogger(name, log_file=None, log_level=get_log_level())`` as in the SDK;
    ``level=`` and ``log_format=`` are this package's keyword extras."""

    def __init__(self, name: str = "datatailr", log_file: str | None = None,
                 log_level: int | None = None, *, level: int | None = None,
                 log_format: str = _FORMAT) -> None:
        chosen = level if level is not None else log_level
        if chosen is None:
            chosen = get_log_level()
        self.logger = _logging.getLogger(name)
        self.logger.setLevel(chosen)
        formatter = _logging.Formatter(log_format)
        if not any(isinstance(h, _StreamAtEmit) for h in self.logger.handlers):
            out = _StreamAtEmit("stdout", lambda r: r.levelno < _logging.WARNING)
            err = _StreamAtEmit("stderr", lambda r: r.levelno >= _logging.WARNING)
            for handler in (out, err):
                handler.setFormatter(formatter)
                self.logger.addHandler(handler)
        if log_file and not any(isinstance(h, RotatingFileHandler)
                                and h.baseFilename == os.path.abspath(log_file)
                                for h in self.logger.handlers):
            file_handler = RotatingFileHandler(log_file, maxBytes=10 * 1024 * 1024, backupCount=5)
            file_handler.setFormatter(formatter)
            self.logger.addHandler(file_handler)
        self.logger.propagate = False

    def get_logger(self) -> _logging.Logger:
        return self.logger
