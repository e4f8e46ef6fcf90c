"""``audit verify`` and doctor find every tampering a superuser can do to the trail with
the triggers disabled, and name it: an entry changed, removed, removed at the end,
forged (appended with a correctly computed hash); ``audit export`` writes the trail."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ald_gui.config.models import AppConfig
from ald_gui.domain.audit import AuditEntry, chain_hash
from ald_gui.domain.stream import Run, RunStarted, StreamItem
from ald_gui.store.audit_trail import AuditFilter, count_entries, find_entries
from ald_gui.store.audit_verify import verify_chains
from ald_gui.store.commit import commit_group
from ald_gui.store.db import stream_us
from tests.ald_process import ald, write_plant_config
from tests.test_audit_trail import T0, entry

MACHINE = "ald-1"


@pytest.fixture
def trail(migrated_pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """Ten entries of ald-1 in four transactions (one with a run), three of ald-2."""
    run = Run(uuid.uuid4(), MACHINE, "jdoe", T0 + 3)
    groups: list[list[StreamItem]] = [
        [entry(1, "login"), entry(2)],
        [RunStarted(3, run), entry(4, "run start", run.id), entry(5, run_id=run.id)],
        [entry(6), entry(7), entry(8)],
        [entry(9), entry(10, "logout")],
        [entry(11), entry(12), entry(13, "logout")],
    ]
    with psycopg.connect(migrated_pg_dsn) as conn:
        for group in groups[:4]:
            commit_group(conn, uuid.uuid4(), group, {}, MACHINE)
        commit_group(conn, uuid.uuid4(), groups[4], {}, "ald-2")
        yield conn


def tamper(conn: psycopg.Connection[Any], statement: str) -> None:
    """What a superuser can do: the triggers (and the foreign keys) off for a session."""
    conn.execute("SET session_replication_role = replica")
    conn.execute(statement)
    conn.execute("SET session_replication_role = origin")
    conn.commit()


def verdict(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    return {c.machine: c for c in verify_chains(conn)}


def test_a_whole_trail_verifies_for_every_machine(trail: psycopg.Connection[Any]) -> None:
    checks = verdict(trail)
    assert {m: (c.ok, c.entries) for m, c in checks.items()} == {
        MACHINE: (True, 9), "ald-2": (True, 3)
    }  # fmt: skip
    assert str(checks[MACHINE]) == "machine ald-1: 9 audit entries, chain whole"


def test_an_entry_changed_is_named_at_its_position(trail: psycopg.Connection[Any]) -> None:
    tamper(trail, "UPDATE audit_entries SET after = '2000' WHERE machine = 'ald-1' AND seq = 6")
    c = verdict(trail)[MACHINE]
    [broken] = c.broken  # the entries after it still link to its stored hash
    assert (broken.position, broken.seq) == (5, 6)
    assert broken.problem == "its content does not match its hash: the entry was changed"
    assert c.ledger == [] and verdict(trail)["ald-2"].ok


def test_a_commit_time_changed_is_named_too(trail: psycopg.Connection[Any]) -> None:
    tamper(trail, "UPDATE audit_entries SET committed_at = committed_at - interval '1 s'"
                  " WHERE machine = 'ald-1' AND seq = 9")  # fmt: skip
    [broken] = verdict(trail)[MACHINE].broken
    assert (broken.position, broken.seq) == (8, 9) and "changed" in broken.problem


def test_an_entry_deleted_is_named_and_its_ledger_row_disagrees(
    trail: psycopg.Connection[Any],
) -> None:
    tamper(trail, "DELETE FROM audit_entries WHERE machine = 'ald-1' AND seq = 7")
    c = verdict(trail)[MACHINE]
    assert [(b.position, b.seq, b.problem) for b in c.broken] == [
        (7, 8, "entry 6 of the chain is missing: removed")
    ]
    [ledger] = c.ledger
    assert "wrote 3 audit entries, 2 are stored under it: an entry was removed" in ledger


def test_the_last_entry_deleted_is_found_by_the_head_and_the_ledger(
    trail: psycopg.Connection[Any],
) -> None:
    tamper(trail, "DELETE FROM audit_entries WHERE machine = 'ald-1' AND seq = 10")
    c = verdict(trail)[MACHINE]
    [head] = c.broken
    assert head.problem == "the chain's head is at position 9: entries 9..9 at the end were removed"
    assert "an entry was removed" in c.ledger[0]


def test_an_entry_deleted_and_the_rest_renumbered_breaks_the_next_link(
    trail: psycopg.Connection[Any],
) -> None:
    tamper(trail, "DELETE FROM audit_entries WHERE machine = 'ald-1' AND seq = 7")
    tamper(trail, "UPDATE audit_entries SET position = position - 1"
                  " WHERE machine = 'ald-1' AND position > 6")  # fmt: skip
    tamper(trail, "UPDATE audit_chain_heads SET position = position - 1 WHERE machine = 'ald-1'")
    c = verdict(trail)[MACHINE]
    assert (c.broken[0].position, c.broken[0].seq) == (6, 8)
    assert "previous hash is not the hash of the entry before it" in c.broken[0].problem


def test_a_forged_entry_with_a_correct_hash_is_found_by_the_ledger(
    trail: psycopg.Connection[Any],
) -> None:
    """The superuser continues the chain as the writer would (the trigger accepts it),
    under a transaction id the ledger holds: the count of that transaction gives it away."""
    position, previous, committed = trail.execute(
        "SELECT * FROM audit_chain_head('ald-1')"
    ).fetchone()  # fmt: skip
    tx = trail.execute(
        "SELECT transaction_id FROM write_transactions WHERE machine = 'ald-1'"
        " ORDER BY committed_at DESC LIMIT 1"
    ).fetchone()[0]  # fmt: skip
    forged = AuditEntry(11, T0 + 11, "jdoe", "operator", "write", "valve_1", "0", "1")
    link = chain_hash(previous, forged, MACHINE, stream_us(committed))
    trail.execute(
        "INSERT INTO audit_entries (machine, position, seq, at, committed_at, account, role,"
        " action, object, before, after, prev_hash, hash, transaction_id) VALUES"
        " ('ald-1', %s, 11, to_timestamp(%s), %s, 'jdoe', 'operator', 'write', 'valve_1',"
        " '0', '1', %s, %s, %s)",
        (position + 1, (T0 + 11) / 1e6, committed, previous, link, tx),
    )
    trail.commit()
    c = verdict(trail)[MACHINE]
    assert c.broken == []  # a perfect link...
    [ledger] = c.ledger  # ...that no commit of the console wrote
    assert f"transaction {tx} wrote 2 audit entries, 3 are stored" in ledger
    assert ledger.endswith("an entry was forged")


def test_the_query_api_filters_by_account_action_object_run_and_time(
    trail: psycopg.Connection[Any],
) -> None:
    [start] = find_entries(trail, AuditFilter(action="run start"))
    assert start.entry.run_id is not None and start.position == 3
    in_run = find_entries(trail, AuditFilter(run_id=start.entry.run_id))
    assert [r.entry.seq for r in in_run] == [4, 5]
    assert [r.entry.seq for r in find_entries(trail, AuditFilter(machine="ald-2"))] == [11, 12, 13]
    span = AuditFilter(machine=MACHINE, since_us=T0 + 4, until_us=T0 + 8)
    assert [r.entry.seq for r in find_entries(trail, span)] == [4, 5, 6, 7]
    assert count_entries(trail, AuditFilter(object="flow SETPOINT")) == 12  # any case
    assert count_entries(trail, AuditFilter(account="nobody")) == 0
    page = AuditFilter(machine=MACHINE, limit=4)
    assert [r.entry.seq for r in find_entries(trail, page.page(4))] == [6, 7, 8, 9]


def test_audit_verify_and_doctor_name_the_break_and_fail(
    trail: psycopg.Connection[Any], sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    config = write_plant_config(tmp_path, sim_config, migrated_pg_dsn)
    whole = ald("audit", "verify", "--config", config)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "ok   machine ald-1: 9 audit entries, chain whole" in whole.stdout
    tamper(trail, "UPDATE audit_entries SET reason = 'nothing' WHERE machine = 'ald-2'"
                  " AND position = 2")  # fmt: skip
    broken = ald("audit", "verify", "--config", config, "--json")
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert not report["ok"]
    assert [m["ok"] for m in report["machines"]] == [True, False]
    assert report["machines"][1]["broken"][0] == {
        "position": 2, "seq": 12,
        "problem": "its content does not match its hash: the entry was changed",
    }  # fmt: skip
    doctor = ald("doctor", "--config", config, "--data", "--json", data_dir=tmp_path / "d")
    assert doctor.returncode == 1
    [audit] = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "audit"]
    assert not audit["ok"] and "machine ald-2, position 2 (seq 12)" in audit["detail"]


def test_audit_export_writes_csv_and_pdf_of_a_span(
    trail: psycopg.Connection[Any], sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    config = write_plant_config(tmp_path, sim_config, migrated_pg_dsn)
    out = tmp_path / "trail.csv"
    since = "2023-11-14T22:13:20+00:00"  # T0
    done = ald("audit", "export", "--config", config, "--since", since, "--machine", MACHINE,
               "--format", "csv", "-o", out)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert [int(r["seq"]) for r in rows] == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    assert rows[0]["signatures"] == "Jane Doe (jdoe): authored"
    assert rows[0]["console_time_utc"] == "2023-11-14 22:13:20.000001+00:00"
    stored = find_entries(trail, AuditFilter(machine=MACHINE))
    assert [r["hash"] for r in rows] == [s.hash for s in stored]
    pdf = tmp_path / "trail.pdf"
    printed = ald("audit", "export", "--config", config, "--since", since, "--format", "pdf",
                  "-o", pdf)  # fmt: skip
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and "12 audit entries" in printed.stdout
    bad = ald("audit", "export", "--config", config, "--since", "yesterday", "--format", "csv",
              "-o", tmp_path / "x.csv")  # fmt: skip
    assert bad.returncode == 2 and "--since 'yesterday'" in bad.stdout
    assert not (tmp_path / "x.csv").exists()
