"""Validation of a recipe against the machine: every rule it names, found where it is."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.config.load import load_config, parse_config
from ald_gui.config.models import AppConfig
from ald_gui.config.recipe_check import Rule, check_recipe
from ald_gui.config.recipe_file import load_recipe
from ald_gui.domain.events import Severity
from ald_gui.domain.recipe import Recipe
from ald_gui.domain.recipe_timeline import step_path
from tests.recipe_trees import Step, machine_steps

quick = settings(max_examples=120, deadline=None)
REFERENCE = load_config()


def _recipe(*steps: Step) -> Recipe:
    return Recipe.model_validate({"name": "test", "steps": list(steps)})


def _with(config: AppConfig, **process: Any) -> AppConfig:
    """The reference configuration with its [process] section changed."""
    data = config.model_dump(mode="json", exclude_none=True)
    for key, value in process.items():
        node = data["process"]
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return parse_config(data)


def _found(recipe: Recipe, config: AppConfig = REFERENCE) -> set[tuple[str, Rule, Severity]]:
    return {(f.path, f.rule, f.severity) for f in check_recipe(recipe, config).findings}


DEMOS = ["al2o3_tma_h2o.toml", "al2o3_zno_laminate.toml"]


@pytest.mark.parametrize("name", DEMOS)
def test_the_demo_recipes_pass_against_the_reference_reactor(name: str) -> None:
    path = Path(str(resources.files("ald_gui.resources").joinpath("recipes", name)))
    recipe = load_recipe(path)
    check = check_recipe(recipe, REFERENCE)
    assert check.findings == ()
    assert check.ok
    t = check.timeline
    # Short enough to watch: a couple of minutes of steps, plus the heat-up's wait.
    assert 60_000 < t.total_ms - t.open_ended_ms < 300_000
    assert t.open_ended  # it waits for the heater and the pressure


def test_the_laminate_nests_supercycles() -> None:
    path = Path(str(resources.files("ald_gui.resources").joinpath("recipes", DEMOS[1])))
    t = check_recipe(load_recipe(path), REFERENCE).timeline
    assert t.pulses_per_valve == {"Valve 1": 12, "Valve 2": 24, "Valve 3": 12}
    assert max(len(e.cycles) for e in t) == 2


def test_each_message_names_the_rule_and_what_to_do() -> None:
    recipe = _recipe(
        {"pulse": {"valve": "Valve 9", "ms": 20}},
        {"purge": {"ms": 600, "flow_sccm": 500}},
        {"set": {"tag": "valve_2.valve_state", "value": 1}},
        {"set": {"tag": "chamber_heater.temperature_set", "value": 1200}},
        # Valves 3 and 4: the reference's console-timed precursor valves.
        {"pulse": {"valve": "Valve 3", "ms": 6000}},
        {"pulse": {"valve": "Valve 4", "ms": 5}},
    )
    check = check_recipe(recipe, REFERENCE)
    text = [str(f) for f in check.findings]
    assert text[0] == (
        'steps[0].pulse.valve: "Valve 9" is no valve of this machine (its valves: Valve 1, '
        "Valve 2, Valve 3, Valve 4, Valve 5, Valve 6): pulse one of those"
    )
    assert text[1] == (
        "steps[1].purge.flow_sccm: the purge flow is set on mfc_1.flow_set and 500 sccm is "
        "outside mfc_1.flow_set's range 0..200 sccm (rule tag limits): choose a flow within "
        "its range"
    )
    assert text[2].startswith("steps[2].set.tag: this set opens Valve 2's coil")
    assert "(rule exclusive_valves): use a pulse step" in text[2]
    assert text[3] == (
        "steps[3].set.value: 1200 °C is outside chamber_heater.temperature_set's range "
        "0..1000 °C (rule tag limits): choose a value within it"
    )
    assert text[4] == (
        "steps[4].pulse.ms: a 6000 ms pulse is longer than this machine allows "
        "(rule max_pulse_ms: 5000 ms): shorten it"
    )
    assert text[5].startswith("steps[5].pulse.ms: warning: a 5 ms pulse is shorter than")
    assert text[6] == (
        "steps[5].pulse: only 0 ms of purge between Valve 3's pulse at steps[4] (before it) "
        "and this pulse of Valve 4; rule min_purge_after_pulse_ms asks 500 ms: put a purge "
        "of 500 ms or more between them"
    )
    assert len(text) == 7
    assert not check.ok
    assert len(check.errors) == 6
    assert len(check.warnings) == 1


def test_a_short_console_pulse_is_an_error_when_the_rules_say_so() -> None:
    recipe = _recipe({"pulse": {"valve": "Valve 3", "ms": 5}})  # timed by the console
    assert _found(recipe) == {("steps[0].pulse.ms", Rule.SHORT_PULSE, Severity.WARNING)}
    strict = _with(REFERENCE, **{"rules.short_pulse": "error"})
    assert _found(recipe, strict) == {("steps[0].pulse.ms", Rule.SHORT_PULSE, Severity.ERROR)}


def test_a_valve_timed_by_the_plc_takes_short_pulses_within_its_timer() -> None:
    # The reference's Valve 1 has a PLC pulse timer (the simulator's addition); here
    # its time register takes at most 1000 ms.
    data = REFERENCE.model_dump(mode="json", exclude_none=True)
    assert data["process"]["valves"][0]["pulse_timer"]["time_tag"] == "valve_1.pulse_time"
    (time_tag,) = (
        t for t in data["tags"] if (t["component"], t["name"]) == ("Valve 1", "pulse_time")
    )
    time_tag["max"] = 1000
    data["process"]["valves"][0]["max_pulse_ms"] = 2000
    config = parse_config(data)
    assert _found(_recipe({"pulse": {"valve": "Valve 1", "ms": 5}}), config) == set()
    assert _found(_recipe({"pulse": {"valve": "Valve 1", "ms": 3000}}), config) == {
        ("steps[0].pulse.ms", Rule.PULSE_TIMER, Severity.ERROR),
        ("steps[0].pulse.ms", Rule.MAX_PULSE, Severity.ERROR),
    }
    # Its trigger opens the valve: a set may not touch it either.
    trigger = _recipe({"set": {"tag": "valve_1.pulse_trigger", "value": 1}})
    assert _found(trigger, config) == {("steps[0].set.tag", Rule.EXCLUSIVE_VALVES, Severity.ERROR)}


def test_a_set_closing_a_precursor_valve_or_opening_the_purge_valve_is_fine() -> None:
    recipe = _recipe(
        {"set": {"tag": "valve_1.valve_state", "value": 0}},
        {"set": {"tag": "valve_5.valve_state", "value": 1}},
    )
    assert _found(recipe) == set()


def test_a_purge_flow_needs_a_purge_flow_tag() -> None:
    config = _with(REFERENCE, purge_flow_tag="")
    recipe = _recipe({"purge": {"ms": 500, "flow_sccm": 20}})
    assert _found(recipe, config) == {("steps[0].purge.flow_sccm", Rule.PURGE_FLOW, Severity.ERROR)}


def test_the_purge_rule_sees_loops_wrap_and_exit() -> None:
    pulse = {"pulse": {"valve": "Valve 1", "ms": 20}}
    recipe = _recipe(
        {"loop": {"count": 2, "steps": [{"purge": {"ms": 200}}, pulse, {"purge": {"ms": 200}}]}},
        {"loop": {"count": 5, "steps": [{"purge": {"ms": 50}}]}},  # 250 ms of purge in all
        pulse,
    )
    check = check_recipe(recipe, REFERENCE)
    assert [(f.path, f.rule) for f in check.findings] == [
        ("steps[0].loop.steps[1].pulse", Rule.MIN_PURGE),  # the wrap: 200 + 200 ms
        ("steps[2].pulse", Rule.MIN_PURGE),  # out of the loop: 200 + 250 ms
    ]
    assert "in the previous cycle of the loop at steps[0]" in check.findings[0].message
    assert "only 450 ms of purge" in check.findings[1].message
    # A loop that runs once has no wrap.
    once = _recipe({"loop": {"count": 1, "steps": [pulse, {"purge": {"ms": 100}}]}})
    assert _found(once) == set()


# --- Property: each rule violation, put anywhere in a valid tree, is found there -----


@st.composite
def _placed(draw: st.DrawFn, violation: list[Step]) -> tuple[Recipe, str]:
    """A valid recipe with ``violation`` put inside ``depth`` nested loops among valid
    steps; and the path of the violation's first step."""
    depth = draw(st.integers(min_value=0, max_value=3))
    levels = [
        (draw(machine_steps()), draw(machine_steps()), draw(st.integers(min_value=1, max_value=3)))
        for _ in range(depth + 1)
    ]
    before, after, _ = levels[-1]
    steps: list[Step] = before + violation + after
    path_inside = [len(before)]
    for before, after, count in reversed(levels[:-1]):
        path_inside.insert(0, len(before))
        steps = [*before, {"loop": {"count": count, "steps": steps}}, *after]
    path = ""
    for index in path_inside:
        path = step_path(path, index)
    return _recipe(*steps), path


