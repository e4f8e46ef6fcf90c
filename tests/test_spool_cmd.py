"""``ald-gui spool`` and doctor's spool check, as a user runs them: the dead letters are
seen while a console records into the spool, and a replay is exactly once."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg

from ald_gui.config.models import AppConfig
from ald_gui.domain.stream import Batch, Run, RunStarted, StreamItem
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.spool import Spool
from tests.ald_process import ald, write_plant_config
from tests.fixtures.pg import scalar

T0 = 1_700_000_000_000_000


def _items(config: AppConfig) -> tuple[RunStarted, list[Batch]]:
    keys = [t.key for t in config.tags[:3]]
    run = Run(uuid.uuid4(), config.database.machine, "alice", T0)
    batches = [
        Batch(2 + i, T0 + 1_000 * (i + 1), {k: float(i) for k in keys}, run.id) for i in range(4)
    ]
    return RunStarted(1, run), batches


def _dead_lettered(spool: Spool, items: Sequence[StreamItem], reason: str) -> uuid.UUID:
    """Journal ``items`` and set them aside as one group, as the writer would have."""
    spool.append(items)
    group = spool.next_group(len(items))
    assert group is not None and list(group.items) == items
    spool.quarantine(group, reason)
    return group.transaction_id


def test_dead_letters_are_listed_and_doctor_fails_while_a_console_records(
    reference_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    config_file = write_plant_config(tmp_path, reference_config, migrated_pg_dsn)
    start, batches = _items(reference_config)
    with Spool(tmp_path / "spool.sqlite3") as spool:  # held, as a running console holds it
        txid = _dead_lettered(spool, [start, *batches[:1]], "CheckViolation: no_777")
        listed = ald("spool", "list", data_dir=tmp_path)
        as_json = ald("spool", "list", "--json", data_dir=tmp_path)
        doctor = ald("doctor", "--data", "--json", "--config", config_file, data_dir=tmp_path)
        replay = ald("spool", "replay", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "RunStarted seq 1: CheckViolation: no_777" in listed.stdout
    assert "Batch seq 2: CheckViolation: no_777" in listed.stdout
    [first, second] = json.loads(as_json.stdout)
    assert (first["transaction_id"], first["type"]) == (str(txid), "RunStarted")
    assert second["item"]["values"] == batches[0].values
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    spool_check = checks["spool"]
    assert not spool_check["ok"] and "2 dead-lettered items" in spool_check["detail"]
    assert spool_check["figures"]["console_recording"] is True
    assert replay.returncode == 1 and "a console is recording" in replay.stderr


def test_a_replay_commits_dead_letters_once_even_when_run_again_or_its_ack_is_lost(
    reference_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    config_file = write_plant_config(tmp_path, reference_config, migrated_pg_dsn)
    machine = reference_config.database.machine
    with psycopg.connect(migrated_pg_dsn) as conn:
        sync_parameters(conn, machine, reference_config.tags)
    start, batches = _items(reference_config)
    ghost = Batch(9, T0 + 9_000, {"ghost.tag": 1.0}, start.run.id)
    spool_path = tmp_path / "spool.sqlite3"
    with Spool(spool_path) as spool:
        _dead_lettered(spool, [start, *batches[:2]], "InsufficientPrivilege: at the time")
        _dead_lettered(spool, batches[2:], "UndefinedTable: at the time")
        _dead_lettered(spool, [ghost], "GroupRejected: unknown tag")
    before_replay = tmp_path / "spool-before-replay.sqlite3"
    shutil.copy(spool_path, before_replay)

    first = ald("spool", "replay", "--config", config_file, data_dir=tmp_path)
    assert first.returncode == 1, first.stderr  # the ghost stays: its tag is unknown
    assert "2 groups replayed, 1 kept" in first.stdout
    assert "ghost.tag" in first.stdout
    rows = 4 * 3
    history = "SELECT count(*) FROM parameter_value_history"
    assert scalar(migrated_pg_dsn, history) == rows
    assert scalar(migrated_pg_dsn, "SELECT count(*) FROM process_data_points") == rows
    assert scalar(migrated_pg_dsn, "SELECT count(*) FROM process_executions") == 1
    listed = ald("spool", "list", data_dir=tmp_path)
    assert "Batch seq 9" in listed.stdout and "seq 2" not in listed.stdout

    again = ald("spool", "replay", "--config", config_file, data_dir=tmp_path)
    assert "0 groups replayed, 1 kept" in again.stdout
    # As if the first replay had committed and died before forgetting its letters.
    shutil.copy(before_replay, spool_path)
    lost_ack = ald("spool", "replay", "--config", config_file, data_dir=tmp_path)
    assert lost_ack.stdout.count("was in") == 2, lost_ack.stdout
    assert scalar(migrated_pg_dsn, history) == rows
    assert scalar(migrated_pg_dsn, "SELECT count(*) FROM write_transactions") == 2


def test_dead_letters_export_as_json_lines_with_their_raw_rows(
    reference_config: AppConfig, tmp_path: Path
) -> None:
    start, _ = _items(reference_config)
    with Spool(tmp_path / "spool.sqlite3") as spool:
        _dead_lettered(spool, [start], "CheckViolation")
        done = ald("spool", "export", tmp_path / "letters.jsonl", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    [line] = (tmp_path / "letters.jsonl").read_text().splitlines()
    letter = json.loads(line)
    assert letter["item"]["run"]["operator"] == "alice" and letter["body_base64"]
    missing = ald("spool", "list", data_dir=tmp_path / "elsewhere")
    assert missing.returncode == 1 and "no spool at" in missing.stderr
