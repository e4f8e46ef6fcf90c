"""The film on the substrate: ALD growth from the precursor pulses, kept simple.

An ALD cycle is two self-limiting half-reactions: a pulse of one precursor covers the
surface (TMA), a purge removes what is left in the gas phase, a pulse of the other
precursor reacts with that layer (H2O), another purge. The model, per precursor
valve of the ``[process]`` section (role "precursor"):

- A pulse that follows a pulse of another precursor (or the first pulse on the fresh
  substrate) is a half-reaction: it grows ``GROWTH_PER_CYCLE_NM / 2`` when it lasts
  at least ``SATURATING_PULSE_MS``, proportionally less when shorter (the surface is
  only partly covered). A second pulse of the same precursor only covers what the
  first left uncovered: saturation, no growth beyond a full half-reaction.
- A pulse that opens while another precursor is still in the gas phase (its pulse
  ended less than ``PURGE_NEEDED_S`` ago, or it is still open) adds CVD-like growth:
  ``CVD_NM`` when they meet at full strength, falling linearly to nothing at a purge
  of ``PURGE_NEEDED_S``.

So N complete cycles of saturating pulses and long-enough purges grow exactly
N x GROWTH_PER_CYCLE_NM, in steps of half a cycle as each pulse ends. Not simulated:
temperature windows, nucleation delay, the purge gas flow (pumping alone purges).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Value = float | int | bool

GROWTH_PER_CYCLE_NM = 0.1  # Al2O3 from TMA and H2O: about 1 Angstrom per cycle
SATURATING_PULSE_MS = 50.0
# The shortest purge that leaves no precursor to meet the next one: the reference
# reactor's rule (process.rules.min_purge_after_pulse_ms) is written for this chemistry.
PURGE_NEEDED_S = 0.5
CVD_NM = GROWTH_PER_CYCLE_NM


@dataclass
class Film:
    """Thickness ``thickness`` (a tag key, nm) grown by the pulses of ``precursors``
    (their valve tag keys). A plant part: ``step`` keeps its clock, ``switched``
    reacts to a valve opening or closing at that clock's time."""

    thickness: str
    precursors: tuple[str, ...]
    now_s: float = 0.0
    opened_at: dict[str, float] = field(default_factory=dict)  # valves open now
    closed_at: dict[str, float] = field(default_factory=dict)  # each valve's last close
    surface: str | None = None  # the precursor whose half-reaction covers the surface
    coverage: float = 0.0  # how much of the surface that half-reaction covers, 0..1

    def step(self, dt: float, v: dict[str, Value]) -> None:
        self.now_s += dt

    def switched(self, key: str, was: Value, now: Value, v: dict[str, Value]) -> None:
        if key not in self.precursors:
            return
        if now and not was:
            self.opened_at[key] = self.now_s
            self._grow(v, CVD_NM * self._overlap(key))
        elif was and not now and key in self.opened_at:
            length_ms = (self.now_s - self.opened_at.pop(key)) * 1000.0
            self.closed_at[key] = self.now_s
            self._grow(v, self._half_reaction(key, length_ms))

    def _overlap(self, key: str) -> float:
        """How strongly another precursor is still in the gas phase, 0..1."""
        if any(k != key for k in self.opened_at):
            return 1.0
        gaps = [self.now_s - t for k, t in self.closed_at.items() if k != key]
        if not gaps:
            return 0.0
        return max(0.0, 1.0 - min(gaps) / PURGE_NEEDED_S)

    def _half_reaction(self, key: str, length_ms: float) -> float:
        """Growth of a pulse of ``key`` lasting ``length_ms``; moves the surface state."""
        dose = min(1.0, length_ms / SATURATING_PULSE_MS)
        covered = self.coverage if self.surface == key else 0.0
        after = min(1.0, covered + dose * (1.0 - covered))
        self.surface, self.coverage = key, after
        return GROWTH_PER_CYCLE_NM / 2 * (after - covered)

    def _grow(self, v: dict[str, Value], nm: float) -> None:
        if nm > 0:
            v[self.thickness] = float(v[self.thickness]) + nm
