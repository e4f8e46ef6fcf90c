"""The alarm banner, list and sound, fed with real alarm boards as the engine sends
them, seen through their words, shapes, enabled actions and the commands they ask for."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.alarms import (
    AlarmBoard,
    AlarmCommandRefused,
    AlarmDefinition,
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmState,
    AlarmStatus,
    Priority,
)
from ald_gui.domain.commands import (
    AcknowledgeAlarm,
    RemoveFromService,
    ReturnToService,
    ShelveAlarm,
    UnshelveAlarm,
)
from ald_gui.domain.stream import Batch
from ald_gui.ui.alarm_banner import AlarmBanner
from ald_gui.ui.alarm_history_query import SYSTEM, HistoryQuery, matching
from ald_gui.ui.alarm_list import AlarmList
from ald_gui.ui.alarm_look import look
from ald_gui.ui.alarm_sound import AlarmSound
from ald_gui.ui.event_log import EventLog
from ald_gui.ui.event_text import Category, Severity, describe
from ald_gui.ui.parameter_model import Column
from ald_gui.ui.parameters import ParameterTable

T0 = 1_764_590_400_000_000  # microseconds

HEATER = AlarmDefinition(
    "heater_1_over_temperature",
    "Heater 1 over-temperature",
    AlarmKind.HIGH,
    Priority.CRITICAL,
    tag="heater_1_temp",
    limit=300.0,
    guidance="Lower the heater 1 setpoint; check the thermocouple.",
)
PRESSURE = AlarmDefinition(
    "chamber_pressure_high",
    "Chamber pressure high",
    AlarmKind.HIGH,
    Priority.MEDIUM,
    tag="chamber_pressure",
    limit=2.0,
    guidance="Check the pump and the gate valve.",
)
N2 = AlarmDefinition(
    "n2_fault", "N2 generator fault", AlarmKind.DISCRETE, Priority.HIGH, tag="n2_fault"
)


def status(d: AlarmDefinition, state: AlarmState, at_us: int = T0, **more) -> AlarmStatus:
    active = state in (AlarmState.UNACKNOWLEDGED, AlarmState.ACKNOWLEDGED)
    return AlarmStatus(
        d,
        state,
        active=more.pop("active", active),
        acknowledged=state is AlarmState.ACKNOWLEDGED,
        since_us=at_us,
        raised_at_us=at_us,
        occurrence=uuid.uuid4(),
        **more,
    )


def raised(d: AlarmDefinition, seq: int = 1) -> AlarmEvent:
    return AlarmEvent(
        seq, T0, d.id, AlarmEventKind.RAISED, AlarmState.UNACKNOWLEDGED, d.priority, uuid.uuid4()
    )


def board(*alarms: AlarmStatus, events: tuple[AlarmEvent, ...] = ()) -> AlarmBoard:
    return AlarmBoard(T0, alarms, events)


@pytest.fixture
def banner(qtbot: QtBot) -> AlarmBanner:
    widget = AlarmBanner(lambda: "alice")
    qtbot.addWidget(widget)
    return widget


def test_the_banner_shows_the_highest_priority_unacknowledged_alarm_and_the_counts(
    banner: AlarmBanner,
) -> None:
    assert banner.message.text() == "No alarms" and not banner.acknowledge.isEnabled()
    banner.show_board(
        board(
            status(PRESSURE, AlarmState.UNACKNOWLEDGED, T0 + 5_000_000, value=2.4),
            status(HEATER, AlarmState.UNACKNOWLEDGED, T0, value=312.5),
            status(N2, AlarmState.ACKNOWLEDGED),
        )
    )
    assert banner.shown is not None and banner.shown.id == HEATER.id
    assert banner.priority.text() == "◆ CRITICAL"
    assert banner.message.text() == "Heater 1 over-temperature — 312.5"
    assert "Lower the heater 1 setpoint" in banner.guidance.text()
    assert "unacknowledged since" in banner.guidance.text()
    assert banner.count.text() == "2 unacknowledged · 3 active"
    assert banner.acknowledge.isEnabled()


def test_acknowledge_from_the_banner_asks_the_engine_and_the_banner_follows_its_answer(
    banner: AlarmBanner, qtbot: QtBot
) -> None:
    banner.show_board(
        board(status(HEATER, AlarmState.UNACKNOWLEDGED), status(N2, AlarmState.UNACKNOWLEDGED))
    )
    with qtbot.waitSignal(banner.command_requested, timeout=1000) as sent:
        qtbot.mouseClick(banner.acknowledge, Qt.MouseButton.LeftButton)
    assert sent.args == [AcknowledgeAlarm(HEATER.id, operator="alice")]
    # Nothing changes until the engine says so.
    assert banner.shown is not None and banner.shown.id == HEATER.id
    banner.show_board(
        board(status(HEATER, AlarmState.ACKNOWLEDGED), status(N2, AlarmState.UNACKNOWLEDGED))
    )
    assert banner.shown is not None and banner.shown.id == N2.id
    assert banner.priority.text() == "▲ HIGH"
    assert banner.count.text() == "1 unacknowledged · 2 active"
    banner.show_board(
        board(status(HEATER, AlarmState.ACKNOWLEDGED), status(N2, AlarmState.ACKNOWLEDGED))
    )
    # Everything acknowledged: the worst active alarm stays in view, nothing to press.
    assert banner.shown is not None and banner.shown.id == HEATER.id
    assert banner.count.text() == "0 unacknowledged · 2 active"
    assert not banner.acknowledge.isEnabled()
    assert "acknowledged since" in banner.guidance.text()


def test_every_priority_has_its_own_shape_and_word_not_only_a_colour() -> None:
    looks = [look(p) for p in Priority]
    assert len({x.shape for x in looks}) == len(Priority)
    assert [x.word for x in looks] == ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    assert all(x.label() == f"{x.shape} {x.word}" for x in looks)


def test_priority_reads_the_same_without_colour(banner: AlarmBanner) -> None:
    banner.show_board(board(status(PRESSURE, AlarmState.UNACKNOWLEDGED)))
    medium = banner.priority.text()
    banner.show_board(board(status(N2, AlarmState.UNACKNOWLEDGED)))
    # The text alone (what a monochrome screen or a colour-blind eye gets) tells them apart.
    assert medium == "■ MEDIUM" and banner.priority.text() == "▲ HIGH"


class Beeps:
    """The sound seam: counts each beep."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def test_a_new_critical_alarm_beeps_once_and_silence_stops_it_until_the_next(
    qtbot: QtBot,
) -> None:
    beeps = Beeps()
    sound = AlarmSound(beeps, repeat_s=0.05)
    heater = status(HEATER, AlarmState.UNACKNOWLEDGED)
    with qtbot.waitSignal(sound.sounding_changed, timeout=1000) as started:
        sound.on_board(board(heater, events=(raised(HEATER),)))
    assert started.args == [True] and beeps.count == 1
    # It keeps sounding while nobody silences it...
    qtbot.waitUntil(lambda: beeps.count >= 2, timeout=2000)
    # ...a board with no new alarm neither beeps at once nor stops it.
    before = beeps.count
    sound.on_board(board(heater))
    assert beeps.count == before and sound.sounding
    with qtbot.waitSignal(sound.sounding_changed, timeout=1000) as stopped:
        sound.silence()
    assert stopped.args == [False] and not sound.sounding
    silenced_at = beeps.count
    sound.on_board(board(heater))  # still unacknowledged, but not new: stays quiet
    assert not sound.sounding and beeps.count == silenced_at
    sound.on_board(board(heater, status(N2, AlarmState.UNACKNOWLEDGED), events=(raised(N2),)))
    assert sound.sounding and beeps.count == silenced_at + 1
    sound.silence()


