"""Export of a run recorded through a real engine and simulator, read back with pyarrow:
the same rows, the same values, the run's metadata; cancelled exports leave no file."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.store.export import (
    ExportCancelled,
    ExportError,
    ExportRequest,
    Format,
    Layout,
    Progress,
    export,
)
from tests.ald_process import ald, write_plant_config
from tests.recorded_run import RecordedRun, record_run, warm_arrow_pools

US = "(extract(epoch FROM {}) * 1000000)::bigint"


@pytest.fixture(scope="module", autouse=True)
def _arrow_pools(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_arrow_pools(tmp_path_factory.mktemp("arrow"))


@pytest.fixture
def recorded(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> RecordedRun:
    return record_run(sim_config, migrated_pg_dsn, tmp_path / "data", qtbot)


def _rows(dsn: str, run: RecordedRun) -> dict[tuple[int, str], float]:
    """(sampled_at µs, tag) -> value of every row of the run, as the database holds it."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT {US.format('d.sampled_at')}, p.key, d.value FROM process_data_points d "
            "JOIN parameters p ON p.id = d.parameter_id WHERE d.run_id = %s",
            (run.run_id,),
        ).fetchall()
    return {(at, key): value for at, key, value in rows}


def _us(table: pa.Table) -> list[int]:
    """The time column in microseconds (CSV reads it back as nanoseconds)."""
    return table.column("time").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()


def _wide_rows(table: pa.Table) -> dict[tuple[int, str], float]:
    times = _us(table)
    out = {}
    for name in table.column_names[1:]:
        for at, value in zip(times, table.column(name).to_pylist(), strict=True):
            if value is not None:
                out[(at, name)] = value
    return out


def _long_rows(table: pa.Table) -> dict[tuple[int, str], float]:
    times = _us(table)
    tags, values = table.column("tag").to_pylist(), table.column("value").to_pylist()
    return {(at, tag): v for at, tag, v in zip(times, tags, values, strict=True)}


