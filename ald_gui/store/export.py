"""Export of a run or a time span to Parquet or CSV, streamed: the rows are read window by
window (store.export_rows) and written as they come (store.export_files), so an export of
any size holds one window in memory.

Read under the reader role (``ald-gui export``, the window's export dialog), in one
read-only REPEATABLE READ transaction: every window sees the same snapshot, so a run
still recording exports as it stood when the export began. Blocks on the database and
the disk: call it from a worker thread, never the GUI thread.
"""

from __future__ import annotations

import difflib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.store.db import db_timestamp
from ald_gui.store.export_files import ExportFile, Format, Layout, TagColumn, UnwritableTarget
from ald_gui.store.export_rows import CHUNK_ROWS, RowSource, read_chunks
from ald_gui.store.run_history import RunNotFound, find_run_id

__all__ = [
    "ExportCancelled",
    "ExportError",
    "ExportRequest",
    "ExportResult",
    "Format",
    "Layout",
    "Progress",
    "RunRecord",
    "export",
]


SORT_MEMORY_MB = 64  # a window of CHUNK_ROWS rows sorts in about 20 MB


class ExportError(Exception):
    """The export cannot be made as asked; the message names what (the run, the tag,
    the times, the file) and what to do. Nothing was written."""


class ExportCancelled(Exception):
    """The export was cancelled between two windows; no file was left behind."""


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """A run (``run``: its id, or the first characters of it) or a time span of
    ``machine`` (``from_us`` to before ``to_us``, microseconds since the epoch), of
    ``tags`` (their keys; empty: every tag with rows in it), to ``target``."""

    target: Path
    file_format: Format = Format.PARQUET
    layout: Layout = Layout.WIDE
    run: str = ""
    machine: str = ""
    from_us: int | None = None
    to_us: int | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Progress:
    """Rows written so far, and the rows the whole export is expected to have (an
    estimate, revised as the windows come; never below ``rows_done``)."""

    rows_done: int
    rows_estimate: int


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    rows: int
    instants: int
    tags: tuple[TagColumn, ...]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run's row of ``process_executions``, as an export and a report describe it."""

    id: uuid.UUID
    machine: str
    operator: str
    note: str
    recipe_name: str
    recipe_version: int | None
    recipe_sha256: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    reason: str
    recipe_snapshot: Any = field(default=None, compare=False)


_RUN_COLUMNS = (
    "id, machine, operator, note, recipe_name, recipe_version, recipe_sha256, started_at, "
    "ended_at, status, reason, recipe_snapshot"
)


def _run(conn: psycopg.Connection[Any], text: str) -> RunRecord:
    """The run ``text`` names (its id or its first characters, as run history takes
    them); raises ExportError saying why it names none."""
    try:
        run_id = find_run_id(conn, text)
    except RunNotFound as exc:
        raise ExportError(f"{exc}: Run history and `ald-gui runs list` show the ids") from None
    row = conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM process_executions WHERE id = %s", (run_id,)
    ).fetchone()
    assert row is not None  # runs are never deleted
    return RunRecord(*row)


