"""The event log: what each event says, newest first, filters, the memory bound."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from PySide6.QtCore import Qt

from ald_gui.domain import events as ev
from ald_gui.domain.audit import AuditEntry
from ald_gui.domain.refusal import Refusal
from ald_gui.domain.stream import Gap, Run, RunEnded, RunStarted, RunStatus
from ald_gui.domain.tags import Tag
from ald_gui.store.health import WriterEvent, WriterEventKind
from ald_gui.ui.event_log import EventLog
from ald_gui.ui.event_text import Category, Entry, Severity, describe

T0 = 1_700_000_000_123_000  # µs
RUN_ID = uuid.UUID("1f3a9c2e-4b7d-4e11-9a0f-22c1d5e8b7a4")
HEATER_SET = Tag(
    component="Chamber Heater",
    name="temperature_set",
    unit="°C",
    data_type="float32",
    register_kind="holding",
    address=2020,
    writable=True,
    min=0,
    max=1000,
)
VALVE = Tag(
    component="Valve 1",
    name="valve_state",
    data_type="bool",
    register_kind="coil",
    address=10,
    writable=True,
    min=0,
    max=1,
)
INFO, WARN, ERR = Severity.INFO, Severity.WARNING, Severity.ERROR


@pytest.fixture
def log(qtbot) -> EventLog:
    widget = EventLog(tags=[HEATER_SET, VALVE])
    qtbot.addWidget(widget)
    return widget


EXAMPLES = [
    (
        RunStarted(1, Run(RUN_ID, "ald-1", "alice", T0, note="wafer 17")),
        (INFO, Category.RUN, "Run 1f3a9c2e… started by alice · wafer 17"),
    ),
    (
        RunEnded(2, RUN_ID, T0, RunStatus.COMPLETED, "recipe done"),
        (INFO, Category.RUN, "Run 1f3a9c2e… completed: recipe done"),
    ),
    (
        RunEnded(2, RUN_ID, T0, RunStatus.ABORTED, "console closed"),
        (WARN, Category.RUN, "Run 1f3a9c2e… aborted: console closed"),
    ),
    (
        ev.RunRefused(T0, "a run is in progress"),
        (WARN, Category.RUN, "Run refused: a run is in progress"),
    ),
    (ev.PlcLost(T0, "connection refused"), (ERR, Category.PLC, "PLC lost: connection refused")),
    (ev.PlcBack(T0, 12.44), (INFO, Category.PLC, "PLC back after 12.4 s")),
    (
        ev.WriteConfirmed(T0, HEATER_SET.key, 180.0, 180.0),
        (INFO, Category.WRITE, "Setpoint chamber_heater.temperature_set = 180 °C confirmed"),
    ),
    (
        # float32 rounding is not news: the read-back is named only when it differs
        ev.WriteConfirmed(T0, HEATER_SET.key, 180.1, 180.10000610351562),
        (INFO, Category.WRITE, "Setpoint chamber_heater.temperature_set = 180.1 °C confirmed"),
    ),
    (
        ev.WriteConfirmed(T0, HEATER_SET.key, 180.0, 179.5),
        (
            INFO,
            Category.WRITE,
            "Setpoint chamber_heater.temperature_set = 180 °C confirmed (reads back 179.5 °C)",
        ),
    ),
    (
        ev.WriteConfirmed(T0, VALVE.key, 1.0, 1.0),
        (INFO, Category.WRITE, "Valve valve_1.valve_state = OPEN confirmed"),
    ),
    (
        ev.WriteFailed(T0, HEATER_SET.key, 2000.0, "outside the range 0..1000 °C"),
        (
            ERR,
            Category.WRITE,
            "Write failed: chamber_heater.temperature_set = 2000 °C — outside the range 0..1000 °C",
        ),
    ),
    (
        ev.WriteFailed(T0, "mfc_9.flow_set", 5.0, "no such tag"),
        (ERR, Category.WRITE, "Write failed: mfc_9.flow_set = 5 — no such tag"),
    ),
    (
        WriterEvent(WriterEventKind.DATABASE_CONNECTED, "schema up to date", at_us=T0),
        (INFO, Category.DATABASE, "Database connected: schema up to date"),
    ),
    (
        WriterEvent(WriterEventKind.DATABASE_LOST, "retrying: refused", at_us=T0),
        (
            ERR,
            Category.DATABASE,
            "Database lost, samples wait in the local spool: retrying: refused",
        ),
    ),
    (
        WriterEvent(WriterEventKind.SCHEMA_REFUSED, "schema 9 is ahead", at_us=T0),
        (
            ERR,
            Category.DATABASE,
            "Database schema refused, nothing is committed: schema 9 is ahead",
        ),
    ),
    (
        WriterEvent(WriterEventKind.QUARANTINED, "Batch seq 8 refused", at_us=T0),
        (ERR, Category.DATABASE, "Data set aside as a dead letter: Batch seq 8 refused"),
    ),
    (
        WriterEvent(WriterEventKind.COMMIT_REFUSED, "retrying: permission denied", at_us=T0),
        (
            ERR,
            Category.DATABASE,
            "Database refuses commits, samples wait in the local spool: "
            "retrying: permission denied",
        ),
    ),
    (
        WriterEvent(WriterEventKind.SAMPLES_LOST, "spool full: 5 samples of 1 poll", at_us=T0),
        (ERR, Category.ERROR, "Samples not recorded: spool full: 5 samples of 1 poll"),
    ),
    (
        WriterEvent(WriterEventKind.SPOOL_FAILED, "cannot journal: disk full", at_us=T0),
        (ERR, Category.ERROR, "Local spool cannot be written: cannot journal: disk full"),
    ),
    (
        WriterEvent(WriterEventKind.RUN_RECOVERED, "run 1f3a9c2e ended as failed", at_us=T0),
        (WARN, Category.RUN, "Run recovered: run 1f3a9c2e ended as failed"),
    ),
    (
        WriterEvent(WriterEventKind.LEASE_TAKEN, "machine ald-1 is recorded by …", at_us=T0),
        (
            ERR,
            Category.DATABASE,
            "Not recording: another console records this machine: machine ald-1 is recorded by …",
        ),
    ),
]


@pytest.mark.parametrize(("event", "expected"), EXAMPLES, ids=lambda x: type(x).__name__)
def test_each_event_in_the_operators_words(log: EventLog, event: object, expected: tuple) -> None:
    log.add(event)
    (entry,) = log.entries()
    assert (entry.severity, entry.category, entry.message) == expected
    assert entry.at_us == T0


def test_every_writer_event_kind_has_words() -> None:
    kinds = {e.kind for e, _ in EXAMPLES if isinstance(e, WriterEvent)}
    assert kinds == set(WriterEventKind)


def test_time_stamps_are_local_time_to_the_millisecond(log: EventLog) -> None:
    log.add(ev.PlcLost(T0, "x"))
    local = datetime.fromtimestamp(T0 / 1e6)
    row = [log.filter.index(0, c).data() for c in range(4)]
    assert row == [local.strftime("%H:%M:%S.123"), "Error", "PLC", "PLC lost: x"]
    tooltip = log.filter.index(0, 3).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith(local.strftime("%Y-%m-%d %H:%M:%S.123"))


def test_run_times_come_from_the_run(log: EventLog) -> None:
    log.add(RunStarted(1, Run(RUN_ID, "ald-1", "alice", T0 + 5)))
    log.add(RunEnded(2, RUN_ID, T0 + 9, RunStatus.FAILED))
    assert [(e.at_us, e.severity) for e in log.entries()] == [(T0 + 5, INFO), (T0 + 9, ERR)]


def test_newest_at_the_top(log: EventLog) -> None:
    for i in range(3):
        log.add(ev.PlcBack(T0 + i, float(i)))
    assert [e.at_us for e in log.shown()] == [T0 + 2, T0 + 1, T0]
    assert [e.at_us for e in log.entries()] == [T0, T0 + 1, T0 + 2]


def _dozen(log: EventLog) -> None:
    for event, _ in EXAMPLES[:12]:
        log.add(event)


def test_filter_by_category(log: EventLog) -> None:
    _dozen(log)
    log.set_filter(["PLC"])
    assert {e.category for e in log.shown()} == {Category.PLC}
    assert len(log.shown()) == 2
    assert log.count.text() == "2 of 12"
    assert not log.category_buttons[Category.RUN].isChecked()


def test_the_category_buttons_filter(log: EventLog) -> None:
    _dozen(log)
    for category, button in log.category_buttons.items():
        if category is not Category.WRITE:
            button.click()
    assert {e.category for e in log.shown()} == {Category.WRITE}
    log.category_buttons[Category.WRITE].click()
    assert log.shown() == []


def test_text_filter_ignores_case_and_combines_with_categories(qtbot, log: EventLog) -> None:
    _dozen(log)
    qtbot.keyClicks(log.search, "REFUSED")
    assert [e.message for e in log.shown()] == [
        "PLC lost: connection refused",
        "Run refused: a run is in progress",
    ]
    log.set_filter([Category.RUN], "refused")
    assert [e.message for e in log.shown()] == ["Run refused: a run is in progress"]
    log.set_filter(list(Category))
    assert len(log.shown()) == 12 and log.count.text() == "12 entries"


def test_new_entries_respect_the_filter(log: EventLog) -> None:
    log.set_filter(["Database"])
    log.add(ev.PlcLost(T0, "x"))
    log.add(WriterEvent(WriterEventKind.DATABASE_CONNECTED, "", at_us=T0))
    assert [e.message for e in log.shown()] == ["Database connected"]
    assert len(log.entries()) == 2


def test_memory_is_bounded(qtbot) -> None:
    log = EventLog(max_entries=5)
    qtbot.addWidget(log)
    for i in range(12):
        log.add(ev.PlcBack(T0 + i, float(i)))
    assert [e.at_us for e in log.entries()] == [T0 + i for i in range(7, 12)]
    assert log.model.rowCount() == 5 and log.filter.rowCount() == 5
    assert log.shown()[0].at_us == T0 + 11


def test_an_append_inserts_one_row_at_the_top(log: EventLog) -> None:
    inserted: list[tuple[int, int]] = []
    resets: list[bool] = []
    log.model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    log.model.modelReset.connect(lambda: resets.append(True))
    log.add(ev.PlcBack(T0, 1.0))
    log.add(ev.PlcBack(T0 + 1, 1.0))
    assert inserted == [(0, 0), (0, 0)] and resets == []


def test_the_model_is_a_sound_qt_model(qtmodeltester, log: EventLog) -> None:
    _dozen(log)
    qtmodeltester.check(log.model)
    qtmodeltester.check(log.filter)


def test_severity_has_an_icon_shape_beside_the_word(log: EventLog) -> None:
    log.add(ev.PlcLost(T0, "x"))
    index = log.filter.index(0, 1)
    assert index.data() == "Error"
    assert not index.data(Qt.ItemDataRole.DecorationRole).isNull()


def test_an_unknown_event_is_logged_as_an_error_rather_than_lost(log: EventLog) -> None:
    class Surprise:
        at_us = T0

        def __str__(self) -> str:
            return "something new"

    log.add(Surprise())
    assert log.entries() == [Entry(T0, ERR, Category.ERROR, "Surprise: something new")]


def test_a_message_on_several_lines_becomes_one(log: EventLog) -> None:
    log.add(ev.PlcLost(T0, "server closed the connection\n\tThis probably means"))
    assert log.entries()[0].message == (
        "PLC lost: server closed the connection This probably means"
    )


def test_an_object_without_a_time_stamp_is_refused(log: EventLog) -> None:
    with pytest.raises(TypeError, match="cannot log str: it has no time stamp"):
        log.add("hello")


def test_max_entries_must_be_positive(qtbot) -> None:
    with pytest.raises(ValueError, match="max_entries must be at least 1, not 0"):
        EventLog(max_entries=0)


# Records of the stream, as the last shift is read back at start (store.shift_log).
RECORD_EXAMPLES = [
    # Records of the stream, as the last shift is read back at start (store.shift_log).
    (
        Gap(3, T0, "PLC 10.0.0.5:502 did not answer within 0.5 s"),
        (ERR, Category.PLC, "PLC lost: PLC 10.0.0.5:502 did not answer within 0.5 s"),
    ),
    (
        Refusal(4, T0, "precursor needs vacuum", VALVE.key, 1.0, "refused by interlock 'x'"),
        (
            WARN,
            Category.WRITE,
            "Write refused: valve_1.valve_state = OPEN — refused by interlock 'x'",
        ),
    ),
    (
        AuditEntry(5, T0, "alice", "operator", "write", HEATER_SET.key, "120", "175"),
        (INFO, Category.WRITE, "Write chamber_heater.temperature_set: 120 °C → 175 °C · by alice"),
    ),
    (
        AuditEntry(6, T0, "bob", "viewer", "login failed", "bob", reason="wrong password"),
        (WARN, Category.ACCOUNT, "Login failed bob (wrong password) · by bob"),
    ),
]


@pytest.mark.parametrize(("record", "expected"), RECORD_EXAMPLES, ids=lambda x: type(x).__name__)
def test_each_record_of_the_last_shift_reads_as_the_live_event_did(
    record: object, expected: tuple[Severity, Category, str]
) -> None:
    entry = describe(record, {HEATER_SET.key: HEATER_SET, VALVE.key: VALVE})
    assert (entry.severity, entry.category, entry.message) == expected
