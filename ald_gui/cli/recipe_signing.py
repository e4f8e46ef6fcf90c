"""Signing a recipe release on the command line (``ald-gui recipe release``).

A release is an electronic signature (21 CFR 11.50): the releasing account types its
password again, and, where ``[accounts] release_needs_second_person`` says so, a second
account does too; each must hold the permission to release a recipe. The release and
its signatures are an audit entry ("recipe release"), committed to the machine's chain
before the release is written to the library: a release the trail cannot record is not
made (the database must be reachable), so no release goes unrecorded.

The entry is stamped by the command's own clock (its seq and time are now, in
microseconds), not a console's stream: the chain orders entries by commit.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import Any

import psycopg

from ald_gui.cli.audit_record import commit_entry, entry_now
from ald_gui.config import paths
from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Permission
from ald_gui.domain.audit import AuditEntry, Meaning, Signature
from ald_gui.domain.recipe import Recipe
from ald_gui.store.accounts import AccountBook, AccountError


class ReleaseRefused(Exception):
    """The release is not made; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class Signer:
    """Who signs, and where the password comes from: the environment variable
    ``password_env`` (automation), else a prompt on the terminal."""

    account: str
    password_env: str | None

    def password(self) -> str:
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ReleaseRefused(
                    f"the password of {self.account} was to come from ${self.password_env}, "
                    "which is not set"
                )
            return value
        return getpass.getpass(f"password of {self.account} (signing the release): ")


def _sign(book: AccountBook, signer: Signer, meaning: Meaning) -> tuple[Actor, Signature]:
    try:
        account = book.check_signature(signer.account, signer.password())
    except AccountError as exc:
        raise ReleaseRefused(f"not released: the signature of {signer.account}: {exc}") from exc
    actor = account.actor
    if not actor.may(Permission.RELEASE_RECIPE):
        raise ReleaseRefused(f"not released: {actor} lacks the permission to release a recipe")
    return actor, Signature(actor.account, actor.full_name, meaning)


def signed_release(
    dsn: str, config: AppConfig, data_dir: Any, recipe: Recipe, by: Signer,
    second: Signer | None, reason: str,
) -> AuditEntry:  # fmt: skip
    """The audit entry of releasing ``recipe``, its signatures checked (the second
    person's too when required or given). Raises ReleaseRefused naming why."""
    settings = config.accounts
    if "release" in settings.reason_required_for and not reason.strip():
        raise ReleaseRefused(
            "not released: a reason is required to release a recipe ([accounts] "
            "reason_required_for includes 'release'): give --reason"
        )
    if settings.release_needs_second_person and second is None:
        raise ReleaseRefused(
            "not released: a release needs a second person ([accounts] "
            "release_needs_second_person): give --second ACCOUNT"
        )
    if second is not None and second.account == by.account:
        raise ReleaseRefused(
            f"not released: the second person must be another account than {by.account}"
        )
    book = AccountBook(dsn, paths.accounts_copy_path(paths.data_dir(data_dir)), settings)
    actor, signature = _sign(book, by, Meaning.APPROVED)
    signatures = [signature]
    if second is not None:
        signatures.append(_sign(book, second, Meaning.REVIEWED)[1])
    return entry_now(
        actor, "recipe release", f"{recipe.name} v{recipe.version}", "draft",
        f"released, SHA-256 {recipe.sha256}", reason, tuple(signatures),
    )  # fmt: skip


def record(dsn: str, machine: str, entry: AuditEntry) -> None:
    """Commit ``entry`` to ``machine``'s chain in a write group of its own; raises
    ReleaseRefused when the database cannot take it."""
    try:
        commit_entry(dsn, machine, entry)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ReleaseRefused(
            f"not released: the audit trail cannot record the release ({reason}): "
            "try again once the database is reachable"
        ) from exc