VIOLATIONS: dict[str, tuple[st.SearchStrategy[list[Step]], str, Rule, Severity]] = {
    "unknown valve": (
        st.sampled_from(["Valve 9", "valve 1", "TMA"]).map(
            lambda v: [{"pulse": {"valve": v, "ms": 20}}, {"purge": {"ms": 500}}]
        ),
        ".pulse.valve", Rule.VALVES, Severity.ERROR,
    ),
    "pulse too long": (
        st.integers(5001, 100_000).map(
            lambda ms: [{"pulse": {"valve": "Valve 2", "ms": ms}}, {"purge": {"ms": 500}}]
        ),
        ".pulse.ms", Rule.MAX_PULSE, Severity.ERROR,
    ),
    "console pulse too short": (
        st.integers(1, 19).map(
            lambda ms: [{"pulse": {"valve": "Valve 3", "ms": ms}}, {"purge": {"ms": 500}}]
        ),
        ".pulse.ms", Rule.SHORT_PULSE, Severity.WARNING,
    ),
    "purge flow out of range": (
        st.floats(200.01, 1e6).map(lambda f: [{"purge": {"ms": 600, "flow_sccm": f}}]),
        ".purge.flow_sccm", Rule.TAG_LIMITS, Severity.ERROR,
    ),
    "no such tag": (
        st.sampled_from(["chamber.temp", "nothing.here"]).map(
            lambda t: [{"set": {"tag": t, "value": 1}}]
        ),
        ".set.tag", Rule.TAGS, Severity.ERROR,
    ),
    "read-only or unwired tag": (
        st.sampled_from(
            ["chamber_heater.temperature_read", "precursor_5_heater.temperature_set"]
        ).map(lambda t: [{"set": {"tag": t, "value": 1}}]),
        ".set.tag", Rule.TAG_LIMITS, Severity.ERROR,
    ),
    "value out of range": (
        st.one_of(st.floats(1000.01, 1e9), st.floats(-1e9, -0.01)).map(
            lambda v: [{"set": {"tag": "chamber_heater.temperature_set", "value": v}}]
        ),
        ".set.value", Rule.TAG_LIMITS, Severity.ERROR,
    ),
    "a set opens a precursor valve": (
        st.sampled_from(["valve_1", "valve_2", "valve_3", "valve_4"]).map(
            lambda v: [{"set": {"tag": f"{v}.valve_state", "value": 1}}]
        ),
        ".set.tag", Rule.EXCLUSIVE_VALVES, Severity.ERROR,
    ),
    "a tolerance judged on the setpoint": (
        st.sampled_from(["chamber_heater", "mfc_1"]).map(
            lambda c: [{"set": {"tag": f"{c}.{'flow' if c == 'mfc_1' else 'temperature'}_set",
                                "value": 10, "tolerance": 1, "timeout_ms": 1000}}]
        ),
        ".set.tolerance", Rule.TOLERANCE, Severity.WARNING,
    ),
    "a ramp on an on/off tag": (
        st.sampled_from(["vacuum_pump.power_on", "valve_5.valve_state"]).map(
            lambda t: [{"set": {"tag": t, "value": 1, "ramp_per_s": 1}}]
        ),
        ".set.ramp_per_s", Rule.RAMP, Severity.ERROR,
    ),
    "a wait on a condition that never holds": (
        st.sampled_from([("<", 0), ("<=", -1), (">", 100_000), (">=", 100_001)]).map(
            lambda c: [{"wait": {"until": {"tag": "pressure_gauge_1.pressure_read", "op": c[0],
                                           "value": c[1]}, "timeout_ms": 1000}}]
        ),
        ".wait.until.value", Rule.CONDITION, Severity.WARNING,
    ),
    "wait on an unwired tag": (
        st.just([{"wait": {"until": {"tag": "precursor_6_heater.temperature_read", "op": ">",
                                     "value": 100}, "timeout_ms": 1000}}]),
        ".wait.until.tag", Rule.POLLED, Severity.ERROR,
    ),
    "too little purge after a pulse": (
        # A short purge, or a wait (which is no purge) between two pulses.
        st.one_of(
            st.integers(1, 499).map(lambda ms: {"purge": {"ms": ms}}),
            st.just({"wait": {"ms": 1000}}),
        ).map(
            lambda between: [{"purge": {"ms": 500}}, {"pulse": {"valve": "Valve 1", "ms": 20}},
                             between, {"pulse": {"valve": "Valve 2", "ms": 20}},
                             {"purge": {"ms": 500}}]
        ),
        "+3.pulse", Rule.MIN_PURGE, Severity.ERROR,
    ),
    "too little purge across a loop's wrap": (
        st.tuples(st.integers(2, 1000), st.integers(0, 499)).map(
            lambda c: [{"purge": {"ms": 500}}, {"loop": {"count": c[0], "steps": [
                {"pulse": {"valve": "Valve 4", "ms": 20}}, {"purge": {"ms": c[1] or 1}}]}},
                {"purge": {"ms": 500}}]
        ),
        "+1.loop.steps[0].pulse", Rule.MIN_PURGE, Severity.ERROR,
    ),
}  # fmt: skip


