"""``ald-gui doctor`` and ``ald-gui db``, as a user runs them: real processes, real data."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg

from ald_gui.config.models import AppConfig
from ald_gui.domain.stream import Batch, Run, RunStarted
from ald_gui.store.commit import commit_group
from ald_gui.store.migrations import load_migrations
from ald_gui.store.parameters import sync_parameters
from tests.ald_process import ald, write_plant_config
from tests.fixtures.plc import free_port

T0 = 1_700_000_000_000_000


def test_doctor_is_clean_on_whole_data_and_names_a_broken_invariant(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    config_file = write_plant_config(tmp_path, sim_config, migrated_pg_dsn)
    machine = sim_config.database.machine
    with psycopg.connect(migrated_pg_dsn) as conn:
        ids = sync_parameters(conn, machine, sim_config.tags)
        run = Run(uuid.uuid4(), machine, "alice", T0 + 1_000)
        values = {"chamber_heater.temperature_read": 20.0}
        commit_group(
            conn,
            uuid.uuid4(),
            [Batch(1, T0, values), RunStarted(2, run), Batch(3, T0 + 2_000, values, run.id)],
            ids,
            machine,
        )

    clean = ald("doctor", "--json", "--config", config_file, data_dir=tmp_path)
    report = json.loads(clean.stdout)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "database": True,
        "schema": True,
        "invariants": True,
        "audit": True,
        "retention": True,
        "spool": True,
        "plc": True,
    }
    invariants = next(c for c in report["checks"] if c["name"] == "invariants")
    assert invariants["figures"]["checked"] == {
        "history_rows": 2, "run_rows": 1, "runs": 1, "gaps": 0, "steps": 0, "transactions": 1,
        "alarm_events": 0, "refusals": 0, "audit_entries": 0,
    }  # fmt: skip
    assert (
        "1 runs, 0 gaps, 0 recipe steps, 0 alarm events, 0 refused writes, 0 audit entries, "
        "2 history rows, "
        "1 run rows, 1 transactions" in invariants["detail"]
    )

    # A sample inside the run's interval stored without its run row breaks invariant 1.
    with psycopg.connect(migrated_pg_dsn) as conn:
        commit_group(conn, uuid.uuid4(), [Batch(4, T0 + 3_000, values)], ids, machine)
    broken = ald("doctor", "--config", config_file, data_dir=tmp_path)
    assert broken.returncode == 1
    assert "FAIL invariants" in broken.stdout
    assert "invariant 1" in broken.stdout and str(run.id) in broken.stdout


def test_doctor_data_judges_the_data_without_the_plc(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    """After a demo, its simulator is gone: the data's verdict must not depend on it."""
    plc = sim_config.plc.model_copy(update={"port": free_port(), "connect_timeout_s": 0.3})
    config_file = write_plant_config(tmp_path, sim_config.model_copy(update={"plc": plc}),
                               migrated_pg_dsn)  # fmt: skip
    whole = ald("doctor", "--config", config_file, data_dir=tmp_path)
    assert whole.returncode == 1 and "FAIL plc" in whole.stdout
    data = ald("doctor", "--data", "--json", "--config", config_file, data_dir=tmp_path)
    assert data.returncode == 0, data.stdout + data.stderr
    report = json.loads(data.stdout)
    assert report["ok"] and [c["name"] for c in report["checks"]] == [
        "database", "schema", "invariants", "audit", "retention", "spool"
    ]  # fmt: skip


def test_doctor_fails_on_an_unreachable_database_and_plc(tmp_path: Path) -> None:
    config_file = tmp_path / "plant.toml"
    config_file.write_text(
        "[plc]\nport = 1\nconnect_timeout_s = 0.3\n\n"
        '[database]\ndsn = "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2"\n'
        'password_env = ""\n',  # no password needed: the server is simply not there
        encoding="utf-8",
    )
    done = ald("doctor", "--json", "--config", config_file, data_dir=tmp_path)
    assert done.returncode == 1
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert not checks["database"]["ok"] and "unreachable" in checks["database"]["detail"]
    assert not checks["plc"]["ok"]
    assert "Traceback" not in done.stderr


def test_db_status_and_upgrade_on_a_fresh_database(
    sim_config: AppConfig, pg_dsn: str, tmp_path: Path
) -> None:
    config_file = write_plant_config(tmp_path, sim_config, pg_dsn)
    behind = ald("db", "status", "--config", config_file, data_dir=tmp_path)
    assert behind.returncode == 1
    code = len(load_migrations())
    assert f"schema version 0, code version {code}" in behind.stdout
    upgraded = ald("db", "upgrade", "--config", config_file, data_dir=tmp_path)
    every = ", ".join(str(v) for v in range(1, code + 1))
    assert upgraded.returncode == 0 and f"applied migrations {every}" in upgraded.stdout
    current = ald("db", "status", "--config", config_file, data_dir=tmp_path)
    assert current.returncode == 0
    assert f"schema version {code}, code version {code}" in current.stdout
