"""Logging in and signing against the account book, online or from the console's copy.

The base of store.accounts.AccountBook (see its docstring for the rules); kept apart so
each part reads in one sitting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ald_gui.config.accounts import AccountSettings
from ald_gui.domain.accounts import CONSOLE
from ald_gui.store.account_cache import AccountCache, CacheError
from ald_gui.store.account_records import (
    COLUMNS,
    Account,
    AccountEvent,
    AccountsUnreachable,
    Login,
    LoginRefused,
    Why,
    account_from_copy,
    account_of,
    cached_of,
)
from ald_gui.store.db import writer_conninfo

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Logins:
    """The accounts in the database at ``dsn`` (a writer's login), with this console's
    copy in ``cache_path`` (None: no copy, no offline login). ``hasher`` (default:
    argon2-cffi's recommended parameters) makes new hashes; any argon2 hash verifies.
    ``clock`` gives the time that lockouts are measured by (UTC)."""

    def __init__(
        self,
        dsn: str,
        cache_path: Path | None,
        settings: AccountSettings,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = _now,
        on_event: Callable[[AccountEvent], None] | None = None,
    ) -> None:
        self._dsn = writer_conninfo(dsn)
        self._cache = AccountCache(cache_path) if cache_path is not None else None
        self._settings = settings
        self._hasher = hasher or PasswordHasher()
        self._dummy = ""  # see _verify_nobody
        self._clock = clock
        self.on_event = on_event

    # -- logging in ----------------------------------------------------------------

    def log_in(self, user: str, password: str) -> Login:
        """The account, once ``password`` is right and the account may log in; raises
        LoginRefused naming why not (MUST_CHANGE_PASSWORD: the password was right)."""
        login = self._authenticate(user, password, "login")
        self._may_act(login)
        self._report(
            AccountEvent("login", login.account.user, login.account.actor, offline=login.offline)
        )
        return login

    def check_signature(self, user: str, password: str) -> Account:
        """``log_in``'s checks for a signature (the password typed again): a wrong one
        counts towards the lockout like a failed login ("signature failed"). A right one
        is not reported: the entry the signature belongs to records it, with its meaning."""
        login = self._authenticate(user, password, "signature")
        self._may_act(login)
        return login.account

    def _may_act(self, login: Login) -> None:
        if login.account.must_change_password:
            user = login.account.user
            raise LoginRefused(
                user,
                Why.MUST_CHANGE_PASSWORD,
                f"{user}: the password was set by an administrator and must be changed "
                "before the account can be used: choose a new one",
                offline=login.offline,
            )

    def _authenticate(self, user: str, password: str, purpose: str) -> Login:
        """The account whose password is ``password`` (must-change or not), after the
        online or offline checks; raises LoginRefused. ``purpose`` names the failures."""
        user = user.strip().lower()
        try:
            login, refusal = self._authenticate_online(user, password, purpose)
        except (AccountsUnreachable, psycopg.OperationalError):  # away, or lost midway
            login, refusal = self._authenticate_offline(user, password, purpose)
        if refusal is not None:
            raise refusal
        assert login is not None
        return login

    def _authenticate_online(
        self, user: str, password: str, purpose: str
    ) -> tuple[Login | None, LoginRefused | None]:
        with self._connect() as conn:
            with conn.transaction():
                row = conn.execute(
                    f"SELECT {COLUMNS} FROM accounts WHERE user_name = %s FOR UPDATE", (user,)
                ).fetchone()
                if row is None:
                    self._verify_nobody(password)
                    return None, self._wrong(user, purpose, None, offline=False)
                account, hashed = account_of(row), str(row[3])
                refusal = self._refusal(account, offline=False)
                if refusal is not None:
                    return None, refusal
                if not self._verify(hashed, password):
                    failed = account.failed_logins + 1
                    locked = failed >= self._settings.max_failed_logins
                    until = self._lock_end() if locked else None
                    conn.execute(
                        "UPDATE accounts SET failed_logins = %s, locked_until = %s"
                        " WHERE user_name = %s",
                        (0 if locked else failed, until, user),
                    )
                    wrong = self._wrong(user, purpose, until, offline=False)
                else:
                    wrong = None
                    new_hash = (
                        self._hasher.hash(password)
                        if self._hasher.check_needs_rehash(hashed)
                        else hashed
                    )
                    conn.execute(
                        "UPDATE accounts SET failed_logins = 0, locked_until = NULL,"
                        " password_hash = %s WHERE user_name = %s",
                        (new_hash, user),
                    )
                    account = replace(account, failed_logins=0, locked_until=None)
            self._refresh_copy(conn)
        return (None, wrong) if wrong else (Login(account, offline=False), None)

    def _authenticate_offline(
        self, user: str, password: str, purpose: str
    ) -> tuple[Login | None, LoginRefused | None]:
        try:
            held = self._cache.get(user) if self._cache is not None else None
        except CacheError as exc:
            return None, LoginRefused(user, Why.UNREACHABLE, str(exc), offline=True)
        if held is None:
            self._verify_nobody(password)
            return None, LoginRefused(
                user,
                Why.UNREACHABLE,
                f"{user}: the accounts database cannot be reached and this console has no "
                "copy of the account (it never saw it logged in): log in on a console "
                "that has, or once the database is back",
                offline=True,
            )
        assert self._cache is not None
        account = account_from_copy(held)
        refusal = self._refusal(account, offline=True)
        if refusal is not None:
            return None, refusal
        if not self._verify(held.password_hash, password):
            failed = held.failed_logins + 1
            locked = failed >= self._settings.max_failed_logins
            until = self._lock_end() if locked else None
            self._cache.update(
                replace(held, failed_logins=0 if locked else failed, locked_until=until)
            )
            return None, self._wrong(user, purpose, until, offline=True)
        self._cache.forget_lock(user)
        return Login(replace(account, failed_logins=0, locked_until=None), offline=True), None

    def _refusal(self, account: Account, *, offline: bool) -> LoginRefused | None:
        if account.disabled:
            return LoginRefused(
                account.user,
                Why.DISABLED,
                f"{account.user}: the account is disabled: ask an administrator to enable it",
                offline=offline,
            )
        if account.locked_at(self._clock()):
            assert account.locked_until is not None
            until = account.locked_until.astimezone().strftime("%H:%M")
            return LoginRefused(
                account.user,
                Why.LOCKED,
                f"{account.user}: the account is locked after "
                f"{self._settings.max_failed_logins} wrong passwords, until {until}: wait, "
                "or ask an administrator to reset its password",
                offline=offline,
            )
        return None

    def _wrong(
        self, user: str, purpose: str, locked_until: datetime | None, *, offline: bool
    ) -> LoginRefused:
        # Nobody proved who they are: the console itself records the attempt on ``user``.
        self._report(AccountEvent(f"{purpose} failed", user, CONSOLE, offline=offline))
        if locked_until is not None:
            self._report(
                AccountEvent(
                    "lockout", user, CONSOLE, after=locked_until.isoformat(), offline=offline
                )
            )
            return LoginRefused(
                user,
                Why.LOCKED,
                f"{user}: wrong password, {self._settings.max_failed_logins} times: the "
                f"account is locked for {self._settings.lockout_minutes:g} minutes",
                offline=offline,
            )
        return LoginRefused(
            user, Why.WRONG_PASSWORD, "wrong user name or password", offline=offline
        )

    def _lock_end(self) -> datetime:
        return self._clock() + timedelta(minutes=self._settings.lockout_minutes)

    def _verify_nobody(self, password: str) -> None:
        """As long as a wrong password takes: an unknown user name is not told apart by
        the time the answer takes. The hash is made at the first need (a few hundred
        ms), not when the book is made on the GUI thread."""
        if not self._dummy:
            self._dummy = self._hasher.hash("not anyone's password")
        self._verify(self._dummy, password)

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    # -- the database and the copy ---------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        """A connection, or AccountsUnreachable: the database down, no accounts table."""
        try:
            conn = psycopg.connect(self._dsn)
        except psycopg.OperationalError as exc:
            raise AccountsUnreachable(f"the accounts database cannot be reached: {exc}") from exc
        try:
            conn.execute("SELECT 1 FROM accounts LIMIT 0")
            conn.rollback()
        except psycopg.errors.UndefinedTable as exc:
            conn.close()
            raise AccountsUnreachable(
                "the database has no accounts yet (migration 0009): start the console "
                "once, or run `ald-gui db upgrade`"
            ) from exc
        except psycopg.OperationalError as exc:
            conn.close()
            raise AccountsUnreachable(f"the accounts database cannot be reached: {exc}") from exc
        return conn

    def _refresh_copy(self, conn: psycopg.Connection[Any]) -> None:
        if self._cache is None:
            return
        rows = conn.execute(f"SELECT {COLUMNS} FROM accounts ORDER BY user_name").fetchall()
        conn.rollback()
        try:
            self._cache.replace_all([cached_of(r) for r in rows])
        except CacheError as exc:  # the database answered: a stale copy must not refuse it
            log.warning("%s", exc)

    def _report(self, event: AccountEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)
