"""The alarm performance figures (domain.alarm_kpis) on journals made to show each."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ald_gui.cli.alarms_cmd import since_us
from ald_gui.domain.alarm_kpis import LastState, alarm_kpis
from ald_gui.domain.alarms import AlarmEvent, AlarmEventKind, AlarmState, Priority

S = 10**6
T0 = 1_800_000_000 * S


def _raised(alarm: str, at_s: float) -> AlarmEvent:
    return AlarmEvent(0, T0 + int(at_s * S), alarm, AlarmEventKind.RAISED,
                      AlarmState.UNACKNOWLEDGED, Priority.HIGH, uuid.uuid4())  # fmt: skip


def test_a_quiet_hour_has_no_flood_and_counts_its_alarms() -> None:
    events = [_raised("hot", 300 * i) for i in range(12)]  # one every 5 minutes
    k = alarm_kpis(events, T0, T0 + 3600 * S)
    assert k.alarms == 12 and k.per_10_minutes == 2.0 and k.busiest_10_minutes == 2
    assert k.flood_s == 0 and k.chattering == ()
    assert [(f.alarm, f.count) for f in k.most_frequent] == [("hot", 12)]


def test_a_flood_lasts_while_more_than_ten_lie_in_the_ten_minutes_before() -> None:
    # 12 alarms in the first 11 s: from the 11th (at 10 s) to ten minutes after the 2nd
    # (at 601 s), more than ten lie in the trailing ten minutes.
    events = [_raised(f"a{i}", i) for i in range(12)]
    k = alarm_kpis(events, T0, T0 + 3600 * S)
    assert k.flood_s == 601 - 10
    assert k.busiest_10_minutes == 12
    assert abs(k.flood_share - 591 / 3600) < 1e-9


def test_chattering_and_the_ten_most_frequent() -> None:
    events = [_raised("chatty", t) for t in (0, 20, 40, 400)]  # 3 within a minute
    events += [_raised("slow", t) for t in (0, 100, 200)]  # 3, never within a minute
    events += [_raised(f"x{i}", 1000 + i) for i in range(12)]
    k = alarm_kpis(events, T0, T0 + 3600 * S)
    assert [(c.alarm, c.most_in_a_minute) for c in k.chattering] == [("chatty", 3)]
    top = [(f.alarm, f.count) for f in k.most_frequent]
    assert len(top) == 10 and top[:2] == [("chatty", 4), ("slow", 3)]


def test_standing_alarms_are_those_active_for_a_day() -> None:
    end = T0 + 30 * 3600 * S
    states = [
        LastState("old", AlarmState.ACKNOWLEDGED, T0),
        LastState("new", AlarmState.UNACKNOWLEDGED, end - 3600 * S),
        LastState("gone", AlarmState.NORMAL, T0),
    ]
    k = alarm_kpis([], end - 3600 * S, end, states)
    assert [(s.alarm, s.active_s) for s in k.standing] == [("old", 30 * 3600.0)]


def test_since_takes_a_time_ago_or_an_iso_time() -> None:
    assert since_us("30m", T0) == T0 - 1800 * S
    at = datetime(2027, 1, 15, 8, tzinfo=UTC)
    assert since_us("2027-01-15T08:00+00:00", T0) == int(at.timestamp()) * S
    try:
        since_us("yesterday", T0)
    except ValueError as exc:
        assert "--since 'yesterday'" in str(exc)
    else:
        raise AssertionError("a bad --since was taken")
