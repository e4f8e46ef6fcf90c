"""One blocking call at a time, off the GUI thread: a login's password check (argon2,
the account book in the database), a signature's, an account change. The answer comes
back as a signal, queued to the GUI thread.

The call must not touch widgets. An exception is the answer too (the caller shows it
in words); nothing is raised into Qt's event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

__all__ = ["OffThread"]


class OffThread(QObject):
    """``answered(result)`` or ``failed(exception)``, then ``busy(False)``."""

    answered = Signal(object)
    failed = Signal(object)
    busy = Signal(bool)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self, call: Callable[[], Any]) -> bool:
        """Start ``call()`` on a thread; False (nothing started) while one runs."""
        if self.running:
            return False
        self.busy.emit(True)
        self._thread = threading.Thread(
            target=self._run, args=(call,), name=self._name, daemon=True
        )
        self._thread.start()
        return True

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            result = call()
        except Exception as exc:  # the answer: shown to the person in words
            self.failed.emit(exc)
        else:
            self.answered.emit(result)
        finally:
            self.busy.emit(False)

    def wait(self, timeout_s: float = 10.0) -> None:
        """Wait for a call under way (its own timeouts bound it): before a dialog goes."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
