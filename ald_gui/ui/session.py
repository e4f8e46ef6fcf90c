"""Who uses this window: logging in (off the GUI thread), switching user, logging out,
and the idle logout. The engine knows the person (``Engine.session``) and checks every
command against their role; this object tells the window when that changes
(``changed(Actor or None)``), so it can grey what the person may not do.

Logging out, by hand or idle, never stops the engine: the console keeps recording and
a run under way goes on; the window drops to viewing only.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from ald_gui.domain.accounts import Actor
from ald_gui.engine.engine import Engine
from ald_gui.ui.idle_watch import IdleWatch

__all__ = ["Session"]

_NEVER = 0


class Session(QObject):
    """``changed(actor)`` after every log in, switch and log out (None: nobody);
    ``logged_out(why)`` when the console itself logged the person out (idle)."""

    changed = Signal(object)
    logged_out = Signal(str)

    def __init__(
        self, engine: Engine, *, idle_ms: int | None = None, parent: QObject | None = None
    ) -> None:
        """``idle_ms``: the idle logout after so long without input (default: the
        configuration's ``[accounts] idle_logout_minutes``; 0: never)."""
        super().__init__(parent)
        self._engine = engine
        if idle_ms is None:
            idle_ms = round(engine.config.accounts.idle_logout_minutes * 60_000)
        self.idle_ms = idle_ms
        self.idle = IdleWatch(max(idle_ms, 1), self)
        self.idle.idled.connect(self._idled)

    @property
    def actor(self) -> Actor | None:
        return self._engine.session

    @property
    def starts_with_login(self) -> bool:
        """Whether the console asks for a login at start (else it starts viewing only)."""
        return self._engine.config.accounts.start_as == "login"

    def log_in(self, user: str, password: str) -> Actor:
        """Check ``user``'s password and make them this console's person. Blocks
        (argon2, the account book): call it from a worker thread, then ``logged_in``
        on the GUI thread. Raises the engine's refusal, which names why."""
        return self._engine.log_in(user, password)

    def logged_in(self, actor: Actor) -> None:
        """On the GUI thread, after ``log_in`` answered ``actor``."""
        if self.idle_ms != _NEVER:
            self.idle.start()
        self.changed.emit(actor)

    def log_out(self) -> None:
        """Nobody at the window any more; the console records on."""
        self.idle.stop()
        if self._engine.session is not None:
            self._engine.log_out()
        self.changed.emit(None)

    @Slot()
    def _idled(self) -> None:
        if self._engine.session is None:
            return
        seconds = self.idle_ms / 1000
        span = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
        self.log_out()
        self.logged_out.emit(f"Logged out after {span} without input")