def test_low_and_medium_alarms_do_not_sound_and_an_acknowledgement_stops_it(
    qtbot: QtBot,
) -> None:
    beeps = Beeps()
    sound = AlarmSound(beeps)
    sound.on_board(board(status(PRESSURE, AlarmState.UNACKNOWLEDGED), events=(raised(PRESSURE),)))
    assert beeps.count == 0 and not sound.sounding
    sound.on_board(board(status(HEATER, AlarmState.UNACKNOWLEDGED), events=(raised(HEATER),)))
    assert beeps.count == 1 and sound.sounding
    sound.on_board(board(status(HEATER, AlarmState.ACKNOWLEDGED)))
    assert not sound.sounding


class Answers:
    """The questions' seam: the answers an operator would give, and what was asked."""

    def __init__(self, note=None, shelve=None, reason=None) -> None:
        self.asked: list[tuple[str, str]] = []
        self._answers = {"note": note, "shelve": shelve, "reason": reason}

    def __getattr__(self, kind: str):
        def ask(_parent, what: str):
            self.asked.append((kind, what))
            return self._answers[kind]

        return ask


def alarm_list(qtbot: QtBot, answers: Answers) -> AlarmList:
    widget = AlarmList(
        lambda: "bob", note=answers.note, shelve=answers.shelve, reason=answers.reason
    )
    qtbot.addWidget(widget)
    return widget


def commands(qtbot: QtBot, widget: AlarmList, button) -> list[object]:
    sent: list[object] = []
    widget.command_requested.connect(sent.append)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    widget.command_requested.disconnect(sent.append)
    return sent


