"""A recipe being edited: a mutable tree of steps that becomes an immutable Recipe.

Plain Python, no Qt (the tree widget is a thin view of it). A step under edit may be
incomplete or wrong (a loop emptied, a wait with neither a time nor a condition): the
draft keeps it as it is, and ``problems()`` says what is wrong with each step, by the
same step path the recipe check and the executor use (``steps[2].loop.steps[0]``).
``recipe()`` builds the Recipe, or raises DraftInvalid naming the first bad step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError

from ald_gui.domain.recipe import Loop, Recipe, Step, StepKind

__all__ = ["DEFAULTS", "DraftInvalid", "DraftStep", "RecipeDraft", "child_path"]

# What a new step of each kind starts as: valid, short, and obviously to be edited.
DEFAULTS: dict[StepKind, dict[str, object]] = {
    StepKind.PULSE: {"valve": "", "ms": 20},
    StepKind.PURGE: {"ms": 1000},
    StepKind.WAIT: {"ms": 1000},
    StepKind.SET: {"tag": "", "value": 0.0},
    StepKind.LOOP: {"count": 10},
}


class DraftInvalid(ValueError):
    """The draft is no valid recipe yet; the message names the step path and why."""


def child_path(parent: str, index: int) -> str:
    """The path of step ``index`` of the loop at ``parent`` ("" for the recipe)."""
    return f"{parent}.loop.steps[{index}]" if parent else f"steps[{index}]"


@dataclass(eq=False)
class DraftStep:
    """One step: its kind, its own fields (as a Step's action would dump them, loop
    steps aside) and, for a loop, its steps."""

    kind: StepKind
    values: dict[str, object] = field(default_factory=dict)
    children: list[DraftStep] = field(default_factory=list)

    @classmethod
    def new(cls, kind: StepKind, **values: object) -> DraftStep:
        return cls(kind, {**DEFAULTS[kind], **values})

    @classmethod
    def of(cls, step: Step) -> DraftStep:
        data = step.action.model_dump(mode="json", by_alias=True, exclude_none=True)
        if step.kind is StepKind.LOOP:
            assert step.loop is not None
            del data["steps"]
            return cls(step.kind, data, [cls.of(s) for s in step.loop.steps])
        return cls(step.kind, data)

    def step(self) -> Step:
        """The Step this draft describes. Raises ValidationError (pydantic's)."""
        data: dict[str, object] = dict(self.values)
        if self.kind is StepKind.LOOP:
            data["steps"] = [c.step() for c in self.children]
        return Step.model_validate({self.kind.value: data})


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"] if p not in ("value",))
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


class RecipeDraft:
    """The recipe's header (name, description, author, version) and its steps."""

    def __init__(self, recipe: Recipe | None = None) -> None:
        self.name = recipe.name if recipe else ""
        self.description = recipe.description if recipe else ""
        self.author = recipe.author if recipe else ""
        self.version = recipe.version if recipe else 1
        self.steps: list[DraftStep] = [DraftStep.of(s) for s in recipe.steps] if recipe else []

    # -- finding steps ---------------------------------------------------------------

    def walk(self) -> Iterator[tuple[str, DraftStep]]:
        """Every step with its path, depth first, in recipe order."""

        def visit(parent: str, steps: list[DraftStep]) -> Iterator[tuple[str, DraftStep]]:
            for i, s in enumerate(steps):
                path = child_path(parent, i)
                yield path, s
                yield from visit(path, s.children)

        yield from visit("", self.steps)

    def at(self, path: str) -> DraftStep:
        """The step at ``path``. KeyError naming the path if there is none."""
        siblings, index = self._place(path)
        return siblings[index]

    def _place(self, path: str) -> tuple[list[DraftStep], int]:
        parent, _, last = path.rpartition(".loop.")
        if not last.startswith("steps[") or not last.endswith("]"):
            raise KeyError(f"{path!r} is no step path")
        siblings = self.at(parent).children if parent else self.steps
        try:
            index = int(last[len("steps[") : -1])
        except ValueError:
            raise KeyError(f"{path!r} is no step path") from None
        if not 0 <= index < len(siblings):
            raise KeyError(f"no step {path!r}")
        return siblings, index

    def _list(self, parent: str) -> list[DraftStep]:
        if not parent:
            return self.steps
        loop = self.at(parent)
        if loop.kind is not StepKind.LOOP:
            raise KeyError(f"{parent!r} is a {loop.kind} step, not a loop")
        return loop.children

    # -- editing (each returns the path of the step it leaves selected) ---------------

    def insert(self, step: DraftStep, parent: str = "", index: int | None = None) -> str:
        """Put ``step`` into the loop at ``parent`` (the recipe's top level for "") at
        ``index`` (the end for None)."""
        siblings = self._list(parent)
        at = len(siblings) if index is None else max(0, min(index, len(siblings)))
        siblings.insert(at, step)
        return child_path(parent, at)

    def insert_after(self, step: DraftStep, path: str | None) -> str:
        """Put ``step`` right after the step at ``path``, at its level (at the end of
        the recipe when ``path`` is None)."""
        if path is None:
            return self.insert(step)
        parent = path.rpartition(".loop.")[0]
        return self.insert(step, parent, self._place(path)[1] + 1)

    def remove(self, path: str) -> str | None:
        """Remove the step at ``path`` (a loop with all its steps)."""
        siblings, index = self._place(path)
        del siblings[index]
        parent = path.rpartition(".loop.")[0]
        if siblings:
            return child_path(parent, min(index, len(siblings) - 1))
        return parent or None

    def move(self, path: str, offset: int) -> str:
        """Move the step at ``path`` ``offset`` places among its siblings (clamped)."""
        siblings, index = self._place(path)
        to = max(0, min(index + offset, len(siblings) - 1))
        siblings.insert(to, siblings.pop(index))
        return child_path(path.rpartition(".loop.")[0], to)

    def wrap(self, paths: list[str], count: int = 2) -> str:
        """Put the steps at ``paths`` (siblings next to each other) into a new loop of
        ``count`` cycles, where the first of them was. ValueError otherwise."""
        if not paths:
            raise ValueError("choose the steps to put into a loop")
        places = sorted((self._place(p) for p in paths), key=lambda p: p[1])
        siblings = places[0][0]
        indices = [i for _, i in places]
        if any(s is not siblings for s, _ in places) or indices != list(
            range(indices[0], indices[0] + len(indices))
        ):
            raise ValueError("only steps next to each other in the same loop go into one loop")
        first = indices[0]
        loop = DraftStep.new(StepKind.LOOP, count=count)
        loop.children = siblings[first : first + len(indices)]
        siblings[first : first + len(indices)] = [loop]
        return child_path(paths[0].rpartition(".loop.")[0], first)

    # -- checking and building -------------------------------------------------------

    def problems(self) -> dict[str, str]:
        """What keeps each step from being valid, by step path (only its own fields:
        a loop is not blamed for a bad step inside it)."""
        found: dict[str, str] = {}
        for path, s in self.walk():
            if s.kind is StepKind.LOOP:
                if not s.children:
                    found[path] = "a loop needs at least one step"
                    continue
                try:
                    Loop.model_validate({**s.values, "steps": []})
                except ValidationError as exc:
                    if any(e["loc"] != ("steps",) for e in exc.errors()):
                        found[path] = _first_error(exc)
                continue
            try:
                s.step()
            except ValidationError as exc:
                found[path] = _first_error(exc)
        return found

    def recipe(self) -> Recipe:
        """The Recipe, or DraftInvalid naming the step path (or header field) and why."""
        problems = self.problems()
        if problems:
            path, why = next(iter(problems.items()))
            raise DraftInvalid(f"{path}: {why}")
        try:
            return Recipe(
                name=self.name.strip(),
                version=self.version,
                description=self.description,
                author=self.author,
                steps=tuple(s.step() for s in self.steps),
            )
        except ValidationError as exc:
            raise DraftInvalid(_first_error(exc)) from None
