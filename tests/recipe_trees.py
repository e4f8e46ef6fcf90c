"""Hypothesis strategies of recipe trees, shared by the recipe model's property tests.

``recipes()`` draws any valid tree (every kind of step, loops nested), with no regard
for a machine. ``machine_steps()`` draws steps that pass check_recipe against the
reference reactor: every pulse is followed by a purge long enough for its rules.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

Step = dict[str, Any]

VALVES = ("Valve 1", "Valve 2", "Valve 3", "Valve 4")
TAGS = ("chamber_heater.temperature_set", "mfc_1.flow_set", "backline_heater.temperature_set")

ms = st.integers(min_value=1, max_value=100_000)
values = st.floats(min_value=0, max_value=1000, allow_nan=False).map(lambda v: round(v, 3))

pulses = st.builds(lambda v, t: {"pulse": {"valve": v, "ms": t}}, st.sampled_from(VALVES), ms)
purges = st.builds(
    lambda t, f: {"purge": {"ms": t} | ({} if f is None else {"flow_sccm": f})},
    ms,
    st.none() | st.floats(min_value=0, max_value=200, allow_nan=False),
)
timed_waits = st.builds(lambda t: {"wait": {"ms": t}}, ms)
until_waits = st.builds(
    lambda tag, op, v, t: {"wait": {"until": {"tag": tag, "op": op, "value": v}, "timeout_ms": t}},
    st.sampled_from(("pressure_gauge_1.pressure_read", "chamber_heater.temperature_read")),
    st.sampled_from(("<", "<=", ">", ">=")),
    values,
    ms,
)


@st.composite
def sets(draw: st.DrawFn) -> Step:
    body: dict[str, Any] = {"tag": draw(st.sampled_from(TAGS)), "value": draw(values)}
    if draw(st.booleans()):
        body["ramp_per_s"] = draw(st.floats(min_value=0.5, max_value=50).map(lambda v: round(v, 2)))
    if draw(st.booleans()):
        body["tolerance"] = draw(st.floats(min_value=0.1, max_value=10))
        body["timeout_ms"] = draw(ms)
    if draw(st.booleans()):
        body["hold_ms"] = draw(st.integers(min_value=0, max_value=100_000))
    return {"set": body}


leaves = st.one_of(pulses, purges, timed_waits, until_waits, sets())


def loops(children: st.SearchStrategy[Step]) -> st.SearchStrategy[Step]:
    return st.builds(
        lambda n, steps: {"loop": {"count": n, "steps": steps}},
        st.integers(min_value=1, max_value=4),
        st.lists(children, min_size=1, max_size=4),
    )


steps = st.recursive(leaves, loops, max_leaves=25)


@st.composite
def recipes(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": draw(st.text(min_size=1, max_size=20)),
        "version": draw(st.integers(min_value=1, max_value=50)),
        "description": draw(st.text(max_size=40)),
        "author": draw(st.text(max_size=20)),
        "steps": draw(st.lists(steps, min_size=1, max_size=5)),
    }


# --- steps that pass against the reference reactor ------------------------------------
# Its rules: pulses at most 5000 ms, console-timed pulses of 20 ms or more, 500 ms of
# purge after each pulse; the purge flow (mfc_1.flow_set) takes 0..200 sccm.

cycle_halves = st.builds(
    lambda v, p, t, f: [
        {"pulse": {"valve": v, "ms": p}},
        {"purge": {"ms": t} | ({} if f is None else {"flow_sccm": f})},
    ],
    st.sampled_from(VALVES),
    st.integers(min_value=20, max_value=5000),
    st.integers(min_value=500, max_value=10_000),
    st.none() | st.integers(min_value=0, max_value=200),
)
machine_sets = st.builds(
    lambda heater, v, tol: {
        "set": {"tag": f"{heater}.temperature_set", "value": v}
        | ({} if tol is None else {
            "tolerance": tol, "reading": f"{heater}.temperature_read", "timeout_ms": 60_000
        })
    },
    st.sampled_from(("chamber_heater", "precursor_1_heater")),
    st.integers(min_value=0, max_value=250),
    st.none() | st.integers(min_value=1, max_value=10),
)  # fmt: skip
machine_units = st.one_of(
    cycle_halves,
    machine_sets.map(lambda s: [s]),
    timed_waits.map(lambda w: [w]),
)


def machine_steps(max_units: int = 3) -> st.SearchStrategy[list[Step]]:
    """A flat list of valid steps (pulses each followed by a long enough purge)."""
    return st.lists(machine_units, max_size=max_units).map(lambda u: [s for x in u for s in x])
