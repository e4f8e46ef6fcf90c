"""The account book: who may use the consoles, kept in the database (``accounts``, 0009).

Passwords are argon2id hashes (argon2-cffi's PasswordHasher), made and checked on the
console: the server stores hashes only. Every call opens a connection of its own and
blocks on the database and on argon2 (a few hundred ms): call it from a worker thread,
never the GUI thread.

Logging in (``log_in``) and signing (``check_signature``) follow one set of rules: a
wrong password counts a failure; ``max_failed_logins`` failures in a row lock the
account for ``lockout_minutes``; a disabled or locked account is refused with the
reason; a right password resets the count; an account whose password an administrator
set (``add``, ``reset_password``) must change it (``change_password``) before it may
log in or sign.

**While the database is away** (an outage, a server restart), a login or a signature
is checked against this console's copy of the accounts (store.account_cache), written
after every successful contact. It allows exactly this: a person this console has seen
(logged in, or listed) may log in and act with the password they had then, so an abort
during an outage is possible. It allows no change to an account (those need the
database, AccountsUnreachable), and it cannot know what another console changed
meanwhile: an account disabled, or a password reset, since this console's last contact
still works here until the database is back. Failures counted offline lock the
account on this console only.

Changes to accounts need an administrator's Actor (MANAGE_USERS, else PermissionDenied);
accounts are never deleted (the database refuses it): they are disabled. The last
enabled administrator cannot be disabled or given another role. Every action is
reported to ``on_event`` (AccountEvent), for the audit trail.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ald_gui.domain.accounts import Actor, Permission, PermissionDenied, Role
from ald_gui.store.account_logins import Logins
from ald_gui.store.account_records import (
    COLUMNS,
    MIN_PASSWORD_LENGTH,
    Account,
    AccountError,
    AccountEvent,
    AccountsUnreachable,
    Login,
    LoginRefused,
    Why,
    account_of,
    check_new_password,
    check_user_name,
    person_role,
)

__all__ = [
    "MIN_PASSWORD_LENGTH", "Account", "AccountBook", "AccountError", "AccountEvent",
    "AccountsUnreachable", "Login", "LoginRefused", "Why",
]  # fmt: skip

# Serialises the making of the first administrator between consoles ("ald_acct").
_FIRST_ADMIN_LOCK = 0x616C645F61636374


class AccountBook(Logins):
    """The accounts in the database at ``dsn`` (a writer's login); see the module."""

    # -- reading -----------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        """Every account, by user name. Raises AccountsUnreachable."""
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {COLUMNS} FROM accounts ORDER BY user_name").fetchall()
            conn.rollback()
            self._refresh_copy(conn)
        return [account_of(r) for r in rows]

    def account(self, user: str) -> Account:
        """The account ``user``; AccountError if there is none."""
        for a in self.accounts():
            if a.user == user:
                return a
        raise AccountError(f"no account {user!r}: see `ald-gui users list`")

    def has_administrator(self) -> bool:
        """Whether an enabled administrator exists (else the first is still to be made)."""
        return any(a.role is Role.ADMINISTRATOR and not a.disabled for a in self.accounts())

    # -- changes -----------------------------------------------------------------------

    def create_first_administrator(self, user: str, full_name: str, password: str) -> Account:
        """The first administrator, with the password the installing person chose (there
        is no default). Refused (AccountError) once an enabled administrator exists: from
        then on, administrators make accounts."""
        check_user_name(user)
        check_new_password(user, password)
        hashed = self._hasher.hash(password)
        with self._connect() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FIRST_ADMIN_LOCK,))
                row = conn.execute(
                    "SELECT user_name FROM accounts WHERE role = 'administrator'"
                    " AND NOT disabled LIMIT 1"
                ).fetchone()
                if row is not None:
                    raise AccountError(
                        f"an administrator exists already ({row[0]}): log in as an "
                        "administrator to add accounts (`ald-gui users add`)"
                    )
                self._insert(conn, user, full_name, Role.ADMINISTRATOR, hashed, must_change=False)
            self._refresh_copy(conn)
        by = Actor(user, Role.ADMINISTRATOR, full_name)
        self._report(AccountEvent("administrator create", user, by, after="administrator"))
        return self.account(user)

    def add(self, by: Actor, user: str, full_name: str, role: Role | str, password: str) -> Account:
        """A new account with a first password that its person must change at the first
        login. AccountError if the name is taken or unusable."""
        self._require(by)
        check_user_name(user)
        chosen = person_role(role)
        check_new_password(user, password)
        hashed = self._hasher.hash(password)
        with self._connect() as conn:
            with conn.transaction():
                self._insert(conn, user, full_name, chosen, hashed, must_change=True)
            self._refresh_copy(conn)
        self._report(AccountEvent("user create", user, by, after=str(chosen)))
        return self.account(user)

    def disable(self, by: Actor, user: str) -> None:
        """The account can no longer log in or sign (its records stay)."""
        self._require(by)
        self._change(by, user, "user disable", "disabled = true", (), "enabled", "disabled")

    def enable(self, by: Actor, user: str) -> None:
        """The account may log in again (its failures and lock are forgotten)."""
        self._require(by)
        self._change(
            by, user, "user enable", "disabled = false, failed_logins = 0, locked_until = NULL",
            (), "disabled", "enabled",
        )  # fmt: skip

    def set_role(self, by: Actor, user: str, role: Role | str) -> None:
        self._require(by)
        chosen = person_role(role)
        before = self.account(user).role
        self._change(by, user, "user role", "role = %s", (str(chosen),), str(before), str(chosen))

    def reset_password(self, by: Actor, user: str, password: str) -> None:
        """An administrator sets a new password, which its person must change at the
        next login; the account's failures and lock are forgotten."""
        self._require(by)
        check_new_password(user, password)
        self._change(
            by, user, "password reset",
            "password_hash = %s, must_change_password = true, failed_logins = 0,"
            " locked_until = NULL", (self._hasher.hash(password),),
        )  # fmt: skip

    def change_password(self, user: str, old: str, new: str) -> None:
        """A person changes their own password (also the one an administrator set):
        ``old`` is checked like a login (a wrong one counts), ``new`` must differ."""
        user = user.strip().lower()
        if new == old:
            raise AccountError("the new password must differ from the old one")
        check_new_password(user, new)
        account = self._authenticate(user, old, "password change").account
        self._change(
            account.actor, user, "password change",
            "password_hash = %s, must_change_password = false", (self._hasher.hash(new),),
        )  # fmt: skip

    # -- plumbing ----------------------------------------------------------------------

    @staticmethod
    def _require(by: Actor) -> None:
        if not by.may(Permission.MANAGE_USERS):
            raise PermissionDenied(by, Permission.MANAGE_USERS)

    def _insert(
        self,
        conn: psycopg.Connection[Any],
        user: str,
        full_name: str,
        role: Role,
        hashed: str,
        *,
        must_change: bool,
    ) -> None:
        inserted = conn.execute(
            "INSERT INTO accounts (user_name, full_name, role, password_hash,"
            " must_change_password) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (user_name) DO NOTHING",
            (user, full_name.strip(), str(role), hashed, must_change),
        )
        if inserted.rowcount == 0:
            raise AccountError(
                f"an account {user!r} exists already (accounts are never removed): "
                "choose another name, or enable that account"
            )

    def _change(
        self,
        by: Actor,
        user: str,
        action: str,
        assignments: str,
        values: tuple[object, ...],
        before: str = "",
        after: str = "",
    ) -> None:
        with self._connect() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FIRST_ADMIN_LOCK,))
                row = conn.execute(
                    "SELECT role, disabled FROM accounts WHERE user_name = %s FOR UPDATE", (user,)
                ).fetchone()
                if row is None:
                    raise AccountError(f"no account {user!r}: see `ald-gui users list`")
                conn.execute(
                    f"UPDATE accounts SET {assignments}, changed_at = now() WHERE user_name = %s",
                    (*values, user),
                )
                if row[0] == Role.ADMINISTRATOR and not row[1]:
                    self._keep_an_administrator(conn, user)
            self._refresh_copy(conn)
        self._report(AccountEvent(action, user, by, before, after))

    @staticmethod
    def _keep_an_administrator(conn: psycopg.Connection[Any], user: str) -> None:
        """Raise (rolling the change back) if ``user`` was the last enabled administrator."""
        row = conn.execute(
            "SELECT count(*) FROM accounts WHERE role = 'administrator' AND NOT disabled"
        ).fetchone()
        if row is not None and row[0] == 0:
            raise AccountError(
                f"{user} is the last enabled administrator: make another administrator "
                "first, so someone can still manage the accounts"
            )