def test_a_run_round_trips_through_parquet_and_csv_long_and_wide(
    recorded: RecordedRun, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    stored = _rows(migrated_pg_dsn, recorded)
    instants = {at for at, _ in stored}
    assert len(instants) == recorded.batches > 10
    seen: list[Progress] = []
    # Small windows, so the export runs over many of them (the join of windows counts).
    parquet = export(
        recorded.reader_dsn,
        ExportRequest(tmp_path / "run.parquet", run=str(recorded.run_id)[:8]),
        seen.append,
        chunk_rows=500,
    )
    assert parquet.rows == len(stored) and parquet.instants == len(instants)
    assert len(seen) > 3 and seen[-1].rows_done == len(stored)
    assert all(p.rows_done <= p.rows_estimate for p in seen)
    assert [p.rows_done for p in seen] == sorted(p.rows_done for p in seen)

    table = pq.read_table(tmp_path / "run.parquet")
    assert table.schema.field("time").type == pa.timestamp("us", tz="UTC")
    assert table.num_rows == len(instants)
    assert table.column("time").cast(pa.int64()).to_pylist() == sorted(instants)
    assert _wide_rows(table) == stored
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert meta["run_id"] == str(recorded.run_id)
    assert meta["machine"] == recorded.machine
    assert meta["operator"] == "tester" and meta["status"] == "completed"
    assert meta["recipe_name"] == "export cycles" and meta["recipe_version"] == "1"
    assert meta["recipe_sha256"] == recorded.recipe.sha256
    assert meta["started_at"] < meta["ended_at"]
    units = {t["tag"]: t["unit"] for t in json.loads(meta["tags"])}
    assert set(units) == set(table.column_names[1:])
    assert units["chamber_heater.temperature_read"] == "°C"
    field = table.schema.field("chamber_heater.temperature_read")
    assert field.metadata == {b"unit": "°C".encode()}

    long = export(recorded.reader_dsn, ExportRequest(
        tmp_path / "long.csv", Format.CSV, Layout.LONG, run=str(recorded.run_id)))  # fmt: skip
    wide = export(recorded.reader_dsn, ExportRequest(
        tmp_path / "wide.csv", Format.CSV, Layout.WIDE, run=str(recorded.run_id)))  # fmt: skip
    assert long.rows == wide.rows == len(stored)
    long_table = pa_csv.read_csv(tmp_path / "long.csv")
    assert long_table.column_names == ["time", "tag", "value", "unit"]
    assert _long_rows(long_table) == stored
    assert dict(zip(long_table.column("tag").to_pylist(), long_table.column("unit").to_pylist(),
                    strict=True)) == units  # fmt: skip
    wide_table = pa_csv.read_csv(tmp_path / "wide.csv")
    assert _wide_rows(wide_table) == stored
    assert wide_table.column_names == table.column_names


def test_a_time_span_of_chosen_tags_comes_from_the_history(
    recorded: RecordedRun, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    stored = _rows(migrated_pg_dsn, recorded)
    times = sorted({at for at, _ in stored})
    start, end = times[2], times[-3]  # the span's end is excluded
    tags = ("pressure_gauge_1.pressure_read", "chamber_heater.temperature_read")
    done = export(recorded.reader_dsn, ExportRequest(
        tmp_path / "span.parquet", machine=recorded.machine, from_us=start, to_us=end,
        tags=tags))  # fmt: skip
    table = pq.read_table(tmp_path / "span.parquet")
    assert table.column_names == ["time", *tags]
    want = {(at, k): v for (at, k), v in stored.items() if k in tags and start <= at < end}
    assert _wide_rows(table) == want and done.rows == len(want)
    meta = table.schema.metadata
    assert b"run_id" not in meta and meta[b"machine"] == recorded.machine.encode()


def test_cancel_mid_export_leaves_no_file_at_all(recorded: RecordedRun, tmp_path: Path) -> None:
    target = tmp_path / "out" / "run.parquet"
    target.parent.mkdir()
    windows: list[Progress] = []

    def cancel_after_three() -> bool:
        return len(windows) > 3

    with pytest.raises(ExportCancelled):
        export(recorded.reader_dsn, ExportRequest(target, run=str(recorded.run_id)),
               windows.append, cancel_after_three, chunk_rows=300)  # fmt: skip
    assert 0 < windows[-1].rows_done < windows[-1].rows_estimate  # it stopped half-way
    assert list(target.parent.iterdir()) == []  # neither the file nor a partial one

    # A failure on the way (the file's folder taken away) leaves nothing either, and an
    # earlier export under the same name stays whole until a new one is complete.
    whole = export(recorded.reader_dsn, ExportRequest(target, run=str(recorded.run_id)))
    before = target.read_bytes()
    with pytest.raises(ExportCancelled):
        export(recorded.reader_dsn, ExportRequest(target, run=str(recorded.run_id)),
               cancelled=lambda: True)  # fmt: skip
    assert target.read_bytes() == before and list(target.parent.iterdir()) == [target]
    assert pq.read_table(target).num_rows == whole.instants


def test_bad_requests_are_named(recorded: RecordedRun, tmp_path: Path) -> None:
    run = str(recorded.run_id)
    cases = [
        (ExportRequest(tmp_path / "x.parquet", run="0123abcd"), "run '0123abcd': no run's id"),
        (ExportRequest(tmp_path / "x.parquet", run="01"), "at least its first 4 characters"),
        (ExportRequest(tmp_path / "x.parquet", run=run, tags=("chamber_heater.temperatur",)),
         "unknown tag chamber_heater.temperatur .*did you mean chamber_heater.temperature"),
        (ExportRequest(tmp_path / "x.parquet", machine=recorded.machine, from_us=2, to_us=1),
         "--from 1970-01-01T00:00:00.000002\\+00:00 is not before --to"),
        (ExportRequest(tmp_path / "missing" / "x.parquet", run=run),
         f"cannot write in {tmp_path / 'missing'}"),
        (ExportRequest(tmp_path, run=run), "is a folder"),
    ]  # fmt: skip
    for request, message in cases:
        with pytest.raises(ExportError, match=message):
            export(recorded.reader_dsn, request)
    assert list(tmp_path.glob("*.parquet")) == []


def test_ald_gui_export_writes_the_file_and_names_what_is_wrong(
    recorded: RecordedRun, sim_config: AppConfig, tmp_path: Path
) -> None:
    config = write_plant_config(tmp_path, sim_config, recorded.reader_dsn)
    target = tmp_path / "run.csv"
    done = ald("export", "--config", config, "--run", str(recorded.run_id), "--format", "csv",
               "--layout", "long", "-o", target)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {target}: " in done.stdout
    rows = pa_csv.read_csv(target).num_rows
    assert f"{rows:,} samples" in done.stdout

    unknown = ald("export", "--config", config, "--run", "0123abcd", "-o", tmp_path / "u.csv")
    assert unknown.returncode == 2 and "run '0123abcd': no run's id starts so" in unknown.stderr
    backwards = ald("export", "--config", config, "--from", "2026-12-01T10:00Z",
                    "--to", "2026-12-01T09:00Z")  # fmt: skip
    assert backwards.returncode == 2 and "is not before --to" in backwards.stderr
    bad_time = ald("export", "--config", config, "--from", "yesterday", "--to", "now")
    assert bad_time.returncode == 2 and "--from 'yesterday' is not a time" in bad_time.stderr
    tag = ald("export", "--config", config, "--run", str(recorded.run_id), "--tags", "nope",
              "-o", tmp_path / "t.csv")  # fmt: skip
    assert tag.returncode == 2 and "unknown tag nope" in tag.stderr
    assert not (tmp_path / "u.csv").exists() and not (tmp_path / "t.csv").exists()
