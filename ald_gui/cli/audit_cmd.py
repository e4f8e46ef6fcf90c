"""``ald-gui audit verify|export``: the audit trail for whoever must trust it.

``verify [--machine M] [--json]`` recomputes every machine's chain (store.audit_verify)
and names the first broken link; ``export --since T [--until T] [--machine M] --format
csv|pdf -o FILE`` writes the trail of a span for an inspector. Both read through the
reader role. Exit status: 0 done and whole, 1 a chain broken or the database could not
be read or the file written, 2 a bad option.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.alarms_cmd import since_us
from ald_gui.cli.audit_document import html_document, write_csv
from ald_gui.cli.database import database
from ald_gui.config.load import load_config
from ald_gui.domain.stream import now_us
from ald_gui.store.audit_trail import AuditFilter, iter_entries
from ald_gui.store.audit_verify import ChainCheck, verify_chains
from ald_gui.store.server import ServerError


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="the audit trail: verify its chain, export it")
    verbs = p.add_subparsers(dest="audit_command", metavar="VERB", required=True)
    verify = verbs.add_parser("verify", help="recompute every chain, name the first broken link")
    export = verbs.add_parser("export", help="the trail of a span, as CSV or PDF")
    for v in (verify, export):
        v.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
        v.add_argument("--data-dir", type=Path, help="where the database and spool live")
        v.add_argument("--machine", default="", help="only this machine (default: every one)")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(run=_verify)
    export.add_argument(
        "--since", required=True, help="from: a time ago (30m, 24h, 7d) or an ISO time"
    )
    export.add_argument("--until", help="to (excluded): a time ago or an ISO time (default now)")
    export.add_argument("--format", required=True, choices=("csv", "pdf"))
    export.add_argument("-o", "--output", required=True, type=Path, help="the file to write")
    export.set_defaults(run=_export)


def check_json(c: ChainCheck) -> dict[str, Any]:
    return {
        "machine": c.machine, "entries": c.entries, "ok": c.ok,
        "broken": [{"position": b.position, "seq": b.seq, "problem": b.problem}
                   for b in c.broken],
        "ledger": c.ledger,
    }  # fmt: skip


def _verify(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        with (
            database(config, args.data_dir) as (dsn, _where),
            psycopg.connect(dsn, connect_timeout=5) as conn,
        ):
            checks = verify_chains(conn, args.machine or None)
    except (psycopg.Error, ServerError) as exc:
        print(f"ald-gui audit verify: the audit trail could not be read: {exc}")
        return 1
    ok = all(c.ok for c in checks)
    if args.json:
        print(json.dumps({"ok": ok, "machines": [check_json(c) for c in checks]}))
    else:
        for c in checks:
            print(f"ok   {c}" if c.ok else f"FAIL machine {c.machine}: {c}")
            for problem in [*c.broken[1:], *c.ledger[1:]]:
                print(f"     also {problem}")
        if not checks:
            print("ok   no audit entries yet")
    return 0 if ok else 1


def _export(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    now = now_us()
    try:
        since = since_us(args.since, now)
        until = now if args.until is None else since_us(args.until, now)
    except ValueError as exc:
        print(f"ald-gui audit export: {exc}")
        return 2
    if until <= since:
        print(f"ald-gui audit export: --until {args.until} is not after --since {args.since}")
        return 2
    where = args.machine or "every machine"
    span = f"{where}, from {args.since} to {args.until or 'now'}"
    f = AuditFilter(machine=args.machine, since_us=since, until_us=until, limit=None)
    out: Path = args.output
    partial = out.with_name(out.name + ".partial")
    try:
        with (
            database(config, args.data_dir) as (dsn, _where),
            psycopg.connect(dsn, connect_timeout=5) as conn,
        ):
            checks = verify_chains(conn, args.machine or None)
            if args.format == "csv":
                with partial.open("w", newline="", encoding="utf-8") as file:
                    n = write_csv(iter_entries(conn, f), file)
                partial.replace(out)
            else:
                from ald_gui.ui.pdf import html_to_pdf  # Qt only for a PDF

                document, n = html_document(iter_entries(conn, f), span, checks, now)
                html_to_pdf(document, out, title=f"Audit trail: {span}")
    except (psycopg.Error, ServerError) as exc:
        print(f"ald-gui audit export: the audit trail could not be read: {exc}")
        return 1
    except OSError as exc:
        print(f"ald-gui audit export: {out} could not be written: {exc}")
        return 1
    finally:
        partial.unlink(missing_ok=True)
    print(f"{n} audit entries of {span} written to {out}")
    broken = [c for c in checks if not c.ok]
    for c in broken:
        print(f"WARNING: machine {c.machine}: {c}")
    return 1 if broken else 0
