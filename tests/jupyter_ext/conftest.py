"""Helpers for the explorer's Python-side tests: a widget whose messages are recorded."""

from __future__ import annotations

import types

import pytest


class Front:
    """Plays the front end: sends custom messages the way the comm delivers them and records
    what the kernel sends back."""

    def __init__(self, widget):
        self.widget = widget
        self.received: list[dict] = []
        self._req = 0
        widget.send = self.received.append  # instance attribute: the comm is not involved

    def __call__(self, type_: str, **payload) -> dict:
        self._req += 1
        self.widget._on_custom_msg(self.widget, {"type": type_, "req": self._req, **payload}, [])
        acks = [m for m in self.received if m.get("type") == "ack" and m.get("req") == self._req]
        if type_ == "bye":  # a view going away expects no answer
            assert acks == []
            return {}
        assert len(acks) == 1, self.received
        return acks[0]

    def other(self) -> list[dict]:
        return [m for m in self.received if m.get("type") != "ack"]


@pytest.fixture
def shell():
    """Just what the widget uses of an IPython shell: its user namespace."""
    return types.SimpleNamespace(user_ns={})


@pytest.fixture
def explorer(home, shell):
    """make(**kwargs) -> (widget, front); every widget is closed after the test."""
    from datatailr.jupyter_ext import ExplorerWidget

    made = []

    def make(**kwargs):
        kwargs.setdefault("poll_interval", None)
        kwargs.setdefault("shell", shell)
        widget = ExplorerWidget(**kwargs)
        made.append(widget)
        return widget, Front(widget)

    yield make
    for widget in made:
        widget.close()
