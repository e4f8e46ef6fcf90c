"""The dry run: every step in execution order, its start and length, and the totals."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.domain.recipe import Recipe, StepKind
from ald_gui.domain.recipe_timeline import step_path, timeline, tree
from tests.recipe_trees import recipes

quick = settings(max_examples=150, deadline=None)


def _recipe(*steps: dict[str, Any]) -> Recipe:
    return Recipe.model_validate({"name": "test", "steps": list(steps)})


def _expand(steps: list[dict[str, Any]], values: dict[str, float]) -> Iterator[tuple[str, int]]:
    """The reference: each step's kind and length, loops expanded by brute force."""
    for step in steps:
        ((kind, body),) = step.items()
        if kind == "loop":
            for _ in range(body["count"]):
                yield from _expand(body["steps"], values)
        elif kind in ("pulse", "purge"):
            yield kind, body["ms"]
        elif kind == "wait":
            yield kind, body.get("ms") or body["timeout_ms"]
        else:
            length = body.get("hold_ms", 0) + body.get("timeout_ms", 0)
            if "ramp_per_s" in body and body["tag"] in values:
                length += round(
                    abs(body["value"] - values[body["tag"]]) / body["ramp_per_s"] * 1000
                )
            values[body["tag"]] = body["value"]
            yield kind, length


def test_steps_in_order_with_paths_cycles_and_starts() -> None:
    recipe = _recipe(
        {"wait": {"ms": 100}},
        {"loop": {"count": 2, "steps": [
            {"pulse": {"valve": "Valve 1", "ms": 20}},
            {"loop": {"count": 2, "steps": [{"purge": {"ms": 300, "flow_sccm": 50}}]}},
        ]}},
    )  # fmt: skip
    entries = list(timeline(recipe))
    assert [(e.path, e.cycles, e.start_ms, e.duration_ms) for e in entries] == [
        ("steps[0]", (), 0, 100),
        ("steps[1].loop.steps[0]", (1,), 100, 20),
        ("steps[1].loop.steps[1].loop.steps[0]", (1, 1), 120, 300),
        ("steps[1].loop.steps[1].loop.steps[0]", (1, 2), 420, 300),
        ("steps[1].loop.steps[0]", (2,), 720, 20),
        ("steps[1].loop.steps[1].loop.steps[0]", (2, 1), 740, 300),
        ("steps[1].loop.steps[1].loop.steps[0]", (2, 2), 1040, 300),
    ]
    assert entries[1].detail == "Valve 1 20 ms"
    assert entries[2].detail == "300 ms at 50 sccm"
    assert entries[6].loops[1].path == "steps[1].loop.steps[1]"
    assert entries[6].loops[1].count == 2
    t = timeline(recipe)
    assert (t.total_ms, t.step_count, t.pulses_per_valve) == (1340, 7, {"Valve 1": 2})
    assert not t.open_ended
    assert t.summary() == "1.340 s, 7 steps, pulses: Valve 1 ×2"


def test_step_path_is_the_format_of_the_records() -> None:
    assert step_path("", 2) == "steps[2]"
    assert step_path("steps[2]", 0) == "steps[2].loop.steps[0]"
    recipe = _recipe({"loop": {"count": 3, "steps": [{"purge": {"ms": 1}}]}})
    assert [p for p, _ in tree(recipe)] == ["steps[0]", "steps[0].loop.steps[0]"]


def test_a_wait_on_a_condition_counts_its_timeout_and_says_the_total_is_a_bound() -> None:
    recipe = _recipe(
        {"wait": {"until": {"tag": "p.q", "op": "<", "value": 5}, "timeout_ms": 60_000}},
        {"set": {"tag": "h.t", "value": 150, "tolerance": 5, "timeout_ms": 30_000}},
        {"pulse": {"valve": "Valve 1", "ms": 20}},
    )
    t = timeline(recipe)
    assert t.total_ms == 90_020
    assert t.open_ended_ms == 90_000
    assert t.open_ended_paths == ("steps[0]", "steps[1]")
    assert [e.open_ended for e in t] == [True, True, False]
    assert t.summary().startswith("at most 1 min 30 s (0.020 s plus up to 1 min 30 s waiting")


def test_a_ramp_is_estimated_from_the_start_value_else_only_its_hold_counts() -> None:
    recipe = _recipe(
        {"set": {"tag": "h.t", "value": 150, "ramp_per_s": 5, "hold_ms": 1000}},
        {"set": {"tag": "h.t", "value": 100, "ramp_per_s": 10}},
    )
    known = timeline(recipe, {"h.t": 25})
    assert [e.duration_ms for e in known] == [25_000 + 1000, 5000]
    assert known.unestimated_ramps == ()
    unknown = timeline(recipe)
    # The second ramp starts from what the first set: that much is known.
    assert [(e.duration_ms, e.ramp_estimated) for e in unknown] == [(1000, False), (5000, True)]
    assert unknown.unestimated_ramps == ("steps[0]",)
    assert "ramps not counted at steps[0]" in unknown.summary()
    assert "time not counted: start unknown" in next(iter(unknown)).detail


def test_a_ramp_in_a_loop_starts_from_the_previous_cycle() -> None:
    recipe = _recipe(
        {"loop": {"count": 3, "steps": [
            {"set": {"tag": "h.t", "value": 200, "ramp_per_s": 10}},
            {"set": {"tag": "h.t", "value": 100, "ramp_per_s": 10}},
        ]}},
    )  # fmt: skip
    t = timeline(recipe, {"h.t": 0})
    assert [e.duration_ms for e in t] == [20_000, 10_000, 10_000, 10_000, 10_000, 10_000]
    assert t.total_ms == 70_000


@quick
@given(
    recipes(),
    st.dictionaries(st.sampled_from(["chamber_heater.temperature_set"]), st.floats(0, 500)),
)
def test_the_total_is_the_sum_of_every_step_expanded_through_the_loops(
    data: dict[str, Any], start: dict[str, float]
) -> None:
    recipe = Recipe.model_validate(data)
    t = timeline(recipe, start)
    expected = list(_expand(data["steps"], dict(start)))
    entries = list(t)
    assert [(e.kind.value, e.duration_ms) for e in entries] == expected
    assert t.total_ms == sum(ms for _, ms in expected)
    assert t.step_count == len(expected)
    assert [e.start_ms for e in entries] == [
        sum(ms for _, ms in expected[:i]) for i in range(len(expected))
    ]
    pulses = Counter(e.detail.rsplit(" ", 2)[0] for e in entries if e.kind is StepKind.PULSE)
    assert t.pulses_per_valve == dict(pulses)


@quick
@given(st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=60))
def test_loops_nest_to_any_depth_and_the_totals_do_not_expand_them(counts: list[int]) -> None:
    step: dict[str, Any] = {"pulse": {"valve": "Valve 1", "ms": 20}}
    for count in reversed(counts):
        step = {"loop": {"count": count, "steps": [step, {"purge": {"ms": 500}}]}}
    t = timeline(_recipe(step))
    # Pulses: the product of every count; purges: one per cycle of every level.
    pulses = math.prod(counts)
    purges = sum(math.prod(counts[: i + 1]) for i in range(len(counts)))
    assert t.pulses_per_valve == {"Valve 1": pulses}
    assert t.total_ms == 20 * pulses + 500 * purges
    assert t.step_count == pulses + purges
    first = next(iter(t))
    assert first.path == "steps[0]" + ".loop.steps[0]" * len(counts)
    assert first.cycles == (1,) * len(counts)