def test_shelve_asks_for_a_duration_and_a_reason(qtbot: QtBot) -> None:
    answers = Answers(shelve=(1800.0, "thermocouple being replaced"))
    widget = alarm_list(qtbot, answers)
    widget.show_board(board(status(HEATER, AlarmState.UNACKNOWLEDGED)))
    assert not widget.shelve.isEnabled()  # nothing selected yet
    widget.select(HEATER.id)
    assert commands(qtbot, widget, widget.shelve) == [
        ShelveAlarm(HEATER.id, 1800.0, "thermocouple being replaced", "bob")
    ]
    assert answers.asked == [("shelve", "Heater 1 over-temperature")]


def test_a_cancelled_question_sends_nothing(qtbot: QtBot) -> None:
    widget = alarm_list(qtbot, Answers())
    widget.show_board(board(status(HEATER, AlarmState.UNACKNOWLEDGED)))
    widget.select(HEATER.id)
    assert commands(qtbot, widget, widget.shelve) == []
    assert commands(qtbot, widget, widget.acknowledge) == []
    assert commands(qtbot, widget, widget.remove) == []


def test_states_read_in_words_and_set_aside_alarms_offer_their_way_back(qtbot: QtBot) -> None:
    widget = alarm_list(qtbot, Answers(reason="sensor removed for calibration"))
    until = T0 + 3_600_000_000
    shelved = status(N2, AlarmState.SHELVED, shelved_until_us=until, reason="known fault")
    removed = status(PRESSURE, AlarmState.OUT_OF_SERVICE, reason="gauge at the lab")
    returned = status(HEATER, AlarmState.RETURNED_UNACKNOWLEDGED, active=False)
    widget.show_board(board(shelved, removed, returned))
    words = {
        widget.model.alarm(r).id: widget.model.data(widget.model.index(r, 2))
        for r in range(widget.model.rowCount())
    }
    hhmm = datetime.fromtimestamp(until / 1e6).strftime("%H:%M")  # local, as on screen
    assert words == {
        HEATER.id: "returned, unacknowledged",
        N2.id: f"shelved until {hhmm}: known fault",
        PRESSURE.id: "out of service: gauge at the lab",
    }
    widget.select(N2.id)
    assert widget.unshelve.isEnabled() and not widget.restore.isEnabled()
    assert commands(qtbot, widget, widget.unshelve) == [UnshelveAlarm(N2.id, "bob")]
    widget.select(PRESSURE.id)
    assert widget.restore.isEnabled() and not widget.remove.isEnabled()
    assert commands(qtbot, widget, widget.restore) == [ReturnToService(PRESSURE.id, "bob")]
    widget.select(HEATER.id)
    assert commands(qtbot, widget, widget.remove) == [
        RemoveFromService(HEATER.id, "sensor removed for calibration", "bob")
    ]


def test_acknowledge_all_shown_sends_one_command_each_with_the_note(qtbot: QtBot) -> None:
    answers = Answers(note="seen, purging")
    widget = alarm_list(qtbot, answers)
    widget.show_board(
        board(
            status(HEATER, AlarmState.UNACKNOWLEDGED),
            status(N2, AlarmState.ACKNOWLEDGED),
            status(PRESSURE, AlarmState.RETURNED_UNACKNOWLEDGED, active=False),
        )
    )
    sent = commands(qtbot, widget, widget.acknowledge_all)
    assert sorted(sent, key=lambda c: c.alarm) == [
        AcknowledgeAlarm(PRESSURE.id, "seen, purging", "bob"),
        AcknowledgeAlarm(HEATER.id, "seen, purging", "bob"),
    ]
    assert answers.asked == [("note", "2 alarms")]


def test_the_list_sorts_by_priority_and_by_time_as_numbers(qtbot: QtBot) -> None:
    widget = alarm_list(qtbot, Answers())
    widget.show_board(
        board(
            status(PRESSURE, AlarmState.UNACKNOWLEDGED, T0 + 2_000_000),
            status(HEATER, AlarmState.UNACKNOWLEDGED, T0 + 1_000_000),
            status(N2, AlarmState.UNACKNOWLEDGED, T0 + 3_000_000),
        )
    )
    assert [a.id for a in widget.shown()] == [HEATER.id, N2.id, PRESSURE.id]
    widget.view.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    assert [a.id for a in widget.shown()] == [HEATER.id, PRESSURE.id, N2.id]
    # The selection follows its alarm across a new board.
    widget.select(PRESSURE.id)
    widget.show_board(
        board(
            status(PRESSURE, AlarmState.ACKNOWLEDGED, T0 + 2_000_000),
            status(N2, AlarmState.UNACKNOWLEDGED, T0 + 3_000_000),
        )
    )
    selected = widget.selected()
    assert selected is not None and selected.id == PRESSURE.id


