"""The account book against both servers a console meets (embedded 18, Debian's 15), as
the console's writer login: the first administrator, lockout and its expiry, disabled
accounts, passwords an administrator set, the console's copy while the database is away,
and the database keeping every account."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher

from ald_gui.config.accounts import AccountSettings
from ald_gui.domain.accounts import Actor, PermissionDenied, Role
from ald_gui.store.accounts import (
    AccountBook,
    AccountError,
    AccountEvent,
    AccountsUnreachable,
    LoginRefused,
    Why,
)
from tests.fixtures.pg import RolesDatabase

# Real argon2id, with light parameters: the suite logs in hundreds of times.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ADMIN_PASSWORD = "correct horse battery"
SETTINGS = AccountSettings(max_failed_logins=3, lockout_minutes=15)


class Clock:
    """The time lockouts are measured by, moved on by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _closed_port_dsn() -> str:
    """A DSN of a port nobody listens on: the database is away."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"host=127.0.0.1 port={port} user=nobody dbname=nothing connect_timeout=2"


@pytest.fixture
def book_on(
    roles_db: RolesDatabase, tmp_path: Path
) -> Callable[..., tuple[AccountBook, list[AccountEvent], Clock]]:
    def make(
        dsn: str | None = None, settings: AccountSettings = SETTINGS
    ) -> tuple[AccountBook, list[AccountEvent], Clock]:
        events: list[AccountEvent] = []
        clock = Clock()
        book = AccountBook(
            dsn or roles_db.writer, tmp_path / "accounts-copy.json", settings,
            hasher=FAST, clock=clock, on_event=events.append,
        )  # fmt: skip
        return book, events, clock

    return make


@pytest.fixture
def book(book_on: Callable[..., tuple[AccountBook, list[AccountEvent], Clock]]) -> AccountBook:
    made, _events, _clock = book_on()
    return made


def _admin(book: AccountBook) -> Actor:
    return book.create_first_administrator("ada", "Ada Admin", ADMIN_PASSWORD).actor


def test_the_first_administrator_is_made_once_with_the_installers_password(
    book: AccountBook,
) -> None:
    assert not book.has_administrator()
    with pytest.raises(AccountError, match="too short: at least 8"):
        book.create_first_administrator("ada", "Ada Admin", "short")
    admin = _admin(book)
    assert admin == Actor("ada", Role.ADMINISTRATOR, "Ada Admin")
    assert book.has_administrator()
    with pytest.raises(AccountError, match=r"an administrator exists already \(ada\)"):
        book.create_first_administrator("eve", "Eve", "another long password")
    assert book.log_in("ada", ADMIN_PASSWORD).account.actor == admin
    assert [a.user for a in book.accounts()] == ["ada"]


def test_lockout_after_the_configured_failures_and_its_expiry(
    book_on: Callable[..., tuple[AccountBook, list[AccountEvent], Clock]],
) -> None:
    book, events, clock = book_on()
    _admin(book)
    for _ in range(2):
        with pytest.raises(LoginRefused) as wrong:
            book.log_in("ada", "not the password")
        assert wrong.value.why is Why.WRONG_PASSWORD
    assert book.account("ada").failed_logins == 2
    with pytest.raises(LoginRefused, match="3 times: the account is locked for 15 min") as third:
        book.log_in("ada", "not the password")
    assert third.value.why is Why.LOCKED
    locked_until = book.account("ada").locked_until
    assert locked_until == clock.now + timedelta(minutes=15)
    # The right password does not open a locked account, and is not counted either.
    clock.now += timedelta(minutes=14, seconds=59)
    with pytest.raises(LoginRefused, match="locked after 3 wrong passwords") as still:
        book.log_in("ada", ADMIN_PASSWORD)
    assert still.value.why is Why.LOCKED
    clock.now += timedelta(seconds=2)
    assert book.log_in("ada", ADMIN_PASSWORD).account.failed_logins == 0
    assert book.account("ada").locked_until is None
    assert [e.action for e in events if e.user == "ada"] == [
        "administrator create", "login failed", "login failed", "login failed", "lockout",
        "login",
    ]  # fmt: skip


def test_a_disabled_account_is_refused_and_the_last_administrator_is_kept(
    book: AccountBook,
) -> None:
    admin = _admin(book)
    book.add(admin, "olga", "Olga Operator", "operator", "first password")
    book.change_password("olga", "first password", "olga's own password")
    book.disable(admin, "olga")
    with pytest.raises(LoginRefused, match="disabled: ask an administrator") as refused:
        book.log_in("olga", "olga's own password")
    assert refused.value.why is Why.DISABLED
    with pytest.raises(AccountError, match="ada is the last enabled administrator"):
        book.disable(admin, "ada")
    with pytest.raises(AccountError, match="last enabled administrator"):
        book.set_role(admin, "ada", "engineer")
    assert book.account("ada").role is Role.ADMINISTRATOR and not book.account("ada").disabled
    book.enable(admin, "olga")
    assert book.log_in("olga", "olga's own password").account.role is Role.OPERATOR
    with pytest.raises(PermissionDenied, match="lacks the permission to manage users"):
        book.disable(Actor("olga", Role.OPERATOR), "ada")
    with pytest.raises(AccountError, match="exists already"):
        book.add(admin, "olga", "Olga again", "viewer", "some long password")
    with pytest.raises(AccountError, match="'system' is the console's own role"):
        book.add(admin, "sys", "", "system", "some long password")


def test_a_password_an_administrator_set_must_be_changed(book: AccountBook) -> None:
    admin = _admin(book)
    book.add(admin, "erik", "Erik Engineer", Role.ENGINEER, "given by ada")
    with pytest.raises(LoginRefused, match="must be changed") as must:
        book.log_in("erik", "given by ada")
    assert must.value.why is Why.MUST_CHANGE_PASSWORD
    with pytest.raises(AccountError, match="must differ"):
        book.change_password("erik", "given by ada", "given by ada")
    book.change_password("erik", "given by ada", "erik chose this")
    assert book.log_in("erik", "erik chose this").account.role is Role.ENGINEER
    book.reset_password(admin, "erik", "reset by ada!")
    with pytest.raises(LoginRefused) as again:
        book.log_in("erik", "reset by ada!")
    assert again.value.why is Why.MUST_CHANGE_PASSWORD
    with pytest.raises(LoginRefused) as old:
        book.log_in("erik", "erik chose this")
    assert old.value.why is Why.WRONG_PASSWORD


def test_while_the_database_is_away_a_known_person_logs_in_from_the_copy(
    book_on: Callable[..., tuple[AccountBook, list[AccountEvent], Clock]],
) -> None:
    online, _, _ = book_on()
    admin = _admin(online)
    online.add(admin, "olga", "Olga Operator", "operator", "first password")
    online.change_password("olga", "first password", "olga's own password")
    # The same console's copy, the database out of reach.
    away, events, _clock = book_on(_closed_port_dsn())
    login = away.log_in("olga", "olga's own password")
    assert login.offline and login.account.actor == Actor("olga", Role.OPERATOR, "Olga Operator")
    assert events[-1] == AccountEvent("login", "olga", login.account.actor, offline=True)
    with pytest.raises(LoginRefused, match="no copy of the account") as stranger:
        away.log_in("zoe", "whatever it is")
    assert stranger.value.why is Why.UNREACHABLE
    for _ in range(2):
        with pytest.raises(LoginRefused):
            away.log_in("olga", "wrong one")
    with pytest.raises(LoginRefused) as locked:
        away.log_in("olga", "wrong one")
    assert locked.value.why is Why.LOCKED and locked.value.offline
    with pytest.raises(LoginRefused) as still:
        away.log_in("olga", "olga's own password")
    assert still.value.why is Why.LOCKED
    with pytest.raises(AccountsUnreachable):
        away.add(admin, "nina", "", "viewer", "a long password")
    # Back online: the database's record wins (the offline lockout was this console's).
    assert online.log_in("olga", "olga's own password").account.failed_logins == 0


def test_the_database_keeps_every_account_and_hides_hashes_from_the_reader(
    roles_db: RolesDatabase, book: AccountBook
) -> None:
    _admin(book)
    for dsn in (roles_db.writer, roles_db.admin):
        with psycopg.connect(dsn) as conn:
            for statement in ("DELETE FROM accounts", "TRUNCATE accounts"):
                with pytest.raises(
                    psycopg.errors.InsufficientPrivilege, match=r"never removed|permission denied"
                ):
                    conn.execute(statement)
                conn.rollback()
    with psycopg.connect(roles_db.reader) as conn:
        assert conn.execute("SELECT user_name, role FROM accounts").fetchall() == [
            ("ada", "administrator")
        ]
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT password_hash FROM accounts")
    with psycopg.connect(roles_db.writer) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO accounts (user_name, role, password_hash) VALUES"
            " ('mallory', 'administrator', 'plain text')"
        )
