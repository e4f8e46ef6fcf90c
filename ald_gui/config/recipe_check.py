"""Validation of a recipe against the machine it is to run on, before any run.

``check_recipe(recipe, config)`` judges every step of the tree once (not once per
cycle) against the configuration's tags and its ``[process]`` section, and returns
the findings with the dry run's totals. Each finding names the step and field by
path (``steps[2].loop.steps[0].pulse.valve``), the rule it breaks and what to do.
An error means the recipe must not run; a warning is worth reading but allowed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from ald_gui.config.models import AppConfig
from ald_gui.config.process import ProcessSettings, ShortPulse, ValveRole
from ald_gui.domain.events import Severity
from ald_gui.domain.recipe import (
    Comparison,
    Loop,
    Pulse,
    Purge,
    Recipe,
    SetTag,
    Step,
    Wait,
)
from ald_gui.domain.recipe_timeline import Timeline, step_path, tree
from ald_gui.domain.tag_writes import write_refusal
from ald_gui.domain.tags import DataType, Tag


class Rule(StrEnum):
    """What a finding is about, in the configuration's own words where it has them."""

    VALVES = "valves"  # a pulse names a valve of the machine
    TAGS = "tags"  # a step names a tag of the configuration
    TAG_LIMITS = "tag limits"  # a written value is writable, of its type, in min..max
    POLLED = "polled"  # a tag a step reads is wired, so the console has its value
    EXCLUSIVE_VALVES = "exclusive_valves"
    MIN_PURGE = "min_purge_after_pulse_ms"
    MAX_PULSE = "max_pulse_ms"
    PULSE_TIMER = "pulse_timer"
    SHORT_PULSE = "shortest_console_pulse_ms"
    PURGE_FLOW = "purge_flow_tag"
    RAMP = "ramp"
    TOLERANCE = "tolerance"  # judged on a reading, not on the setpoint written
    CONDITION = "wait condition"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem of the recipe: ``path`` names the step and field."""

    path: str
    message: str
    rule: Rule
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        label = "" if self.severity is Severity.ERROR else f"{self.severity}: "
        return f"{self.path}: {label}{self.message}"


@dataclass(frozen=True)
class RecipeCheck:
    """The findings of ``check_recipe`` (in the tree's order) and the recipe's dry run."""

    recipe: Recipe
    findings: tuple[Finding, ...]
    timeline: Timeline

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        """No errors: the recipe may run (warnings allowed)."""
        return not self.errors


def check_recipe(
    recipe: Recipe, config: AppConfig, start: Mapping[str, float] | None = None
) -> RecipeCheck:
    """Judge ``recipe`` against ``config``; ``start`` (present values by tag key) lets
    the dry run estimate ramps. Pure: touches no PLC."""
    machine = _Machine(config)
    findings = [f for path, step in tree(recipe) for f in machine.step(path, step)]
    findings += _purge_gaps(recipe, config.process)
    order = {path: i for i, (path, _) in enumerate(tree(recipe))}
    findings.sort(key=lambda f: order.get(_step_of(f.path), len(order)))
    return RecipeCheck(recipe, tuple(findings), Timeline(recipe, start))


def _step_of(path: str) -> str:
    """The step a field path belongs to: ``steps[0].pulse.ms`` -> ``steps[0]``."""
    head, sep, _ = path.rpartition("]")
    return head + sep


class _Machine:
    def __init__(self, config: AppConfig) -> None:
        self.process = config.process
        self.rules = config.process.rules
        self.tags = {t.key: t for t in config.tags}
        self.valves = {v.name: v for v in config.process.valves}
        # The coils that open a valve that must never open beside another by itself:
        # a set on one of them would bypass the pulse steps that keep them apart.
        grouped = {name for group in self.process.exclusive_groups for name in group}
        self.guarded: dict[str, str] = {}
        for v in config.process.valves:
            if v.role is ValveRole.PRECURSOR or v.name in grouped:
                self.guarded[v.tag] = f"{v.name}'s coil"
                if v.pulse_timer is not None:
                    self.guarded[v.pulse_timer.trigger_tag] = f"{v.name}'s pulse trigger"

    def step(self, path: str, step: Step) -> Iterator[Finding]:
        action = step.action
        if isinstance(action, Pulse):
            yield from self._pulse(f"{path}.pulse", action)
        elif isinstance(action, Purge):
            yield from self._purge(f"{path}.purge", action)
        elif isinstance(action, SetTag):
            yield from self._set(f"{path}.set", action)
        elif isinstance(action, Wait) and action.until is not None:
            yield from self._wait(f"{path}.wait.until", action)

    def _pulse(self, at: str, pulse: Pulse) -> Iterator[Finding]:
        valve = self.valves.get(pulse.valve)
        if valve is None:
            names = ", ".join(self.valves) or "none"
            yield Finding(
                f"{at}.valve",
                f'"{pulse.valve}" is no valve of this machine '
                f"(its valves: {names}): pulse one of those",
                Rule.VALVES,
            )
            return
        if pulse.ms > self.rules.max_pulse_ms:
            yield Finding(
                f"{at}.ms",
                f"a {pulse.ms} ms pulse is longer than this machine "
                f"allows (rule max_pulse_ms: {self.rules.max_pulse_ms} ms): shorten it",
                Rule.MAX_PULSE,
            )
        if valve.max_pulse_ms is not None and pulse.ms > valve.max_pulse_ms:
            yield Finding(
                f"{at}.ms",
                f"a {pulse.ms} ms pulse is longer than {valve.name} "
                f"allows (its max_pulse_ms: {valve.max_pulse_ms} ms): shorten it",
                Rule.MAX_PULSE,
            )
        timer = valve.pulse_timer
        if timer is not None:
            time_tag = self.tags.get(timer.time_tag)
            refusal = write_refusal(time_tag, pulse.ms) if time_tag is not None else None
            if refusal is not None:
                yield Finding(
                    f"{at}.ms",
                    f"the PLC times {valve.name}'s pulses and {refusal} "
                    "(rule pulse_timer): choose a length its timer takes",
                    Rule.PULSE_TIMER,
                )
        elif pulse.ms < self.rules.shortest_console_pulse_ms:
            shortest = self.rules.shortest_console_pulse_ms
            severity = (
                Severity.ERROR if self.rules.short_pulse is ShortPulse.ERROR else Severity.WARNING
            )
            yield Finding(
                f"{at}.ms",
                f"a {pulse.ms} ms pulse is shorter than the console can time well "
                f"({valve.name} has no PLC pulse timer; rule shortest_console_pulse_ms: "
                f"{shortest} ms): lengthen it to {shortest} ms or more, or give the valve "
                "a pulse_timer",
                Rule.SHORT_PULSE,
                severity,
            )

    def _purge(self, at: str, purge: Purge) -> Iterator[Finding]:
        if purge.flow_sccm is None:
            return
        key = self.process.purge_flow_tag
        if not key:
            yield Finding(
                f"{at}.flow_sccm",
                "this machine has no purge flow setpoint "
                "(rule purge_flow_tag: process.purge_flow_tag is empty): leave "
                "flow_sccm out, or configure purge_flow_tag",
                Rule.PURGE_FLOW,
            )
            return
        tag = self.tags[key]  # check_process made sure it exists
        refusal = write_refusal(tag, purge.flow_sccm)
        if refusal is not None:
            yield Finding(
                f"{at}.flow_sccm",
                f"the purge flow is set on {key} and {refusal} "
                "(rule tag limits): choose a flow within its range",
                Rule.TAG_LIMITS,
            )

    def _set(self, at: str, s: SetTag) -> Iterator[Finding]:
        tag = self._tag(f"{at}.tag", s.tag)
        if isinstance(tag, Finding):
            yield tag
        else:
            refusal = write_refusal(tag, s.value)
            if refusal is not None:
                field = "tag" if not tag.writable or tag.address is None else "value"
                what = "choose another tag" if field == "tag" else "choose a value within it"
                yield Finding(
                    f"{at}.{field}", f"{refusal} (rule tag limits): {what}", Rule.TAG_LIMITS
                )
            guarded = self.guarded.get(s.tag)
            if guarded is not None and s.value != 0:
                yield Finding(
                    f"{at}.tag",
                    f"this set opens {guarded} ({s.tag}) directly; "
                    "precursor valves open only in pulse steps, so that two never "
                    "open together (rule exclusive_valves): use a pulse step",
                    Rule.EXCLUSIVE_VALVES,
                )
            if s.ramp_per_s is not None and tag.data_type is DataType.BOOL:
                yield Finding(
                    f"{at}.ramp_per_s",
                    f"{s.tag} is on/off and cannot ramp (rule ramp): leave ramp_per_s out",
                    Rule.RAMP,
                )
            measured = self._reading_of(tag)
            if s.tolerance is not None and s.reading is None and measured is not None:
                yield Finding(
                    f"{at}.tolerance",
                    f"the tolerance is judged on {s.tag} itself, the setpoint, which is at "
                    f"{s.value:g} as soon as it is written (rule tolerance): to wait for the "
                    f'machine, add reading = "{measured}"',
                    Rule.TOLERANCE,
                    Severity.WARNING,
                )
        if s.reading is not None:
            reading = self._tag(f"{at}.reading", s.reading)
            if isinstance(reading, Finding):
                yield reading
            elif not reading.polled:
                yield _unpolled(f"{at}.reading", reading)

    def _wait(self, at: str, wait: Wait) -> Iterator[Finding]:
        assert wait.until is not None
        c = wait.until
        tag = self._tag(f"{at}.tag", c.tag)
        if isinstance(tag, Finding):
            yield tag
            return
        if not tag.polled:
            yield _unpolled(f"{at}.tag", tag)
        never = {
            Comparison.BELOW: c.value <= tag.min,
            Comparison.AT_MOST: c.value < tag.min,
            Comparison.ABOVE: c.value >= tag.max,
            Comparison.AT_LEAST: c.value > tag.max,
        }[c.op]
        if never:
            unit = f" {tag.unit}" if tag.unit else ""
            yield Finding(
                f"{at}.value",
                f"{c.tag} {c.op} {c.value:g}{unit} never holds: the "
                f"tag's range is {tag.min:g}..{tag.max:g}{unit} (rule wait condition), "
                "so this wait always runs into its timeout: check the limit",
                Rule.CONDITION,
                Severity.WARNING,
            )

    def _reading_of(self, setpoint: Tag) -> str | None:
        """The wired reading beside a setpoint (``temperature_set`` ->
        ``temperature_read`` of the same component), if the configuration has one."""
        if not setpoint.name.endswith("_set"):
            return None
        key = setpoint.key.removesuffix("_set") + "_read"
        reading = self.tags.get(key)
        return key if reading is not None and reading.polled else None

    def _tag(self, at: str, key: str) -> Tag | Finding:
        tag = self.tags.get(key)
        if tag is not None:
            return tag
        return Finding(
            at,
            f"no tag {key!r} in the configuration (rule tags): give its key, "
            "component.name as `ald-gui plc read` lists them",
            Rule.TAGS,
        )


def _unpolled(at: str, tag: Tag) -> Finding:
    return Finding(
        at,
        f"{tag.key} is not wired (no address), so the console never reads it "
        "(rule polled): wait on a wired tag",
        Rule.POLLED,
    )


@dataclass(frozen=True, slots=True)
class _Span:
    """What one pass through a list of steps looks like to the purge rule: its first
    and last pulse (path, valve), the purge time before the first (all of it, if it
    has no pulse) and after the last."""

    first: tuple[str, str] | None = None
    lead_ms: int = 0
    last: tuple[str, str] | None = None
    tail_ms: int = 0


def _purge_gaps(recipe: Recipe, process: ProcessSettings) -> list[Finding]:
    """Every pair of consecutive pulses with less purge between them than the rule
    asks, in execution order: inside a list of steps, into and out of a loop, and
    across a loop's wrap into its next cycle. Each list is summed up once (a _Span),
    so the cost does not grow with the loops' counts or depth."""
    need = process.rules.min_purge_after_pulse_ms
    found: dict[tuple[str, str], Finding] = {}

    def gap(before: tuple[str, str], purge_ms: int, after: tuple[str, str], loop: str) -> None:
        if purge_ms < need:
            found.setdefault((after[0], before[0]), _gap(before, purge_ms, after, need, loop))

    def span(parent: str, steps: tuple[Step, ...]) -> _Span:
        run = _Span()
        for i, step in enumerate(steps):
            path = step_path(parent, i)
            action = step.action
            if isinstance(action, Pulse):
                part = _Span((path, action.valve), 0, (path, action.valve), 0)
            elif isinstance(action, Purge):
                part = _Span(lead_ms=action.ms)
            elif isinstance(action, Loop):
                body = span(path, action.steps)
                if body.first is None:
                    part = replace(body, lead_ms=body.lead_ms * action.count)
                else:
                    if action.count > 1:
                        assert body.last is not None
                        gap(body.last, body.tail_ms + body.lead_ms, body.first, path)
                    part = body
            else:
                continue
            if part.first is None:
                run = replace(run, tail_ms=run.tail_ms + part.lead_ms)
                if run.first is None:
                    run = replace(run, lead_ms=run.lead_ms + part.lead_ms)
                continue
            if run.last is not None:
                gap(run.last, run.tail_ms + part.lead_ms, part.first, "")
            run = _Span(
                run.first or part.first,
                run.lead_ms if run.first else run.lead_ms + part.lead_ms,
                part.last,
                part.tail_ms,
            )
        return run

    if need > 0:
        span("", recipe.steps)
    return list(found.values())


def _gap(
    before: tuple[str, str], purge_ms: int, after: tuple[str, str], need: int, loop: str
) -> Finding:
    where = f"in the previous cycle of the loop at {loop}" if loop else "before it"
    return Finding(
        f"{after[0]}.pulse",
        f"only {purge_ms} ms of purge between {before[1]}'s pulse at {before[0]} ({where}) "
        f"and this pulse of {after[1]}; rule min_purge_after_pulse_ms asks {need} ms: put "
        f"a purge of {need - purge_ms} ms or more between them",
        Rule.MIN_PURGE,
    )
