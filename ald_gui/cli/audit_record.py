"""An audit entry from a command that runs without a console's engine (``ald-gui users``,
``ald-gui recipe release``): stamped by the command's own clock (its seq and time are
now, in microseconds) and committed to the machine's chain in a write group of its own,
exactly as a console's writer commits one (the chain orders entries by commit)."""

from __future__ import annotations

import uuid

import psycopg

from ald_gui.domain.accounts import Actor
from ald_gui.domain.audit import AuditEntry, Signature
from ald_gui.domain.stream import now_us
from ald_gui.store.account_records import AccountEvent
from ald_gui.store.commit import commit_group


def entry_now(
    by: Actor, action: str, object: str, before: str = "", after: str = "", reason: str = "",
    signatures: tuple[Signature, ...] = (),
) -> AuditEntry:  # fmt: skip
    at = now_us()
    return AuditEntry(
        at, at, by.account, str(by.role), action, object, before, after, reason, signatures
    )


def of_account_event(event: AccountEvent) -> AuditEntry:
    """The entry of something the account book did (a user added, disabled, ...)."""
    return entry_now(event.by, event.action, event.user, event.before, event.after)


def commit_entry(dsn: str, machine: str, entry: AuditEntry) -> None:
    """Commit ``entry`` to ``machine``'s chain; raises psycopg.Error if it cannot."""
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        commit_group(conn, uuid.uuid4(), [entry], {}, machine)
