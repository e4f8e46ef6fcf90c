"""The account book's records and words: an account, a login, an event for the audit
trail, the refusals, and the rules a user name, a role and a new password obey.

No database here (store.accounts, store.account_logins use these).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ald_gui.domain.accounts import Actor, Role
from ald_gui.store.account_cache import CachedAccount

MIN_PASSWORD_LENGTH = 8
USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
COLUMNS = (
    "user_name, full_name, role, password_hash, disabled, must_change_password, "
    "failed_logins, locked_until, created_at, changed_at"
)


class AccountError(Exception):
    """A change that cannot be made: bad input (named), an unknown account, a rule (the
    last administrator). ``str()`` says what to do."""


class AccountsUnreachable(AccountError):
    """The database cannot be reached (or has no accounts table yet): nothing changed."""


class Why(StrEnum):
    """Why a login (or a signature) was refused; the value is how the window says it."""

    WRONG_PASSWORD = "wrong user name or password"
    DISABLED = "the account is disabled"
    LOCKED = "the account is locked"
    MUST_CHANGE_PASSWORD = "the password must be changed first"
    UNREACHABLE = "the database cannot be reached and this console has no copy of the account"


class LoginRefused(AccountError):
    """A login or signature refused, ``why`` says why (the message says what to do);
    ``offline`` when it was checked against the console's copy."""

    def __init__(self, user: str, why: Why, message: str, *, offline: bool = False) -> None:
        super().__init__(message)
        self.user = user
        self.why = why
        self.offline = offline


@dataclass(frozen=True, slots=True)
class Account:
    user: str
    full_name: str
    role: Role
    disabled: bool
    must_change_password: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime | None = None  # None in the console's copy
    changed_at: datetime | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.user, self.role, self.full_name)

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True, slots=True)
class Login:
    account: Account
    offline: bool  # checked against the console's copy: the database was away


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """Something the book did, for the audit trail: ``action`` one of "login", "login
    failed", "lockout", "signature failed", "administrator create", "user
    create", "user disable", "user enable", "user role", "password reset", "password
    change"; ``user`` the account it concerns; ``by`` who did it (CONSOLE for a failed
    attempt or a lockout: nobody proved who they are)."""

    action: str
    user: str
    by: Actor
    before: str = ""
    after: str = ""
    offline: bool = False


def account_of(row: tuple[Any, ...]) -> Account:
    name, full, role, _hash, disabled, must, failed, locked, created, changed = row
    return Account(name, full, Role(role), disabled, must, failed, locked, created, changed)


def cached_of(row: tuple[Any, ...]) -> CachedAccount:
    name, full, role, hashed, disabled, must, failed, locked = row[:8]
    return CachedAccount(name, full, Role(role), hashed, disabled, must, failed, locked)


def account_from_copy(c: CachedAccount) -> Account:
    return Account(
        c.user, c.full_name, c.role, c.disabled, c.must_change_password, c.failed_logins,
        c.locked_until,
    )  # fmt: skip


def person_role(role: Role | str) -> Role:
    """``role`` as a Role an account may have, or AccountError naming the choices."""
    choices = ", ".join(r for r in Role if r is not Role.SYSTEM)
    try:
        chosen = Role(role)
    except ValueError:
        raise AccountError(f"{role!r} is not a role: one of {choices}") from None
    if chosen is Role.SYSTEM:
        raise AccountError(f"'system' is the console's own role: one of {choices}")
    return chosen


def check_user_name(user: str) -> str:
    if not USER_NAME.match(user) or user == "console":
        raise AccountError(
            f"{user!r} cannot be a user name: lower-case letters, digits, '.', '_' and "
            "'-', starting with a letter or digit, at most 63 characters ('console' is "
            "the console's own)"
        )
    return user


def check_new_password(user: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip().lower() == user:
        raise AccountError("the password must not be the user name")
