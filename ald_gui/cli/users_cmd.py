"""``ald-gui users ...``: the accounts people log in with (store.accounts).

    ald-gui users create-admin NAME [--full-name TEXT] [--password-env VAR]
    ald-gui users list
    ald-gui users add NAME --role ROLE [--full-name TEXT] [--password-env VAR] --as ADMIN
    ald-gui users disable|enable NAME --as ADMIN
    ald-gui users set-role NAME ROLE --as ADMIN
    ald-gui users reset-password NAME [--password-env VAR] --as ADMIN

``create-admin`` makes the first administrator, only while there is none (the person
installing the console chooses the password; there is no default). Every other change
is made by an administrator, who types their own password (or names a variable holding
it with ``--as-password-env``). Passwords are asked twice on the terminal, or read from
the environment variable named by ``--password-env`` (for automation). The embedded
database is brought up to the code's schema first; an external one is the DBA's
(``ald-gui db init``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.audit_record import commit_entry, of_account_event
from ald_gui.cli.database import database
from ald_gui.config.load import load_config
from ald_gui.domain.accounts import Actor, PermissionDenied, Role
from ald_gui.store import roles
from ald_gui.store.account_records import AccountEvent
from ald_gui.store.accounts import Account, AccountBook, AccountError
from ald_gui.store.roles import Group

_ROLES = [r.value for r in Role if r is not Role.SYSTEM]


class _Usage(Exception):
    """Bad usage: exit status 2, nothing changed."""


def register(sub: Any) -> None:
    p = sub.add_parser("users", help="the accounts people log in with")
    usub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    def action(name: str, text: str, *, by_admin: bool = True) -> argparse.ArgumentParser:
        c: argparse.ArgumentParser = usub.add_parser(name, help=text)
        c.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
        c.add_argument("--data-dir", type=Path, help="where the embedded database lives")
        if by_admin:
            c.add_argument("--as", dest="admin", required=True, metavar="ADMIN",
                           help="the administrator who changes it (asked to log in)")  # fmt: skip
            c.add_argument("--as-password-env", metavar="VAR",
                           help="read the administrator's password from this variable")  # fmt: skip
        c.set_defaults(run=_run)
        return c

    first = action("create-admin", "make the first administrator", by_admin=False)
    first.add_argument("user")
    first.add_argument("--full-name", default="")
    first.add_argument("--password-env", metavar="VAR", help="read the password from this variable")
    action("list", "every account, its role and state", by_admin=False)
    add = action("add", "a new account (its person changes the password at the first login)")
    add.add_argument("user")
    add.add_argument("--role", required=True, choices=_ROLES)
    add.add_argument("--full-name", default="")
    add.add_argument("--password-env", metavar="VAR", help="read the password from this variable")
    for name, text in (("disable", "the account can no longer log in"),
                       ("enable", "the account may log in again")):  # fmt: skip
        action(name, text).add_argument("user")
    role = action("set-role", "give an account another role")
    role.add_argument("user")
    role.add_argument("role", choices=_ROLES)
    reset = action("reset-password", "a new password its person must change at the next login")
    reset.add_argument("user")
    reset.add_argument("--password-env", metavar="VAR", help="read the password from this variable")


def _run(args: argparse.Namespace) -> int:
    try:
        with _book(args) as (book, dsn, machine):
            done: list[AccountEvent] = []
            book.on_event = done.append
            try:
                status = _act(args, book)
            finally:  # a refused attempt (a wrong password) is in the trail too
                recorded = _record(done, dsn, machine)
            return status if recorded else 1
    except _Usage as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (AccountError, PermissionDenied) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _act(args: argparse.Namespace, book: AccountBook) -> int:
    command = args.users_command
    if command == "list":
        for account in book.accounts():
            print(_line(account))
        return 0
    if command == "create-admin":
        made = book.create_first_administrator(args.user, args.full_name, _new_password(args))
        print(f"administrator {made.user} made: log in with it to add the other accounts")
        return 0
    admin = _administrator(args, book)
    match command:
        case "add":
            added = book.add(admin, args.user, args.full_name, args.role, _new_password(args))
            print(f"{added.user} ({added.role}) added: the password is to be changed at login")
        case "disable":
            book.disable(admin, args.user)
            print(f"{args.user} disabled")
        case "enable":
            book.enable(admin, args.user)
            print(f"{args.user} enabled")
        case "set-role":
            book.set_role(admin, args.user, args.role)
            print(f"{args.user} is now {args.role}")
        case "reset-password":
            book.reset_password(admin, args.user, _new_password(args))
            print(f"{args.user}'s password reset: to be changed at the next login")
    return 0


def _record(done: list[AccountEvent], dsn: str, machine: str) -> bool:
    """Each change (and refused attempt) into the machine's audit trail, as a console
    records it; False, said on stderr, if the trail could not take it."""
    for event in done:
        try:
            commit_entry(dsn, machine, of_account_event(event))
        except psycopg.Error as exc:
            why = " ".join(str(exc).split())
            print(f"error: the audit trail could not record {event.action}: {why}", file=sys.stderr)
            return False
    return True


@contextmanager
def _book(args: argparse.Namespace) -> Iterator[tuple[AccountBook, str, str]]:
    config = load_config(args.config)
    external = bool(config.database.dsn)
    with database(config, args.data_dir, Group.WRITER if external else Group.OWNER) as (dsn, _):
        if not external:  # the console's own server: bring it to the code's schema
            with psycopg.connect(dsn) as conn:
                roles.upgrade(conn)
        # No copy for offline logins here: that is each console's, in its data directory.
        yield AccountBook(dsn, None, config.accounts), dsn, config.database.machine


def _administrator(args: argparse.Namespace, book: AccountBook) -> Actor:
    if args.as_password_env:
        password = _from_env(args.as_password_env)
    else:
        password = getpass.getpass(f"{args.admin}'s password: ")
    return book.check_signature(args.admin, password).actor


def _new_password(args: argparse.Namespace) -> str:
    if args.password_env:
        return _from_env(args.password_env)
    first = getpass.getpass(f"new password for {args.user}: ")
    if getpass.getpass("the same again: ") != first:
        raise _Usage("the two passwords differ: nothing changed, try again")
    return first


def _from_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise _Usage(f"the environment variable {name} is not set or empty: set it to the password")
    return value


def _line(a: Account) -> str:
    state = "disabled" if a.disabled else "enabled"
    if a.locked_until is not None:
        state += f", locked until {a.locked_until.astimezone():%Y-%m-%d %H:%M}"
    if a.must_change_password:
        state += ", must change password"
    name = f" ({a.full_name})" if a.full_name else ""
    return f"{a.user}{name}: {a.role}, {state}"
