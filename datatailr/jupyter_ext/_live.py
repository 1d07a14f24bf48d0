"""Live updates: a kernel-side thread that refreshes an explorer while runs are active.

Why a kernel thread and not front-end polling: a front end's comm messages are handled only
when the kernel is idle, so a browser timer asking "anything new?" is stuck exactly when a
user runs a workflow in the next cell. A thread in the kernel keeps refreshing the widget's
traits (sent over IOPub, which is thread-safe) while the main thread is busy.

The thread holds only a weak reference to the widget, polls fast while something is active
and slowly otherwise, pauses while no view is attached, and ends when the widget closes.
"""

from __future__ import annotations

import threading
import weakref
from typing import Protocol


class Pollable(Protocol):
    def poll_once(self) -> bool:
        """Refresh what is shown; True while something shown is still active."""

    @property
    def polling_paused(self) -> bool: ...


class Poller:
    def __init__(self, widget: Pollable, active_interval: float, idle_interval: float) -> None:
        self._widget = weakref.ref(widget)
        self.active_interval = active_interval
        self.idle_interval = idle_interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._active = True  # refresh soon after start: runs may already be going
        self._thread = threading.Thread(target=self._loop, name="datatailr-explorer-poller",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, join: bool = True) -> None:
        self._stop.set()
        self._wake.set()
        if join and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def wake(self) -> None:
        """Poll now (e.g. a rerun just started): then keep the fast pace while it runs."""
        self._active = True
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.active_interval if self._active else self.idle_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            widget = self._widget()
            if widget is None:
                return
            if widget.polling_paused:
                self._active = False
                del widget
                continue
            try:
                self._active = widget.poll_once()
            except Exception:  # noqa: BLE001 - the widget reports its own errors; keep going
                self._active = False
            del widget  # do not keep it alive while sleeping