def _tags(
    conn: psycopg.Connection[Any], machine: str, wanted: Sequence[str], source: RowSource
) -> list[TagColumn]:
    """The tags asked for, in the order asked, or every tag of ``machine`` with a row
    in ``source`` (in the configuration's order). Raises ExportError for a tag the
    machine never had."""
    known = {
        key: TagColumn(pid, key, unit)
        for pid, key, unit in conn.execute(
            "SELECT id, key, unit FROM parameters WHERE machine = %s ORDER BY id", (machine,)
        ).fetchall()
    }
    if wanted:
        unknown = [t for t in wanted if t not in known]
        if unknown:
            close = difflib.get_close_matches(unknown[0], known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ExportError(
                f"unknown tag {unknown[0]} for machine {machine}{hint}: give tag keys as "
                "`ald-gui config show` lists them"
            )
        return [known[t] for t in dict.fromkeys(wanted)]
    present = []
    for tag in known.values():
        one = RowSource(source.run_id, (tag.parameter_id,), source.from_us, source.to_us)
        row = conn.execute(one.exists()).fetchone()
        if row is not None and row[0]:
            present.append(tag)
    return present


def _us(at: datetime) -> int:
    return (at - db_timestamp(0)) // timedelta(microseconds=1)


def _metadata(
    run: RunRecord | None, source: RowSource, tags: Sequence[TagColumn], machine: str
) -> dict[str, str]:
    meta = {
        "machine": machine,
        "from": db_timestamp(source.from_us).isoformat(),
        "to": db_timestamp(source.to_us).isoformat(),
        "tags": json.dumps([{"tag": t.key, "unit": t.unit} for t in tags]),
        "exported_by": "ald-gui",
    }
    if run is not None:
        meta |= {
            "run_id": str(run.id),
            "operator": run.operator,
            "note": run.note,
            "recipe_name": run.recipe_name,
            "recipe_version": "" if run.recipe_version is None else str(run.recipe_version),
            "recipe_sha256": run.recipe_sha256,
            "started_at": run.started_at.isoformat(),
            "ended_at": "" if run.ended_at is None else run.ended_at.isoformat(),
            "status": run.status,
            "reason": run.reason,
        }
    return meta


def _plan(conn: psycopg.Connection[Any], request: ExportRequest,
          now_us: int) -> tuple[RunRecord | None, str, RowSource]:  # fmt: skip
    if request.run:
        run = _run(conn, request.run)
        end = now_us if run.ended_at is None else _us(run.ended_at)
        return run, run.machine, RowSource(run.id, (), _us(run.started_at), end)
    if request.from_us is None or request.to_us is None:
        raise ExportError("name a run (--run ID) or a time span (--from T --to T)")
    if request.from_us >= request.to_us:
        raise ExportError(
            f"--from {db_timestamp(request.from_us).isoformat()} is not before --to "
            f"{db_timestamp(request.to_us).isoformat()}: give the earlier time first"
        )
    if not request.machine:
        raise ExportError("a time span needs the machine whose history it is")
    return None, request.machine, RowSource(None, (), request.from_us, request.to_us)


def export(
    dsn: str,
    request: ExportRequest,
    progress: Callable[[Progress], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    chunk_rows: int = CHUNK_ROWS,
) -> ExportResult:
    """Write the export ``request`` asks for, reading through ``dsn`` (the reader role).

    ``progress`` is called after every window (on the calling thread); ``cancelled`` is
    asked before every window, and a True answer raises ExportCancelled. Raises
    ExportError for a request that cannot be met (nothing is written then), and
    psycopg.Error or OSError for a failure on the way (the partial file is deleted):
    only a complete export ever appears under ``request.target``.
    """
    with psycopg.connect(dsn) as conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            # Each window is sorted by (time, tag): in memory, not in temporary files.
            conn.execute(f"SET LOCAL work_mem = '{SORT_MEMORY_MB}MB'")
            now = conn.execute("SELECT now()").fetchone()
            assert now is not None
            run, machine, whole = _plan(conn, request, _us(now[0]) + 1)
            tags = _tags(conn, machine, request.tags, whole)
            source = RowSource(
                whole.run_id, tuple(t.parameter_id for t in tags), whole.from_us, whole.to_us
            )
            estimate = source.estimate(conn) if tags else 0
            meta = _metadata(run, source, tags, machine)
            try:
                out = ExportFile(request.target, request.file_format, request.layout, tags, meta)
            except UnwritableTarget as exc:
                raise ExportError(str(exc)) from None
            with out:
                rows = 0
                span = max(1, source.to_us - source.from_us)

                def reached(done: int, to_us: int) -> None:
                    covered = max(1, to_us - source.from_us)
                    guess = done * span // covered if done else estimate
                    if progress is not None:
                        progress(Progress(done, max(done, guess)))

                if progress is not None:
                    progress(Progress(0, estimate))
                chunks = read_chunks(conn, source, estimate, reached, chunk_rows)
                while tags:
                    if cancelled():
                        raise ExportCancelled(f"export to {request.target} cancelled")
                    chunk = next(chunks, None)
                    if chunk is None:
                        break
                    out.write(chunk)
                    rows += len(chunk)
                if cancelled():
                    raise ExportCancelled(f"export to {request.target} cancelled")
                out.commit()
    return ExportResult(request.target, rows, out.instants, tuple(tags))
