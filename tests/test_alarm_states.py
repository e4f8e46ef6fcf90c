"""The alarm state machine (domain.alarm_engine): ISA-18.2's transitions only, and
deadband and delays holding chatter off as configured (hypothesis)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.domain.alarm_engine import AlarmEngine, AlarmRefused, Situation
from ald_gui.domain.alarm_rules import SystemFigures, condition
from ald_gui.domain.alarm_vector import VECTOR_KINDS, ValueConditions
from ald_gui.domain.alarms import (
    AlarmDefinition,
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmState,
    Applies,
    Priority,
)
from ald_gui.domain.commands import (
    AcknowledgeAlarm,
    AlarmCommand,
    RemoveFromService,
    ReturnToService,
    ShelveAlarm,
    UnshelveAlarm,
)
from ald_gui.domain.machine import Machine

S = AlarmState
E = AlarmEventKind
HIDDEN = {S.SHELVED, S.SUPPRESSED, S.OUT_OF_SERVICE}
# ISA-18.2's alarm state transitions (figure "alarm state transition diagram"), and
# each hiding state entered from any state and left to normal or to a new occurrence.
ALLOWED = {
    (S.NORMAL, E.RAISED, S.UNACKNOWLEDGED),
    (S.UNACKNOWLEDGED, E.ACKNOWLEDGED, S.ACKNOWLEDGED),
    (S.UNACKNOWLEDGED, E.ACKNOWLEDGED, S.NORMAL),  # a latched alarm already clear
    (S.UNACKNOWLEDGED, E.CLEARED, S.RETURNED_UNACKNOWLEDGED),
    (S.ACKNOWLEDGED, E.CLEARED, S.NORMAL),
    (S.RETURNED_UNACKNOWLEDGED, E.ACKNOWLEDGED, S.NORMAL),
    (S.RETURNED_UNACKNOWLEDGED, E.RAISED, S.UNACKNOWLEDGED),
}
ENTER = {E.SHELVED: S.SHELVED, E.SUPPRESSED: S.SUPPRESSED, E.REMOVED: S.OUT_OF_SERVICE}
LEAVE = {E.UNSHELVED: S.SHELVED, E.UNSUPPRESSED: S.SUPPRESSED, E.RETURNED: S.OUT_OF_SERVICE}


def _allowed(before: AlarmState, ev: AlarmEvent) -> bool:
    if ev.event in ENTER:
        return ev.state is S.OUT_OF_SERVICE or ev.state in HIDDEN
    if ev.event in LEAVE:
        return before in HIDDEN and ev.state in HIDDEN | {S.NORMAL}
    if ev.event is E.RAISED and before in HIDDEN:
        return False
    return (before, ev.event, ev.state) in ALLOWED


def _high(**kw: object) -> AlarmDefinition:
    base: dict[str, object] = {
        "id": "hot", "name": "Heater hot", "kind": AlarmKind.HIGH,
        "priority": Priority.HIGH, "tag": "t", "limit": 100.0,
    }  # fmt: skip
    base.update(kw)
    return AlarmDefinition(**base)  # type: ignore[arg-type]


def _engine(d: AlarmDefinition) -> tuple[AlarmEngine, Machine]:
    clock = iter(range(10**9, 10**12))
    machine = Machine("m", clock_us=lambda: next(clock))
    return AlarmEngine([d], machine), machine


steps = st.one_of(
    st.tuples(st.just("value"), st.one_of(st.none(), st.floats(90, 110))),
    st.tuples(st.just("ack"), st.none()),
    st.tuples(st.just("shelve"), st.floats(0.1, 5)),
    st.tuples(st.just("unshelve"), st.none()),
    st.tuples(st.just("remove"), st.none()),
    st.tuples(st.just("return"), st.none()),
    st.tuples(st.just("run"), st.booleans()),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(steps, st.integers(0, 2_000_000)), max_size=60),
    st.booleans(),
    st.sampled_from(["always", "run"]),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_any_sequence_gives_only_allowed_transitions(
    script: list[tuple[tuple[str, Any], int]],
    latch: bool,
    applies: str,
    on_delay: float,
    off_delay: float,
) -> None:
    d = _high(
        latch=latch, applies=Applies(applies), on_delay_s=on_delay, off_delay_s=off_delay,
        deadband=2.0,
    )  # fmt: skip
    engine, _ = _engine(d)
    state, occurrence, t, running = S.NORMAL, None, 10**12, False
    occurrences = set()
    for (what, arg), dt in script:
        t += dt
        events: list[AlarmEvent] = []
        if what == "value":
            values = None if arg is None else {"t": arg}
            events = engine.evaluate(t, values, Situation(running=running))
        elif what == "run":
            running = bool(arg)
        else:
            commands: dict[str, AlarmCommand] = {
                "ack": AcknowledgeAlarm("hot", "seen", "ann"),
                "shelve": ShelveAlarm("hot", float(arg or 1), "maintenance", "ann"),
                "unshelve": UnshelveAlarm("hot", "ann"),
                "remove": RemoveFromService("hot", "sensor swapped", "ann"),
                "return": ReturnToService("hot", "ann"),
            }
            command = commands[what]
            try:
                events = engine.apply(command, t)
            except AlarmRefused:
                assert engine.status("hot").state is state  # a refusal changes nothing
        for ev in events:
            assert _allowed(state, ev), (state, ev.event, ev.state)
            if ev.event is E.RAISED:
                assert ev.occurrence not in occurrences  # a return is a new occurrence
                occurrences.add(ev.occurrence)
                occurrence = ev.occurrence
            elif ev.state in (S.UNACKNOWLEDGED, S.ACKNOWLEDGED, S.RETURNED_UNACKNOWLEDGED):
                assert ev.occurrence == occurrence
            if ev.event is E.ACKNOWLEDGED:
                assert (ev.operator, ev.note) == ("ann", "seen")
            state = ev.state
        assert engine.status("hot").state is state


def _raises(values: list[float], limit: float, band: float) -> int:
    """An independent count of the raises a high alarm with ``band`` makes."""
    on, raised = False, 0
    for v in values:
        if not on and v > limit:
            on, raised = True, raised + 1
        elif on and v <= limit - band:
            on = False
    return raised


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(95, 105), max_size=80), st.floats(0, 5))
def test_deadband_holds_chatter_off(values: list[float], band: float) -> None:
    engine, _ = _engine(_high(deadband=band))
    raised = 0
    for i, v in enumerate(values):
        for ev in engine.evaluate(10**12 + i * 100_000, {"t": v}, Situation()):
            raised += ev.event is E.RAISED
            if ev.event is E.CLEARED:
                assert v <= 100.0 - band  # clears only deadband back inside
    assert raised == _raises(values, 100.0, band)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.floats(95, 105), st.integers(1, 400_000)), max_size=80),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_delays_hold_chatter_off(
    script: list[tuple[float, int]], on_delay: float, off_delay: float
) -> None:
    engine, _ = _engine(_high(on_delay_s=on_delay, off_delay_s=off_delay))
    t = 10**12
    history: list[tuple[int, float]] = []
    for v, dt in script:
        t += dt
        history.append((t, v))
        for ev in engine.evaluate(t, {"t": v}, Situation()):
            raised = ev.event is E.RAISED
            delay = on_delay if raised else off_delay
            # Raised (cleared) only once the condition has held (been gone) without a
            # break for the delay: the unbroken stretch of agreeing samples began early.
            began = t
            for ts, x in reversed(history):
                if (x > 100.0) != raised:
                    break
                began = ts
            assert t - began >= delay * 1e6


def test_plc_gap_is_bad_quality_not_normal() -> None:
    engine, _ = _engine(_high())
    engine.evaluate(10**12, {"t": 120.0}, Situation())
    assert engine.status("hot").state is S.UNACKNOWLEDGED
    assert engine.evaluate(10**12 + 1, None, Situation()) == []
    status = engine.status("hot")
    assert status.bad_quality and status.state is S.UNACKNOWLEDGED and status.value is None
    engine.evaluate(10**12 + 2, {"t": 50.0}, Situation())
    assert not engine.status("hot").bad_quality
    assert engine.status("hot").state is S.RETURNED_UNACKNOWLEDGED


def test_shelf_expires_by_itself_and_a_standing_condition_raises_anew() -> None:
    engine, _ = _engine(_high())
    first = engine.evaluate(10**12, {"t": 120.0}, Situation())[0].occurrence
    engine.apply(ShelveAlarm("hot", 2.0, "known fault"), 10**12)
    assert engine.status("hot").state is S.SHELVED
    assert engine.evaluate(10**12 + 1_999_999, {"t": 120.0}, Situation()) == []
    events = engine.evaluate(10**12 + 2_000_000, {"t": 120.0}, Situation())
    assert [e.event for e in events] == [E.UNSHELVED, E.RAISED]
    assert events[1].occurrence != first


def test_refusals_name_the_reason() -> None:
    engine, _ = _engine(_high())
    for command, words in (
        (AcknowledgeAlarm("nope"), "no alarm 'nope'"),
        (AcknowledgeAlarm("hot"), "nothing to acknowledge"),
        (ShelveAlarm("hot", 0, "x"), "duration above 0"),
        (ShelveAlarm("hot", 5, " "), "needs a reason"),
        (UnshelveAlarm("hot"), "not shelved"),
        (RemoveFromService("hot", ""), "needs a reason"),
        (ReturnToService("hot"), "in service"),
    ):
        try:
            engine.apply(command, 10**12)
        except AlarmRefused as exc:
            assert words in str(exc)
        else:
            raise AssertionError(f"{command} was not refused")


kinds = st.sampled_from(sorted(VECTOR_KINDS))
reading = st.one_of(st.floats(-5, 5), st.just(math.nan))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(kinds, st.integers(0, 3), st.integers(0, 3), st.floats(-3, 3), st.floats(0, 2),
                  st.booleans(), st.booleans(), st.booleans()),
        min_size=1, max_size=20,
    ),
    st.dictionaries(st.sampled_from(["t0", "t1", "t2", "t3"]), reading),
)  # fmt: skip
def test_the_vector_judges_as_the_state_machine_does(
    rows: list[tuple[AlarmKind, int, int, float, float, bool, bool, bool]],
    values: dict[str, float],
) -> None:
    defs = [
        AlarmDefinition(
            id=f"a{i}",
            name="a",
            kind=k,
            priority=Priority.LOW,
            tag=f"t{tag}",
            setpoint_tag=f"t{sp}" if k is AlarmKind.DEVIATION else "",
            limit=limit,
            deadband=band,
        )
        for i, (k, tag, sp, limit, band, *_) in enumerate(rows)
    ]
    vector = ValueConditions(defs)
    for i, (*_, raw, bad, skip) in enumerate(rows):
        vector.raw[i], vector.bad[i], vector.skip[i] = raw, bad, skip
    expected = []
    for i, (d, (*_, raw, bad, skip)) in enumerate(zip(defs, rows, strict=True)):
        judged = condition(d, values, SystemFigures(), raw)
        now_bad = judged is None
        if not skip and ((not now_bad and judged != raw) or now_bad != bad):
            expected.append(i)
    assert vector.changed(values) == expected


def test_a_thousand_quiet_alarms_visit_none() -> None:
    defs = [
        AlarmDefinition(id=f"a{i}", name="a", kind=AlarmKind.HIGH, priority=Priority.LOW,
                        tag=f"t{i % 50}", limit=100.0)
        for i in range(1000)
    ]  # fmt: skip
    engine = AlarmEngine(defs, Machine("m"))
    quiet = {f"t{i}": 20.0 for i in range(50)}
    assert engine.evaluate(10**15, quiet, Situation()) == []
    hot = quiet | {"t7": 150.0}
    raised = engine.evaluate(10**15 + 1, hot, Situation())
    assert {e.alarm for e in raised} == {f"a{i}" for i in range(7, 1000, 50)}
    assert all(e.event is E.RAISED for e in raised)
    assert engine.evaluate(10**15 + 2, hot, Situation()) == []


def test_returned_to_service_with_its_condition_standing_it_raises_a_new_occurrence() -> None:
    engine, _ = _engine(_high())
    engine.apply(RemoveFromService("hot", "sensor swapped"), 10**12)
    assert engine.evaluate(10**12 + 1, {"t": 101.0}, Situation()) == []
    events = engine.apply(ReturnToService("hot"), 10**12 + 2)
    assert [(e.event, e.state) for e in events] == [
        (E.RETURNED, S.NORMAL), (E.RAISED, S.UNACKNOWLEDGED),
    ]  # fmt: skip
