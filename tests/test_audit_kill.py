"""The audit trail across a kill -9 of the console: a headless console (a real process,
driven over its run control) is killed while a commit is in flight and audit entries
wait in its spool; started again on the same data directory, it commits each of them
exactly once, and the chain verifies."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections import Counter
from contextlib import closing
from pathlib import Path

import psycopg

from ald_gui.config.models import AppConfig
from ald_gui.domain.audit import AuditEntry
from ald_gui.sim.server import Simulator
from ald_gui.store.audit_verify import verify_chains
from ald_gui.store.migrations import upgrade
from ald_gui.store.server import EmbeddedServer
from ald_gui.store.spool_file import read_key_sets
from ald_gui.store.spool_items import decode_item
from tests.console_process import Console, write_config
from tests.fixtures.plc import frozen_clock
from tests.test_faults_process import _GATE, _GATE_SQL, _hung_commits
from tests.waiting import wait_until

ACKS = 6  # acknowledgements of an alarm that does not exist: each one a refused entry


def _spooled_entries(path: Path) -> list[AuditEntry]:
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT kind, body FROM spool ORDER BY pos").fetchall()
        key_sets = read_key_sets(db)
    items = (decode_item(kind, body, key_sets.__getitem__) for kind, body in rows)
    return [i for i in items if isinstance(i, AuditEntry)]


def _stored(dsn: str) -> list[tuple[int, str, str]]:
    with psycopg.connect(dsn) as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute(
                "SELECT seq, action, account FROM audit_entries ORDER BY position"
            ).fetchall()
        ]


def test_entries_spooled_at_a_kill_9_are_committed_once_after_the_restart(
    reference_config: AppConfig,
) -> None:
    root = Path(tempfile.mkdtemp(prefix="ald-audit-kill-"))
    root.chmod(0o711)  # under root, the server account passes through to its cluster
    try:
        with (
            EmbeddedServer(root / "pg" / "data") as server,
            Simulator(reference_config, clock=frozen_clock) as sim,
            psycopg.connect(server.dsn, autocommit=True) as admin,
        ):
            with psycopg.connect(server.dsn) as conn:
                upgrade(conn)
                conn.execute(_GATE_SQL)
                conn.commit()
            dsn, data_dir = server.dsn, root / "data"
            config = write_config(root / "plant.toml", plc_port=sim.port, dsn=dsn)
            with Console(config, data_dir, root) as first:
                first.ready()
                first.start_run("frank", "killed with entries in its spool")
                wait_until(lambda: len(_stored(dsn)) >= 2, 15, "the first entries committed")
                admin.execute("SELECT pg_advisory_lock(%s)", (_GATE,))
                wait_until(lambda: _hung_commits(dsn) == 1, 10, "a commit to hang inside COMMIT")
                for i in range(ACKS):
                    status, body = first.request("POST", f"/alarms/ack?id=ghost-{i}&note=n")
                    assert status in (200, 409, 404, 400), body
                status, body = first.request("POST", "/runs/stop?reason=before+the+kill")
                assert status == 200, body
                depth = first.spool_depth()
                wait_until(lambda: first.spool_depth() >= depth + 20, 10, "the spool to grow")
                first.kill_9()
            spooled = _spooled_entries(data_dir / "spool.sqlite3")
            admin.execute("SELECT pg_advisory_unlock(%s)", (_GATE,))
            with Console(config, data_dir, root) as second:
                second.ready()
                wait_until(lambda: second.spool_depth() == 0, 30, "the spool to be replayed")
                assert second.terminate() == 0
            stored = _stored(dsn)
            with psycopg.connect(dsn) as conn:
                checks = verify_chains(conn)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    assert [c.ok for c in checks] == [True], [str(c) for c in checks]
    seqs = [s for s, _, _ in stored]
    assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs)  # once each, in stream order
    assert len(spooled) >= ACKS + 1  # the acknowledgements and the stop waited in the spool
    assert {e.seq for e in spooled} <= set(seqs)
    actions = Counter(a for _, a, _ in stored)
    assert actions["config loaded"] == 2  # one per session
    assert actions["run start"] == 1 and actions["run stop"] == 1
    assert actions["alarm acknowledge refused"] == ACKS