def test_the_parameter_table_marks_alarmed_values_by_shape_word_and_colour(
    qtbot: QtBot, reference_config: AppConfig
) -> None:
    table = ParameterTable(reference_config.tags, poll_interval_s=0.1)
    qtbot.addWidget(table)
    key = "chamber_heater.temperature_read"
    table.update_values(Batch(1, 0, {key: 312.5}))
    table.refresh()
    heater = dataclasses.replace(HEATER, tag=key)
    low = dataclasses.replace(PRESSURE, id="heater_low", tag=key, priority=Priority.LOW)
    value = table.model.index_for(key, Column.VALUE)
    assert value.data(Qt.ItemDataRole.DecorationRole) is None
    with qtbot.waitSignal(table.model.dataChanged, timeout=1000):
        table.show_alarms(
            board(status(low, AlarmState.UNACKNOWLEDGED), status(heater, AlarmState.ACKNOWLEDGED))
        )
    # The worst of the tag's alarms, acknowledged or not, as long as it is shown.
    assert isinstance(value.data(Qt.ItemDataRole.DecorationRole), QIcon)
    assert table.status_text(key).startswith("◆ CRITICAL alarm · ")
    table.show_alarms(board(status(heater, AlarmState.SHELVED)))
    assert value.data(Qt.ItemDataRole.DecorationRole) is None
    assert "alarm" not in table.status_text(key)


def test_the_history_filter_keeps_what_is_asked_newest_first() -> None:
    run = uuid.uuid4()
    tags = {HEATER.id: HEATER.tag, PRESSURE.id: PRESSURE.tag, "plc_lost": ""}

    def entry(seq: int, alarm: str, priority: Priority, run_id: uuid.UUID | None) -> AlarmEvent:
        return AlarmEvent(
            seq, T0 + seq, alarm, AlarmEventKind.RAISED, AlarmState.UNACKNOWLEDGED, priority,
            uuid.uuid4(), run_id,
        )  # fmt: skip

    events = [
        entry(1, HEATER.id, Priority.CRITICAL, run),
        entry(2, PRESSURE.id, Priority.MEDIUM, run),
        entry(3, "plc_lost", Priority.HIGH, None),
        entry(4, HEATER.id, Priority.CRITICAL, None),
    ]
    span = (T0, T0 + 10)

    def seqs(**filters: object) -> list[int]:
        return [e.seq for e in matching(HistoryQuery(*span, **filters), events, tags)]  # type: ignore[arg-type]

    assert seqs() == [4, 3, 2, 1]
    assert seqs(priority=Priority.HIGH) == [4, 3, 1]
    assert seqs(tag=HEATER.tag) == [4, 1]
    assert seqs(tag=SYSTEM) == [3]
    assert seqs(run=str(run)[:8]) == [2, 1]
    assert seqs(run=str(run)[:8], priority=Priority.CRITICAL) == [1]


def test_the_event_log_words_of_journal_entries_and_refusals() -> None:
    names = {HEATER.id: HEATER.name}
    ack = AlarmEvent(
        7, T0, HEATER.id, AlarmEventKind.ACKNOWLEDGED, AlarmState.ACKNOWLEDGED,
        Priority.CRITICAL, uuid.uuid4(), operator="alice", note="seen",
    )  # fmt: skip
    entry = describe(ack, alarm_names=names)
    assert (entry.severity, entry.category) == (Severity.INFO, Category.ALARM)
    assert entry.message == "CRITICAL Heater 1 over-temperature acknowledged by alice: seen"
    raised_entry = describe(dataclasses.replace(raised(HEATER), value=312.46), alarm_names=names)
    assert raised_entry.severity is Severity.ERROR
    assert raised_entry.message == "CRITICAL Heater 1 over-temperature raised at 312.5"
    refused = describe(AlarmCommandRefused(T0, "nope", "no alarm 'nope'"))
    assert (refused.category, refused.message) == (
        Category.ALARM,
        "Not done for nope: no alarm 'nope'",
    )


def test_the_event_log_leaves_out_suppression_by_design(qtbot: QtBot) -> None:
    log = EventLog()
    qtbot.addWidget(log)
    log.alarm_names = {HEATER.id: HEATER.name}
    routine = dataclasses.replace(
        raised(N2, seq=2), event=AlarmEventKind.SUPPRESSED, state=AlarmState.SUPPRESSED
    )
    log.on_alarm_board(board(events=(raised(HEATER), routine)))
    assert [e.message for e in log.entries()] == ["CRITICAL Heater 1 over-temperature raised"]
