"""Attacks on the lease of a real console's machine: a second console with the same
machine name on the first's database is refused and changes nothing; the first's own
writer login can forge the lease (the writer may renew it), and the console then stops
recording rather than fight, rewriting nothing. On a central server every console's
login is in ``ald_writer``, which grants on rows of every machine: one PC's login can
end another machine's run, write into its history and take its lease (xfail: a hole).
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import tomli_w

from ald_gui.config.load import default_config_path
from tests.attack_target import READER, WRITER, Target
from tests.fixtures.pg import RolesDatabase
from tests.waiting import wait_until


@pytest.fixture
def first(pg_tmp_path: Path) -> Iterator[Target]:
    with Target(pg_tmp_path / "pc-1") as running:
        yield running


def _lease_and_run(t: Target, run: str) -> tuple[object, ...]:
    with psycopg.connect(t.login(READER)) as conn:
        lease = conn.execute("SELECT console, epoch, host, pid, since FROM machine_leases")
        runs = conn.execute(
            "SELECT status, ended_at, operator FROM process_executions WHERE id = %s", (run,)
        )
        return (lease.fetchall(), runs.fetchall())


def test_a_second_console_of_the_machine_on_the_first_ones_database_is_refused(
    first: Target, pg_tmp_path: Path
) -> None:
    run = first.ask("POST", "/runs/start", {"operator": "alice"})["run"]["id"]
    wait_until(lambda: first.count(f"process_executions WHERE id = '{run}'") == 1, 20, "the run")
    before = _lease_and_run(first, run)
    # A copied configuration on a second PC, pointed at the first's server with the
    # first's own writer login and password (the worst a copy can carry).
    port, _ = first.postmaster()
    with default_config_path().open("rb") as f:
        config = tomllib.load(f)
    config["database"] = {
        "dsn": f"host=127.0.0.1 port={port} dbname=postgres user={WRITER}",
        "password_env": "ALD_ATTACK_PASSWORD",
        "machine": "ald-1",
    }
    copied = pg_tmp_path / "copied.toml"
    copied.write_text(tomli_w.dumps(config))
    password = (first.cluster / f"ald_gui_{WRITER}_password").read_text().strip()
    with Target(
        pg_tmp_path / "pc-2",
        "--config",
        str(copied),
        env={"ALD_ATTACK_PASSWORD": password},
        must_start=False,
    ) as second:
        assert second.process.wait(timeout=60) == 1
        assert not second.started
        said = second.stderr()
    assert "machine ald-1 is recorded by another console" in said, said
    assert str(first.data_dir) in said, said  # the holder, named
    assert password not in said + "".join(second.lines)
    assert _lease_and_run(first, run) == before  # still alice's run, still running
    assert first.ask("GET", "/status")["run"]["id"] == run


def test_a_lease_forged_with_the_writer_login_stops_the_console_which_says_so(
    first: Target,
) -> None:
    first.ask("POST", "/runs/start", {"operator": "alice"})
    with psycopg.connect(first.login(WRITER), autocommit=True) as conn:
        conn.execute(
            "UPDATE machine_leases SET console = %s, epoch = epoch + 1, host = 'mallory',"
            " pid = 1, expires_at = now() + interval '1 day'",
            (uuid.uuid4(),),
        )
    assert first.process.wait(timeout=30) == 1  # at its next commit, within a poll or two
    said = first.stderr()
    assert "stopped recording" in said and "host mallory" in said, said
    # What it sampled since is kept aside in its spool, not committed under the forgery.
    assert (first.data_dir / "lease-lost").exists()


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="hole: ald_writer grants on every machine's rows, so on a central server one "
    "console's login can end another machine's run, write its history and take its lease "
    "(needs a login-to-machine mapping and row-level security)",
)
def test_a_consoles_login_cannot_touch_another_machines_record(roles_db: RolesDatabase) -> None:
    tx, run = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(roles_db.admin) as conn:  # ald-2's console recorded this
        conn.execute(
            "INSERT INTO write_transactions (transaction_id, machine, history_rows, run_rows,"
            " gap_rows, first_seq, last_seq) VALUES (%s, 'ald-2', 0, 1, 0, 1, 1)",
            (tx,),
        )
        conn.execute(
            "INSERT INTO process_executions (id, machine, operator, started_at,"
            " transaction_id) VALUES (%s, 'ald-2', 'bob', now(), %s)",
            (run, tx),
        )
    attacks = {
        "end ald-2's run": (
            "UPDATE process_executions SET ended_at = now(), status = 'aborted',"
            f" reason = 'x' WHERE id = '{run}'"
        ),
        "take ald-2's lease": (
            "INSERT INTO machine_leases VALUES ('ald-2', gen_random_uuid(), 1, 'mallory', 1,"
            " '/', now(), now(), now() + interval '1 day')"
        ),
        "write into ald-2's ledger": (
            "INSERT INTO write_transactions (transaction_id, machine, history_rows, run_rows,"
            " gap_rows, first_seq, last_seq) VALUES (gen_random_uuid(), 'ald-2', 0, 0, 0, 1, 1)"
        ),
    }
    done = []
    with psycopg.connect(roles_db.writer, autocommit=True) as conn:  # ald-1's login
        for what, statement in attacks.items():
            try:
                conn.execute(statement)
                done.append(what)
            except psycopg.errors.InsufficientPrivilege:
                pass
    assert done == []
