"""The executor's cursor walks any recipe tree exactly as the dry run lays it out, and
knows the planned time left from every step."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings

from ald_gui.domain.recipe import Recipe, SetTag
from ald_gui.domain.recipe_timeline import timeline, tree
from ald_gui.engine.recipe_cursor import Cursor
from tests.recipe_trees import recipes


@settings(max_examples=200, deadline=None)
@given(recipes())
def test_the_cursor_visits_the_dry_runs_steps_in_order_with_their_cycles(
    data: dict[str, Any],
) -> None:
    recipe = Recipe.model_validate(data)
    plan = timeline(recipe)
    assume(plan.step_count <= 3000)
    entries = list(plan)
    cursor = Cursor(recipe, at_us=0)
    loop_ends: list[tuple[str, tuple[int, ...]]] = []
    # A ramp's length depends on the value before it, which the cursor's plan of what
    # is left does not know: only recipes without ramps compare the time left.
    ramps = any(isinstance(s.action, SetTag) and s.action.ramp_per_s for _, s in tree(recipe))
    for i, entry in enumerate(entries):
        assert not cursor.done
        assert (cursor.path, cursor.step.kind) == (entry.path, entry.kind)
        assert cursor.loops == entry.loops and cursor.cycles == entry.cycles
        if not ramps:  # the estimate of the run's end, revised at every step
            assert cursor.left_ms() == plan.total_ms - entry.start_ms
        boundary = cursor.advance(at_us=i + 1)
        # A cycle ends where the next step is no longer in this cycle of the innermost loop.
        following = entries[i + 1].loops if i + 1 < len(entries) else ()
        inside = entry.loops and following[: len(entry.loops)] == entry.loops
        assert boundary.cycle_ended == (not inside)
        loop_ends += [(e.path, e.cycles) for e in boundary.loops]
    assert cursor.done
    # Every loop instance ends once, after its last cycle, innermost first.
    expected = {
        (p.path, tuple(q.cycle for q in e.loops[:k]))
        for e in entries
        for k, p in enumerate(e.loops)
    }
    assert sorted(loop_ends) == sorted(expected) and len(loop_ends) == len(expected)
