"""``ald-gui doctor``: is everything sound? Database, schema, spool, PLC, and the data.

Exit status 0 when every check passes, 1 otherwise; ``--json`` for automation. With
``--data`` the PLC is not asked: the verdict is about the recorded data alone (after a
demo, whose simulator is gone, or on a machine away from the tool).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.database import database
from ald_gui.cli.demo_plc import plc_config
from ald_gui.config import paths
from ald_gui.config.models import AppConfig
from ald_gui.domain.stream import now_us
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import PlcError
from ald_gui.store import migrations, retention
from ald_gui.store.audit_verify import verify_chains
from ald_gui.store.invariants import check_data
from ald_gui.store.server import ServerError
from ald_gui.store.spool_owner import SpoolError, owned
from ald_gui.store.spool_view import SpoolView


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)


def register(sub: Any) -> None:
    p = sub.add_parser("doctor", help="check database, schema, spool, PLC and data integrity")
    p.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    p.add_argument("--data-dir", type=Path, help="where the database and spool live")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--data",
        action="store_true",
        help="check the database, the spool and the recorded data only, not the PLC",
    )
    p.set_defaults(run=_doctor)


# A console commits within seconds; an item older than this while one runs means its
# writer is stuck or the database refuses it (its health strip says which).
_BEHIND_S = 60.0


def _spool(data_dir: Path | None) -> Check:
    """The spool's depth, age and dead letters, read without disturbing a console that
    records into it."""
    path = paths.spool_path(paths.data_dir(data_dir))
    if not path.exists():
        return Check("spool", True, "no spool yet", {"depth": 0})
    recording = owned(path)
    try:
        with SpoolView(path) as spool:
            depth = spool.depth()
            oldest = spool.oldest_unsent_us()
            dead = spool.dead_letter_count()
    except SpoolError as exc:
        return Check("spool", False, str(exc))
    age = None if oldest is None else (now_us() - oldest) / 1e6
    figures = {
        "depth": depth,
        "oldest_unsent_age_s": age,
        "dead_letters": dead,
        "console_recording": recording,
    }
    if dead:
        return Check(
            "spool",
            False,
            f"{dead} dead-lettered items kept in {path} (ald-gui spool list)",
            figures,
        )
    if recording:
        if age is not None and age > _BEHIND_S:
            return Check(
                "spool",
                False,
                f"a console records into it, but {depth} items wait, oldest {age:.0f} s old:"
                " its writer is not committing (see its health strip)",
                figures,
            )
        return Check("spool", True, f"a console records into it; {depth} items on their way",
                     figures)  # fmt: skip
    if depth:
        return Check(
            "spool",
            False,
            f"{depth} items not yet in the database, oldest {age:.0f} s old "
            "(they go first at the next start)",
            figures,
        )
    return Check("spool", True, "empty", figures)


def _plc(config: AppConfig) -> Check:
    with PlcClient(config.plc, config.tags) as client:
        try:
            result = client.poll()
        except PlcError as exc:
            return Check("plc", False, str(exc))
    return Check(
        "plc",
        True,
        f"{len(result.values)} tags in {result.request_count} requests, "
        f"{result.round_trip_s * 1000:.1f} ms",
        {"requests": result.request_count, "round_trip_s": result.round_trip_s},
    )


def _database_checks(config: AppConfig, data_dir: Path | None) -> list[Check]:
    checks = []
    try:
        with (
            database(config, data_dir) as (dsn, where),
            psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn,
        ):
            checks.append(Check("database", True, where))
            state = migrations.status(conn)
            figures = {
                "database_version": state.database_version,
                "code_version": state.code_version,
            }
            if not state.up_to_date:
                detail = "; ".join(state.problems) or (
                    f"migrations {list(state.pending)} pending (ald-gui db upgrade)"
                )
                checks.append(Check("schema", False, detail, figures))
                return checks
            checks.append(Check("schema", True, f"version {state.database_version}", figures))
            checks.append(_invariants(conn, config.database.machine))
            checks.append(_audit(conn))
            checks.append(_retention(conn))
    except (psycopg.Error, ServerError) as exc:
        checks.append(Check("database", False, f"unreachable: {exc}".strip()))
    return checks


def _invariants(conn: psycopg.Connection[Any], machine: str) -> Check:
    data = check_data(conn, machine)
    violations = data.violations
    return Check(
        "invariants",
        not violations,
        "; ".join(str(v) for v in violations) + f" (checked {data.checked} of {machine})"
        if violations
        else f"1-4, 7 and 8 hold for all {data.checked} of {machine}",
        {
            "checked": data.checked.figures(),
            "violations": [
                {
                    "invariant": v.invariant,
                    "rule": v.rule,
                    "count": v.count,
                    "examples": list(v.examples),
                }
                for v in violations
            ],
        },
    )


def _audit(conn: psycopg.Connection[Any]) -> Check:
    """Every machine's audit chain recomputed, as ``ald-gui audit verify`` does."""
    chains = verify_chains(conn)
    broken = [c for c in chains if not c.ok]
    figures = {
        "entries": sum(c.entries for c in chains),
        "machines": {c.machine: {"entries": c.entries, "ok": c.ok} for c in chains},
    }
    if broken:
        detail = "; ".join(f"machine {c.machine}: {c}" for c in broken)
        return Check("audit", False, detail + " (ald-gui audit verify lists every break)", figures)
    whole = ", ".join(f"{c.entries} of {c.machine}" for c in chains) or "no entries yet"
    return Check("audit", True, f"chain whole: {whole}", figures)


def _retention(conn: psycopg.Connection[Any]) -> Check:
    """What retention dropped and when: the history before a cut is gone on purpose."""
    done = retention.drops(conn)
    if not done:
        return Check("retention", True, "nothing dropped", {"drops": []})
    return Check(
        "retention",
        True,
        "; ".join(map(str, done)) + " (the ledger counts those rows as dropped)",
        {"drops": [_as_dict(d) for d in done]},
    )


def _as_dict(drop: retention.Drop) -> dict[str, Any]:
    return {"dropped_at": drop.dropped_at, "dropped_by": drop.dropped_by, "cut": drop.cut,
            "rows": drop.rows}  # fmt: skip


def _doctor(args: argparse.Namespace) -> int:
    config = plc_config(args)  # a running demo's simulator is found
    checks = [*_database_checks(config, args.data_dir), _spool(args.data_dir)]
    if not args.data:
        checks.append(_plc(config))
    ok = all(c.ok for c in checks)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [c.__dict__ for c in checks]}, default=str))
    else:
        for c in checks:
            print(f"{'ok  ' if c.ok else 'FAIL'} {c.name:<11} {c.detail}")
    return 0 if ok else 1