def test_every_rule_is_tested() -> None:
    by_example = {Rule.PULSE_TIMER, Rule.PURGE_FLOW}  # they need another configuration
    assert {rule for _, _, rule, _ in VIOLATIONS.values()} | by_example == set(Rule)


@quick
@given(machine_steps(6))
def test_the_valid_trees_used_below_pass(steps: list[Step]) -> None:
    if steps:
        assert _found(_recipe(*steps)) == set()


@pytest.mark.parametrize("name", list(VIOLATIONS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_rule_violation_is_found_at_its_path(name: str, data: st.DataObject) -> None:
    violation, field, rule, severity = VIOLATIONS[name]
    recipe, path = data.draw(_placed(data.draw(violation)))
    if field.startswith("+"):  # a later step of the violation: steps[i] -> steps[i+n]
        offset, _, field = field[1:].partition(".")
        head, _, index = path.rpartition("[")
        path = f"{head}[{int(index[:-1]) + int(offset)}]"
        field = "." + field
    assert (path + field, rule, severity) in _found(recipe)


def test_a_tolerance_on_the_setpoint_itself_suggests_its_reading() -> None:
    recipe = _recipe(
        {"set": {"tag": "chamber_heater.temperature_set", "value": 150, "tolerance": 5,
                 "timeout_ms": 60_000}},
    )  # fmt: skip
    (finding,) = check_recipe(recipe, REFERENCE).findings
    assert str(finding) == (
        "steps[0].set.tolerance: warning: the tolerance is judged on "
        "chamber_heater.temperature_set itself, the setpoint, which is at 150 as soon as it "
        "is written (rule tolerance): to wait for the machine, add reading = "
        '"chamber_heater.temperature_read"'
    )
    # A setpoint without a reading beside it is judged on itself, without a word.
    pump = _recipe({"set": {"tag": "vacuum_pump.power_on", "value": 1, "tolerance": 0.5,
                            "timeout_ms": 1000}})  # fmt: skip
    assert _found(pump) == set()
