"""Idle logout: no keyboard or mouse input anywhere in the application for a while.

An application-wide event filter restarts a single-shot timer on every input event;
when the timer runs out, ``idled`` is emitted once (the window logs the person out and
drops to the viewer or the login; the engine records on). The timeout is given in
milliseconds so a test can make it short.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal

__all__ = ["IdleWatch"]

_INPUT = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate,
    QEvent.Type.TabletPress, QEvent.Type.TabletMove,
})  # fmt: skip


class IdleWatch(QObject):
    """``idled()`` after ``timeout_ms`` without input while watching (``start``);
    ``stop`` ends the watch (nobody logged in: nothing to log out)."""

    idled = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(timeout_ms)
        self._timer.timeout.connect(self.idled)
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    @property
    def watching(self) -> bool:
        return self._timer.isActive()

    @property
    def remaining_ms(self) -> int:
        """Until the logout; -1 while not watching."""
        return self._timer.remainingTime()

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Every event of the application passes here: a set lookup, nothing more.
        if event.type() in _INPUT and self._timer.isActive():
            self._timer.start()
        return False
