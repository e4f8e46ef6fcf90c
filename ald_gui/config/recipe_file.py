"""Recipe files: TOML in, Recipe out, with errors that name the file, step and reason.

The format is ald_gui.domain.recipe's (each step a table with one key, its kind).
``RecipeError``'s lines read like a compiler's, one problem a line, so an engineer can
go straight to it::

    al2o3.toml: steps[2].loop.steps[0].pulse.ms: must be greater than 0
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from ald_gui.domain.recipe import Recipe, StepKind

_KINDS = ", ".join(k.value for k in StepKind)


class RecipeError(Exception):
    """A recipe that cannot be read. ``str()`` is the message for the user: one line a
    problem, each ``source: path: reason``."""

    def __init__(self, source: Path | str, problems: list[str]) -> None:
        self.source = str(source)
        self.problems = problems
        super().__init__("\n".join(f"{self.source}: {p}" for p in problems))


def load_recipe(path: Path | str) -> Recipe:
    """Read and validate the recipe file at ``path``.

    Raises RecipeError naming the file (by the name given) for an unreadable file,
    a TOML syntax error, or every invalid step with its path and the reason."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(path, [f"not a text file (UTF-8): {exc.reason}"]) from None
    except OSError as exc:
        raise RecipeError(path, [f"cannot read the file: {exc.strerror or exc}"]) from None
    return parse_recipe(text, path)


def parse_recipe(data: str | dict[str, Any], source: Path | str = "<recipe>") -> Recipe:
    """Validate a recipe given as TOML text or as the table it parses into."""
    if isinstance(data, str):
        try:
            data = tomllib.loads(data)
        except tomllib.TOMLDecodeError as exc:
            raise RecipeError(source, [f"not valid TOML: {exc}"]) from None
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(source, _problems(exc, data)) from None


def recipe_toml(recipe: Recipe) -> str:
    """The recipe as a TOML file that ``parse_recipe`` reads back to an equal recipe
    (unset fields are left out, so the file holds what the engineer chose)."""
    data = recipe.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"name": data.pop("name"), "version": recipe.version, **data}
    return tomli_w.dumps(data)


def _problems(exc: ValidationError, data: dict[str, Any]) -> list[str]:
    errors = exc.errors()
    locs = [tuple(err["loc"]) for err in errors]
    problems = []
    for err, loc in zip(errors, locs, strict=True):
        # A list whose items are invalid is also reported as too short (its valid
        # items are counted): the items' own errors say what is wrong.
        if err["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locs
        ):
            continue
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = _unknown_key(loc)
        elif err["type"] == "missing":
            reason = "missing: this key is required"
        problems.append(f"{_path(loc)}: {reason}")
    # pydantic reports a step of an unknown kind twice: as an unknown key and as a step
    # of no kind. The unknown key says it better.
    unknown_steps = {p.rsplit(".", 1)[0] for p in problems if "is no kind of step" in p}
    return [p for p in problems if not _is_no_kind(p, unknown_steps)]


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    if len(loc) >= 2 and isinstance(loc[-2], int) and loc[-3:-2] == ("steps",):
        return f"is no kind of step (a step is one of {_KINDS})"
    return "unknown key (check its spelling against the recipe format)"


def _is_no_kind(problem: str, unknown_steps: set[str]) -> bool:
    path, _, reason = problem.partition(": ")
    return path in unknown_steps and reason.startswith("a step is exactly one of")


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"
