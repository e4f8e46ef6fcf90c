"""The machine state and its stream clock (pure, no threads)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ald_gui.domain.machine import Machine, RunNotPossible
from ald_gui.domain.stream import Batch, RunEnded, RunStarted, RunStatus


def test_start_and_end_bracket_the_samples_of_the_run() -> None:
    m = Machine("ald-1", clock_us=lambda: 1_000)
    before = m.batch(1_000, {"a": 1.0})
    started = m.start("alice", "first wafer")
    inside = m.batch(1_000, {"a": 2.0})
    ended = m.end()
    after = m.batch(1_000, {"a": 3.0})
    assert before.run_id is None and after.run_id is None
    assert inside.run_id == started.run.id
    # Strictly increasing stamps even though the clock stood still.
    assert before.sampled_at_us < started.run.started_at_us <= inside.sampled_at_us
    assert inside.sampled_at_us < ended.ended_at_us <= after.sampled_at_us
    seqs = [x.seq for x in (before, started, inside, ended, after)]
    assert seqs == list(range(seqs[0], seqs[0] + 5))


def test_refusals_name_the_reason() -> None:
    m = Machine("ald-1")
    with pytest.raises(RunNotPossible, match="no run is active"):
        m.end()
    with pytest.raises(RunNotPossible, match="needs an operator"):
        m.start("   ")
    m.start("bob")
    with pytest.raises(RunNotPossible, match="by bob is active"):
        m.start("carol")
    with pytest.raises(ValueError, match="cannot end with status running"):
        m.end(RunStatus.RUNNING)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["sample", "start", "stop"]), st.integers(min_value=0, max_value=10**6)
        ),
        max_size=60,
    )
)
def test_invariant_1_holds_for_any_sequence_even_with_a_clock_stepping_back(
    steps: list[tuple[str, int]],
) -> None:
    clock = iter([t for _, t in steps] + [0] * 200)
    m = Machine("ald-1", clock_us=lambda: next(clock))
    stream: list[object] = []
    for action, t in steps:
        try:
            if action == "sample":
                stream.append(m.batch(t, {"x": 0.0}))
            elif action == "start":
                stream.append(m.start("op"))
            else:
                stream.append(m.end())
        except RunNotPossible:
            pass
    runs: dict[object, list[int]] = {}
    for item in stream:
        if isinstance(item, RunStarted):
            runs[item.run.id] = [item.run.started_at_us, 2**63]
        elif isinstance(item, RunEnded):
            runs[item.run_id][1] = item.ended_at_us
    for item in stream:
        if isinstance(item, Batch):
            owners = [rid for rid, (s, e) in runs.items() if s <= item.sampled_at_us < e]
            assert owners == ([item.run_id] if item.run_id else [])
