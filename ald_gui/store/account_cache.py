"""This console's copy of the account records, for logging in while the database is away.

The account book (store.accounts) rewrites the copy after every successful contact with
the database, whole, atomically (a new file, flushed, then renamed over the old one),
mode 0600 since it holds the password hashes. When the database cannot be reached, a
login is checked against the copy instead, with the same rules: a disabled or locked
account is refused, a wrong password counts towards the lockout (kept in the copy
until the next contact replaces it with the database's count).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ald_gui.domain.accounts import Role

_FORMAT = 1


class CacheError(Exception):
    """The copy cannot be read or written; ``str()`` names the file and what to do."""


@dataclass(frozen=True, slots=True)
class CachedAccount:
    """One account as the copy holds it (with its hash, unlike store.accounts.Account)."""

    user: str
    full_name: str
    role: Role
    password_hash: str
    disabled: bool
    must_change_password: bool
    failed_logins: int
    locked_until: datetime | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["role"] = str(self.role)
        data["locked_until"] = self.locked_until.isoformat() if self.locked_until else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CachedAccount:
        locked = data["locked_until"]
        return cls(
            user=str(data["user"]),
            full_name=str(data["full_name"]),
            role=Role(data["role"]),
            password_hash=str(data["password_hash"]),
            disabled=bool(data["disabled"]),
            must_change_password=bool(data["must_change_password"]),
            failed_logins=int(data["failed_logins"]),
            locked_until=datetime.fromisoformat(locked) if locked else None,
        )


class AccountCache:
    """The copy in ``path`` (thread-safe). A missing file is an empty copy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def replace_all(self, accounts: list[CachedAccount]) -> None:
        """Make the copy exactly ``accounts`` (after a contact with the database)."""
        with self._lock:
            self._write({a.user: a for a in accounts})

    def get(self, user: str) -> CachedAccount | None:
        with self._lock:
            return self._read().get(user)

    def update(self, account: CachedAccount) -> None:
        """Keep ``account``'s new failure count or lock (a login checked offline)."""
        with self._lock:
            accounts = self._read()
            accounts[account.user] = account
            self._write(accounts)

    def forget_lock(self, user: str) -> None:
        """After an offline login with the right password: the failures start again."""
        with self._lock:
            accounts = self._read()
            held = accounts.get(user)
            if held is not None and (held.failed_logins or held.locked_until):
                accounts[user] = replace(held, failed_logins=0, locked_until=None)
                self._write(accounts)

    def _read(self) -> dict[str, CachedAccount]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {_FORMAT}")
            return {a["user"]: CachedAccount.from_json(a) for a in data["accounts"]}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CacheError(
                f"{self.path}: the console's copy of the accounts cannot be read ({exc}): "
                "delete it; the next login with the database reachable writes it again"
            ) from exc

    def _write(self, accounts: dict[str, CachedAccount]) -> None:
        data = {"format": _FORMAT, "accounts": [a.to_json() for a in accounts.values()]}
        partial = self.path.with_name(self.path.name + ".partial")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, self.path)
        except OSError as exc:
            raise CacheError(
                f"{self.path}: the console's copy of the accounts cannot be written "
                f"({exc.strerror or exc}): check the data directory's space and permissions"
            ) from exc
