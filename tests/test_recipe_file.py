"""Recipe files: TOML in and out, and errors that name the file, the step path and why."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.config.recipe_file import RecipeError, load_recipe, parse_recipe, recipe_toml
from ald_gui.domain.recipe import Recipe
from tests.recipe_trees import recipes

quick = settings(max_examples=150, deadline=None)

GOOD = """\
name = "Al2O3"
version = 3
[[steps]]
loop = { count = 100, steps = [
    { pulse = { valve = "Valve 1", ms = 20 } },
    { purge = { ms = 3000, flow_sccm = 50 } },
] }
"""


def _problems(text: str, source: str = "al2o3.toml") -> list[str]:
    with pytest.raises(RecipeError) as caught:
        parse_recipe(text, source)
    assert caught.value.source == source
    lines = str(caught.value).splitlines()
    assert all(line.startswith(f"{source}: ") for line in lines), lines
    return [line.removeprefix(f"{source}: ") for line in lines]


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "al2o3.toml"
    path.write_text(GOOD, encoding="utf-8")
    recipe = load_recipe(path)
    assert (recipe.name, recipe.version) == ("Al2O3", 3)
    loop = recipe.steps[0].action
    assert loop.count == 100  # type: ignore[union-attr]


def test_a_bad_field_deep_in_a_loop_is_named_by_its_path() -> None:
    text = GOOD.replace("ms = 20", "ms = 0")
    assert _problems(text) == ["steps[0].loop.steps[0].pulse.ms: Input should be greater than 0"]


def test_a_step_of_two_kinds_is_refused() -> None:
    text = 'name = "x"\n[[steps]]\npulse = { valve = "Valve 1", ms = 20 }\npurge = { ms = 5 }\n'
    assert _problems(text) == [
        "steps[0]: a step is exactly one of pulse, purge, wait, set, loop (found: pulse, purge)"
    ]


def test_a_step_of_no_known_kind_and_unknown_keys_are_refused() -> None:
    text = (
        'name = "x"\ncolour = "red"\n[[steps]]\npulsee = { valve = "Valve 1", ms = 20 }\n'
        '[[steps]]\npurge = { ms = 5, gas = "N2" }\n'
    )
    assert _problems(text) == [
        "steps[0].pulsee: is no kind of step (a step is one of pulse, purge, wait, set, loop)",
        "steps[1].purge.gas: unknown key (check its spelling against the recipe format)",
        "colour: unknown key (check its spelling against the recipe format)",
    ]


def test_the_rules_of_each_kind_are_named() -> None:
    text = (
        'name = "x"\n'
        'steps = [{ wait = { ms = 5, until = { tag = "a.b", op = "<", value = 1 } } },\n'
        '         { set = { tag = "a.b", value = 1, tolerance = 2 } },\n'
        '         { wait = { until = { tag = "a.b", op = "~", value = 1 }, timeout_ms = 5 } },\n'
        "         { loop = { count = 0, steps = [] } }]\n"
    )
    problems = _problems(text)
    assert problems[0] == "steps[0].wait: a wait needs either ms or until (not both)"
    assert problems[1] == "steps[1].set: a set with a tolerance needs timeout_ms"
    assert problems[2].startswith("steps[2].wait.until.op: Input should be '<', '<=', '>' or '>='")
    assert problems[3] == "steps[3].loop.count: Input should be greater than or equal to 1"
    assert (
        problems[4]
        == "steps[3].loop.steps: Tuple should have at least 1 item after validation, not 0"
    )
    assert len(problems) == 5


def test_a_recipe_without_steps_or_a_name() -> None:
    assert _problems('description = "x"\n') == [
        "name: missing: this key is required",
        "steps: missing: this key is required",
    ]


def test_a_toml_syntax_error_names_the_line() -> None:
    (problem,) = _problems('name = "x\n[[steps]]\n')
    assert problem.startswith("not valid TOML: ")
    assert "line 1" in problem


def test_an_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.toml"
    with pytest.raises(RecipeError, match=r"gone.toml: cannot read the file: No such file"):
        load_recipe(missing)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(RecipeError, match=r"binary.toml: not a text file \(UTF-8\)"):
        load_recipe(binary)
    with pytest.raises(RecipeError, match="cannot read the file"):
        load_recipe(tmp_path)  # a folder


@quick
@given(recipes())
def test_toml_round_trips_and_the_hash_ignores_layout(data: dict[str, Any]) -> None:
    recipe = Recipe.model_validate(data)
    text = recipe_toml(recipe)
    again = parse_recipe(text)
    assert again == recipe
    assert again.sha256 == recipe.sha256
    assert Recipe.from_canonical(recipe.canonical()) == recipe
    # Another layout of the same recipe: keys in another order, everything inline,
    # comments and blank lines, 150.0 written as 150: the same hash.
    shuffled = _shuffle(json.loads(recipe.canonical()), random.Random(recipe.sha256))
    other = "# a comment\n\n" + tomli_w.dumps(shuffled).replace("\n", "\n\n")
    assert parse_recipe(other).sha256 == recipe.sha256


def _shuffle(node: Any, rng: random.Random) -> Any:
    if isinstance(node, dict):
        items = list(node.items())
        rng.shuffle(items)
        return {k: _shuffle(v, rng) for k, v in items}
    if isinstance(node, list):
        return [_shuffle(v, rng) for v in node]
    if isinstance(node, float) and node.is_integer() and abs(node) < 2**53:
        return int(node)
    return node


@quick
@given(recipes(), st.text(min_size=1, max_size=10))
def test_a_change_of_content_changes_the_hash(data: dict[str, Any], suffix: str) -> None:
    recipe = Recipe.model_validate(data)
    renamed = recipe.model_copy(update={"name": recipe.name + suffix})
    assert renamed.sha256 != recipe.sha256


def test_the_readme_example_is_a_valid_recipe() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## Recipes\n") :]
    example = section[section.index("```toml\n") + 8 : section.index("\n```\n")]
    recipe = parse_recipe(example, "README.md")
    assert [s.kind.value for s in recipe.steps] == ["set", "wait", "loop"]
