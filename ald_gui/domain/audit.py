"""The audit trail's entry: who did what, when, to what, from which value to which, why.

An entry is a stream item (exactly once through the spool and the writer, so it survives
a database outage). Entries are chained per machine: each one's ``hash`` is the SHA-256
of the previous entry's hash and the entry's canonical form, so an entry changed,
removed or slipped in afterwards breaks the chain where it happened.

The chain is made where the entries are stored, inside the transaction that commits them
(store.kinds.audit_entry): the database holds the machine's last link, and the commit
order is the stream's order, so the chain needs no state on the console that a crash or
an outage could lose. Its canonical form covers the server's commit time too: the
computer-generated time of the record cannot be changed unseen either.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum

GENESIS = "0" * 64
"""The previous hash of a machine's first entry."""


class Meaning(StrEnum):
    """What an electronic signature says (21 CFR 11.50: the meaning of the signature)."""

    AUTHORED = "authored"
    REVIEWED = "reviewed"
    APPROVED = "approved"


@dataclass(frozen=True, slots=True)
class Signature:
    """A signature as recorded: the account that signed (having typed its password
    again, checked by the engine) and what the signing means."""

    account: str
    full_name: str
    meaning: Meaning


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action, as the console saw it. ``seq`` and ``at_us`` come from the machine's
    stream (the console's clock); the server adds its commit time when it stores it.

    ``action`` is a short fixed word ("login", "login failed", "lockout", "logout",
    "write", "run start", "run stop", "run abort", "recipe release", "alarm acknowledge",
    "alarm shelve", "user create", "config loaded", "denied", ...); ``object`` what it
    was done to (a tag key, a run id, a recipe name and version, an alarm, a user name);
    ``before``/``after`` the values as text ("" when there is none).
    """

    seq: int
    at_us: int
    account: str
    role: str
    action: str
    object: str
    before: str = ""
    after: str = ""
    reason: str = ""
    signatures: tuple[Signature, ...] = ()
    run_id: uuid.UUID | None = None

    def canonical(self, machine: str, committed_us: int) -> bytes:
        """The bytes the hash covers: every field, the machine and the server's commit
        time (microseconds since the epoch), in a fixed layout."""
        fields = {
            "machine": machine, "seq": self.seq, "at_us": self.at_us,
            "committed_us": committed_us,
            "account": self.account, "role": self.role, "action": self.action,
            "object": self.object, "before": self.before, "after": self.after,
            "reason": self.reason,
            "signatures": [[s.account, s.full_name, str(s.meaning)] for s in self.signatures],
            "run_id": str(self.run_id) if self.run_id else None,
        }  # fmt: skip
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def chain_hash(previous: str, entry: AuditEntry, machine: str, committed_us: int) -> str:
    """The entry's link: SHA-256 of the previous entry's hash (hex) and its canonical
    form. ``audit verify`` recomputes it for every entry in order."""
    canonical = entry.canonical(machine, committed_us)
    return hashlib.sha256(previous.encode() + b"\n" + canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRequest:
    """An entry asked for by the engine's callers (``Engine.audit``: a login, a recipe
    released, a user created): what happened, without the stream's seq, time and run,
    which the poll thread's Machine stamps, nor the account, which travels beside it."""

    action: str
    object: str
    before: str = ""
    after: str = ""
    reason: str = ""
    signatures: tuple[Signature, ...] = ()
