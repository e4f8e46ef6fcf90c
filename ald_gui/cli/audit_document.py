"""What ``ald-gui audit export`` writes for an inspector: the trail as CSV (every
column, the hashes included, so anyone can recompute the chain) or as an HTML document
laid out on A4 by ``ui.pdf`` (the span, the chain's verdict, one row per entry).

Times are UTC, to the microsecond for the CSV and the millisecond on paper: the
console's stream time of the entry and the server's commit time."""

from __future__ import annotations

import csv
import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import IO

from ald_gui.domain.audit import Signature
from ald_gui.store.audit_trail import AuditRecord
from ald_gui.store.audit_verify import ChainCheck

CSV_COLUMNS = (
    "machine", "position", "seq", "console_time_utc", "committed_time_utc", "account",
    "role", "action", "object", "before", "after", "reason", "signatures", "run_id",
    "prev_hash", "hash",
)  # fmt: skip


def utc(us: int, timespec: str = "microseconds") -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat(sep=" ", timespec=timespec)


def signed(signatures: Sequence[Signature]) -> str:
    """The signatures in words: ``Jane Doe (jdoe): approved; ...``."""
    return "; ".join(f"{s.full_name or s.account} ({s.account}): {s.meaning}" for s in signatures)


def write_csv(records: Iterable[AuditRecord], out: IO[str]) -> int:
    """Write a header and one row per record; returns the rows written."""
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    n = 0
    for r in records:
        e = r.entry
        w.writerow((
            r.machine, r.position, e.seq, utc(e.at_us), utc(r.committed_us), e.account, e.role,
            e.action, e.object, e.before, e.after, e.reason, signed(e.signatures),
            str(e.run_id) if e.run_id else "", r.prev_hash, r.hash,
        ))  # fmt: skip
        n += 1
    return n


_STYLE = """
body { font-family: sans-serif; font-size: 7pt; }
h1 { font-size: 13pt; } p { font-size: 8pt; }
th { background-color: #dddddd; text-align: left; }
td, th { padding: 2px; }
"""


def html_document(
    records: Iterable[AuditRecord], span: str, checks: Sequence[ChainCheck], generated_us: int
) -> tuple[str, int]:
    """The printable trail and the number of entries in it."""
    rows, n = [], 0
    for r in records:
        e = r.entry
        cells = (
            str(r.position), utc(e.at_us, "milliseconds"), utc(r.committed_us, "milliseconds"),
            f"{e.account} ({e.role})", e.action, e.object, e.before, e.after, e.reason,
            signed(e.signatures), r.hash[:12],
        )  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        n += 1
    heads = ("#", "Console time (UTC)", "Committed (UTC)", "Who", "Action", "Object", "Before",
             "After", "Reason", "Signatures", "Hash")  # fmt: skip
    verdicts = "".join(f"<li>{html.escape(str(c))}</li>" for c in checks) or "<li>no entries</li>"
    doc = (
        f"<html><head><style>{_STYLE}</style></head><body>"
        f"<h1>Audit trail</h1><p>{html.escape(span)}; {n} entries; generated "
        f"{utc(generated_us, 'seconds')} UTC by ald-gui audit export.</p>"
        f"<p>Chain verification (every hash recomputed, every ledger count compared):</p>"
        f"<ul>{verdicts}</ul>"
        "<table border='1' cellspacing='0' width='100%'><thead><tr>"
        + "".join(f"<th>{h}</th>" for h in heads)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>"
    )
    return doc, n
