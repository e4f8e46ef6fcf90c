"""The writer on a real full filesystem (a 2 MB tmpfs): memory stays bounded, the loss
is counted, raised as an alarm, and recorded as a gap once the disk has room again."""

from __future__ import annotations

import errno
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ald_gui.domain.stream import Batch
from ald_gui.store.health import WriterEvent, WriterEventKind
from ald_gui.store.spool import Spool
from tests.test_writer import Stream, _assert_whole, _drained, running
from tests.waiting import wait_until

MAX_QUEUE_VALUES = 500  # 100 batches of the test's 5 tags


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 2 MB filesystem of the test's own."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root: the full-disk test runs as root only")
    where = Path(tempfile.mkdtemp(prefix="ald-full-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)
        where.rmdir()


def _fill(disk: Path) -> Path:
    """Take every free byte of ``disk`` with one file."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_bounds_memory_and_records_the_loss_as_a_gap(
    small_disk: Path, migrated_pg_dsn: str
) -> None:
    s = Stream()
    start, before = s.start(), s.batches(3)
    events: list[WriterEvent] = []
    with (
        Spool(small_disk / "spool.db") as spool,
        running(
            migrated_pg_dsn, spool, on_event=events.append, max_queue_values=MAX_QUEUE_VALUES
        ) as writer,
    ):
        writer.submit([start, *before])
        wait_until(lambda: _drained(writer), 10, "the first items to arrive")
        filler = _fill(small_disk)
        during: list[Batch] = []
        while not any(e.kind is WriterEventKind.SPOOL_FAILED for e in events):
            # The spool may reuse room it had before the disk filled: go on until it fails.
            during += s.batches(1)
            writer.submit(during[-1:])
            wait_until(
                lambda: (
                    writer.health().queue_depth == 0
                    or any(e.kind is WriterEventKind.SPOOL_FAILED for e in events)
                ),
                10,
                "the batch to be journaled or refused",
            )
        during += s.batches(400)
        for i in range(len(during) - 400, len(during), 10):
            writer.submit(during[i : i + 10])
        health = writer.health()
        assert health.queue_depth <= MAX_QUEUE_VALUES // 5 + 1  # memory stays bounded
        lost = health.samples_lost
        assert lost >= 250 * 5
        assert any(e.kind is WriterEventKind.SAMPLES_LOST for e in events)

        filler.unlink()  # room again: the queue reaches the spool, then the gap
        wait_until(lambda: writer.health().queue_depth == 0, 10, "the queue to be journaled")
        after = s.batches(3)
        end = s.end()
        writer.submit([*after, end])
        wait_until(lambda: _drained(writer), 20, "the spool to drain once the disk has room")
        assert writer.health().samples_lost == lost
    with psycopg.connect(migrated_pg_dsn) as conn:
        gaps = conn.execute("SELECT reason, run_id FROM plc_gaps").fetchall()
    assert gaps == [
        (f"spool full: {lost:,} samples of {lost // 5:,} polls not recorded", start.run.id)
    ]
    recorded = {b.seq for b in during} - {b.seq for b in during[-(lost // 5) :]}
    kept = [b for b in before + during + after if b.seq in recorded or b not in during]
    _assert_whole(migrated_pg_dsn, kept)
