"""The account book's events (logins, failures, lockouts, user changes) into the audit
trail through ``Engine.audit``; those that happen before the engine records (a login
while the database still starts) wait and are recorded, in order, once it does.

No Qt. Called from whichever thread logged in (the window's worker) and the engine's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ald_gui.domain.accounts import Actor
from ald_gui.store.accounts import AccountEvent

Audit = Callable[[str, str, str, str, Actor], None]
"""``(action, object, before, after, by)`` into the trail."""

OFFLINE = "checked against this console's copy of the accounts (the database was away)"


class AccountAudit:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[AccountEvent] = []
        self._audit: Audit | None = None

    def __call__(self, event: AccountEvent) -> None:
        with self._lock:
            if self._audit is None:
                self._waiting.append(event)
                return
            self._record(self._audit, event)

    def start(self, audit: Audit) -> None:
        """From now on events go to ``audit``; the waiting ones first."""
        with self._lock:
            for event in self._waiting:
                self._record(audit, event)
            self._waiting.clear()
            self._audit = audit

    def stop(self) -> None:
        """The engine no longer records (shut down): events wait again, for nothing."""
        with self._lock:
            self._audit = None

    @staticmethod
    def _record(audit: Audit, event: AccountEvent) -> None:
        after = event.after
        if event.offline:
            after = f"{after}; {OFFLINE}" if after else OFFLINE
        audit(event.action, event.user, event.before, after, event.by)
