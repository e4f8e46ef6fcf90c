"""The health strip: each state rule, fed with real health objects and events, seen
through the indicator's state, words, colour property and details view."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer

from ald_gui.domain.events import PlcBack, PlcLost, WriteConfirmed
from ald_gui.domain.health import PlcHealth
from ald_gui.store.health import PoolFigures, WriterEvent, WriterEventKind, WriterHealth
from ald_gui.ui.health import HealthDetails, HealthStrip
from ald_gui.ui.health_watch import duration


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


PLC_OK = PlcHealth(
    connected=True,
    round_trip_s=0.0018,
    requests_per_poll=9,
    polls=4211,
    failed_polls=3,
    missed_cycles=0,
    jitter_p99_s=0.0031,
    last_error="",
    running_run="1f3a9c2e-4b7d-4e11-9a0f-22c1d5e8b7a4",
)
WRITER_OK = WriterHealth(
    queue_depth=0,
    spool_depth=2,
    oldest_unsent_age_s=0.4,
    last_commit_s=0.0042,
    rows_per_second=221.0,
    dead_letters=0,
    database_connected=True,
    schema_version=3,
    pool=PoolFigures(size=2, available=1, waiting=0, connection_errors=0, connections_lost=0),
    last_error="",
    at_us=1_700_000_000_000_000,
)


def plc(**changes: Any) -> PlcHealth:
    return dataclasses.replace(PLC_OK, **changes)


def writer(**changes: Any) -> WriterHealth:
    return dataclasses.replace(WRITER_OK, **changes)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def strip(qtbot, clock: Clock) -> HealthStrip:
    widget = HealthStrip(clock=clock)
    qtbot.addWidget(widget)
    return widget


def test_before_any_report_every_indicator_waits(strip: HealthStrip) -> None:
    assert [(strip.state(n), strip.text(n)) for n in ("plc", "database", "writer")] == [
        ("warning", "PLC waiting for data"),
        ("warning", "Database connecting…"),
        ("warning", "Writer waiting for data"),
    ]


def test_all_well(strip: HealthStrip) -> None:
    strip.on_plc_health(PLC_OK)
    strip.on_writer_health(WRITER_OK)
    assert (strip.state("plc"), strip.text("plc")) == ("ok", "PLC ok 1.8 ms")
    assert (strip.state("database"), strip.text("database")) == ("ok", "Database ok 4.2 ms")
    assert (strip.state("writer"), strip.text("writer")) == ("ok", "Writer ok · 221 rows/s")
    button = strip.indicator("plc")
    assert button.property("health") == "ok"
    assert "PLC ok 1.8 ms" in button.text()
    assert "Requests per poll" in button.toolTip() and "4,211" in button.toolTip()


def test_plc_fault_when_not_connected(strip: HealthStrip) -> None:
    strip.on_plc_health(plc(connected=False, round_trip_s=None, last_error="timed out"))
    assert (strip.state("plc"), strip.text("plc")) == ("fault", "PLC LOST")
    assert "timed out" in strip.indicator("plc").toolTip()


def test_plc_lost_and_back_show_at_once_without_waiting_for_health(strip: HealthStrip) -> None:
    strip.on_plc_health(PLC_OK)
    strip.on_event(PlcLost(at_us=1, reason="connection refused"))
    assert (strip.state("plc"), strip.text("plc")) == ("fault", "PLC LOST")
    strip.on_event(PlcBack(at_us=2, down_s=4.0))
    assert strip.state("plc") == "ok"


def test_plc_warning_while_cycles_are_missed_then_ok_again(
    strip: HealthStrip, clock: Clock
) -> None:
    strip.on_plc_health(PLC_OK)
    strip.on_plc_health(plc(missed_cycles=1))
    assert strip.state("plc") == "ok"  # one missed cycle is no cause for alarm
    clock.advance(1.0)
    strip.on_plc_health(plc(missed_cycles=3))
    assert (strip.state("plc"), strip.text("plc")) == ("warning", "PLC late · 3 cycles missed")
    for _ in range(4):  # reports keep coming, with no more missed cycles
        clock.advance(2.0)
        strip.on_plc_health(plc(missed_cycles=3))
    assert strip.state("plc") == "warning"  # the second miss is 8 s old: within 10 s
    clock.advance(2.5)
    strip.on_plc_health(plc(missed_cycles=3))
    assert (strip.state("plc"), strip.text("plc")) == ("ok", "PLC ok 1.8 ms")


def test_plc_warning_when_the_round_trip_is_slow(strip: HealthStrip) -> None:
    strip.on_plc_health(plc(round_trip_s=0.25))
    assert (strip.state("plc"), strip.text("plc")) == ("warning", "PLC slow 250 ms")


def test_plc_no_data_after_three_seconds_of_silence(strip: HealthStrip, clock: Clock) -> None:
    strip.on_plc_health(PLC_OK)
    clock.advance(2.9)
    strip.refresh()
    assert strip.state("plc") == "ok"
    clock.advance(0.6)
    strip.refresh()
    assert (strip.state("plc"), strip.text("plc")) == ("warning", "PLC no data 3.5 s")
    strip.on_plc_health(PLC_OK)
    assert strip.state("plc") == "ok"


def test_the_timer_applies_the_staleness_rule_by_itself(
    qtbot, strip: HealthStrip, clock: Clock
) -> None:
    strip.on_plc_health(PLC_OK)
    clock.advance(4.0)
    qtbot.waitUntil(lambda: strip.state("plc") == "warning", timeout=2000)
    assert strip.text("plc") == "PLC no data 4.0 s"


def test_a_lost_link_stays_a_fault_when_reports_stop(strip: HealthStrip, clock: Clock) -> None:
    strip.on_plc_health(plc(connected=False, round_trip_s=None))
    clock.advance(10)
    strip.refresh()
    assert strip.state("plc") == "fault"


def test_closing_stops_the_timer(strip: HealthStrip) -> None:
    timer = strip.findChild(QTimer)
    assert timer is not None and timer.isActive()
    strip.close()
    assert not timer.isActive()


def test_database_lost_at_once_then_connected(strip: HealthStrip) -> None:
    strip.on_writer_health(WRITER_OK)
    strip.on_event(WriterEvent(WriterEventKind.DATABASE_LOST, "retrying: connection refused"))
    assert (strip.state("database"), strip.text("database")) == ("fault", "Database LOST")
    strip.on_writer_health(writer(database_connected=False, last_error="database: refused"))
    assert strip.state("database") == "fault"
    strip.on_event(WriterEvent(WriterEventKind.DATABASE_CONNECTED, "schema up to date"))
    assert strip.state("database") == "ok"


def test_database_fault_from_health_alone(strip: HealthStrip) -> None:
    strip.on_writer_health(writer(database_connected=False, last_error="database: timeout"))
    assert (strip.state("database"), strip.text("database")) == ("fault", "Database LOST")


def test_schema_refused_is_a_fault_until_the_database_is_connected(strip: HealthStrip) -> None:
    strip.on_event(WriterEvent(WriterEventKind.SCHEMA_REFUSED, "database schema 7 is ahead"))
    assert (strip.state("database"), strip.text("database")) == (
        "fault",
        "Database schema REFUSED",
    )
    strip.on_writer_health(writer(database_connected=False, schema_version=None))
    assert strip.state("database") == "fault"
    strip.on_writer_health(WRITER_OK)
    assert strip.state("database") == "ok"


def test_a_machine_taken_by_another_console_is_a_fault_that_stays(strip: HealthStrip) -> None:
    strip.on_event(WriterEvent(WriterEventKind.LEASE_TAKEN, "machine ald-1 is recorded by …"))
    assert (strip.state("database"), strip.text("database")) == (
        "fault",
        "Machine TAKEN by another console",
    )
    strip.on_writer_health(WRITER_OK)  # connected, and still not recording
    assert strip.state("database") == "fault"


def test_a_taken_machine_shows_from_health_alone(strip: HealthStrip) -> None:
    strip.on_writer_health(writer(lease_taken="machine ald-1 is recorded by …"))
    assert strip.text("database") == "Machine TAKEN by another console"


def test_database_warning_when_a_commit_is_slow(strip: HealthStrip) -> None:
    strip.on_writer_health(writer(last_commit_s=1.6))
    assert (strip.state("database"), strip.text("database")) == ("warning", "Database slow 1.6 s")


def test_database_fault_while_the_server_refuses_commits(strip: HealthStrip) -> None:
    strip.on_writer_health(writer(commit_failures=4, last_error="commit refused, retrying"))
    assert (strip.state("database"), strip.text("database")) == (
        "fault",
        "Database REFUSES commits",
    )
    strip.on_writer_health(WRITER_OK)
    assert strip.state("database") == "ok"


def test_a_commit_running_too_long_shows_though_the_last_one_was_quick(
    strip: HealthStrip,
) -> None:
    strip.on_writer_health(writer(database_busy_s=0.2))
    assert strip.state("database") == "ok"
    strip.on_writer_health(writer(database_busy_s=2.5))
    assert (strip.state("database"), strip.text("database")) == ("warning", "Database slow 2.5 s")
    strip.on_writer_health(writer(database_busy_s=12.0))
    assert (strip.state("database"), strip.text("database")) == ("fault", "Database STUCK 12 s")
    strip.on_writer_health(WRITER_OK)
    assert strip.text("database") == "Database ok 4.2 ms"


def test_writer_warning_when_the_oldest_unsent_sample_is_old(strip: HealthStrip) -> None:
    strip.on_writer_health(writer(spool_depth=1234, oldest_unsent_age_s=9.0))
    assert strip.state("writer") == "ok"
    strip.on_writer_health(writer(spool_depth=1234, oldest_unsent_age_s=12.3))
    assert (strip.state("writer"), strip.text("writer")) == (
        "warning",
        "Spool 1,234 · oldest 12 s",
    )


def test_writer_alarm_when_the_disk_under_the_spool_fills(strip: HealthStrip) -> None:
    strip.on_writer_health(writer(disk_free_bytes=50 * 2**30))
    assert strip.state("writer") == "ok"
    strip.on_writer_health(writer(disk_free_bytes=1500 * 2**20))
    assert (strip.state("writer"), strip.text("writer")) == (
        "warning",
        "Disk low · 1,500 MB free",
    )
    strip.on_writer_health(writer(disk_free_bytes=300 * 2**20))
    assert (strip.state("writer"), strip.text("writer")) == (
        "fault",
        "Disk low · 300 MB free",
    )


def test_writer_fault_on_dead_letters_at_once_and_from_health(strip: HealthStrip) -> None:
    strip.on_writer_health(WRITER_OK)
    strip.on_event(WriterEvent(WriterEventKind.QUARANTINED, "Batch seq 8 refused"))
    assert (strip.state("writer"), strip.text("writer")) == ("fault", "Writer: 1 dead letter")
    strip.on_writer_health(writer(dead_letters=2))
    assert (strip.state("writer"), strip.text("writer")) == ("fault", "Writer: 2 dead letters")


def test_writer_fault_while_the_spool_cannot_be_written(strip: HealthStrip) -> None:
    strip.on_event(WriterEvent(WriterEventKind.SPOOL_FAILED, "cannot journal: disk full"))
    assert (strip.state("writer"), strip.text("writer")) == ("fault", "Spool FAILED")
    strip.on_writer_health(writer(queue_depth=500))
    assert strip.state("writer") == "fault"
    strip.on_writer_health(writer(queue_depth=0))  # the memory queue reached the spool
    assert strip.state("writer") == "ok"


def test_writer_alarm_once_samples_were_lost(strip: HealthStrip) -> None:
    strip.on_event(WriterEvent(WriterEventKind.SPOOL_FAILED, "cannot journal: disk full"))
    strip.on_writer_health(writer(queue_depth=400, samples_lost=12_345))
    assert (strip.state("writer"), strip.text("writer")) == (
        "fault",
        "Writer: 12,345 samples LOST",
    )
    strip.on_writer_health(writer(samples_lost=12_345))  # the spool works again
    assert strip.state("writer") == "fault"  # the loss is not forgotten


def test_writer_no_data_after_five_seconds(strip: HealthStrip, clock: Clock) -> None:
    strip.on_writer_health(WRITER_OK)
    clock.advance(5.5)
    strip.refresh()
    assert (strip.state("writer"), strip.text("writer")) == ("warning", "Writer no data 5.5 s")


def test_other_events_change_nothing(strip: HealthStrip) -> None:
    strip.on_plc_health(PLC_OK)
    strip.on_event(WriteConfirmed(at_us=1, tag="a.b", requested=1.0, readback=1.0))
    assert strip.state("plc") == "ok"


def test_a_click_opens_the_details_with_every_figure(qtbot, strip: HealthStrip) -> None:
    strip.on_plc_health(PLC_OK)
    strip.on_writer_health(writer(last_error="database: server closed the connection"))
    qtbot.mouseClick(strip.indicator("database"), Qt.MouseButton.LeftButton)
    details = strip.findChild(HealthDetails)
    assert details is not None and details.isVisible()
    plc_rows = dict(details.rows("plc"))
    assert plc_rows["Round trip"] == "1.8 ms"
    assert plc_rows["Polls"] == "4,211"
    assert plc_rows["Failed polls"] == "3 (0.1 %)"
    assert plc_rows["Run"] == "1f3a9c2e…"
    assert dict(details.rows("database"))["Schema version"] == "3"
    assert dict(details.rows("writer"))["Waiting in the spool"] == "2"
    assert details.last_error("database") == "database: server closed the connection"
    assert details.last_error("plc") == "none"
    assert details.headline("plc") == "PLC ok 1.8 ms"


def test_the_details_follow_new_reports_while_open(strip: HealthStrip) -> None:
    strip.on_plc_health(PLC_OK)
    details = strip.open_details()
    strip.on_plc_health(plc(connected=False, round_trip_s=None, last_error="timed out"))
    assert details.headline("plc") == "PLC LOST"
    assert dict(details.rows("plc"))["Connected"] == "NO"
    assert details.last_error("plc") == "timed out"
    strip.close()
    assert not details.isVisible()


def test_an_unknown_indicator_is_named(strip: HealthStrip) -> None:
    with pytest.raises(ValueError, match=r"'pump'.*plc, database, writer"):
        strip.state("pump")


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, "—"),
        (0.0018, "1.8 ms"),
        (0.25, "250 ms"),
        (3.46, "3.5 s"),
        (12.3, "12 s"),
        (200, "3 min 20 s"),
        (4000, "1 h 06 min"),
    ],
)
def test_durations_read_naturally(seconds: float | None, words: str) -> None:
    assert duration(seconds) == words
