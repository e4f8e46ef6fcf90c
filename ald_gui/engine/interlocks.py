"""Interlocks: the engine's rules that refuse a write before anything is sent.

The rule here is the one every ALD tool has: the valves of an exclusive group
(``ProcessSettings.exclusive_groups``; by default every precursor valve) never open
together, since two precursors meeting in the gas phase deposit in the lines. A write
that would open one of them while another of its group is open is refused, naming the
rule, whoever asks: the window, the HTTP port, a recipe's ``set`` step. Setting a
valve's PLC pulse trigger opens that valve, so it is checked as the valve's opening.
A write that closes a valve is never refused.

Whether a valve is open is what the poll thread last learnt about it, whichever came
last: the latest sample or a write it confirmed, and what ``in_flight`` says (the
valves the executor holds open in a pulse, which a sample may not show yet). A valve
of the group never seen yet counts as open: before the first sample nothing is known,
and the safe answer is no. No Qt; called on the poll thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from ald_gui.config.process import ProcessSettings
from ald_gui.plc.errors import WriteRefused

RULE_EXCLUSIVE_VALVES = "exclusive_valves"


class InterlockRefused(WriteRefused):
    """A write an interlock refused; ``str()`` names the rule and the reason."""

    def __init__(self, rule: str, reason: str) -> None:
        self.rule = rule
        super().__init__(f"refused by rule {rule}: {reason}")


def _no_pulse() -> Collection[str]:
    return ()


class Interlocks:
    """The interlocks of ``process``. ``in_flight`` returns the names of the valves
    the executor holds open now (a pulse under way)."""

    def __init__(
        self, process: ProcessSettings, in_flight: Callable[[], Collection[str]] = _no_pulse
    ) -> None:
        self._groups = process.exclusive_groups
        grouped = {name for group in self._groups for name in group}
        # tag key -> valve name, for the valves some rule is about
        self._valve_of = {v.tag: v.name for v in process.valves if v.name in grouped}
        # tag key -> the valve a write of 1 opens: its coil, or its PLC pulse trigger
        self._opens = self._valve_of | {
            v.pulse_timer.trigger_tag: v.name
            for v in process.valves
            if v.name in grouped and v.pulse_timer is not None
        }
        self._open: dict[str, bool] = {}  # valve name -> open, as last learnt
        self._in_flight = in_flight

    def guards(self, key: str) -> bool:
        """Whether some rule is about writes to tag ``key``."""
        return key in self._valve_of

    def follow(self, in_flight: Callable[[], Collection[str]]) -> None:
        """Take the executor's valves held open into account from now on."""
        self._in_flight = in_flight

    def sampled(self, values: Mapping[str, float]) -> None:
        """What a successful poll read (engineering values by tag key)."""
        for key, name in self._valve_of.items():
            if key in values:
                self._open[name] = bool(values[key])

    def written(self, key: str, value: float | int | bool) -> None:
        """A write the PLC confirmed (its read-back, or its echo)."""
        name = self._valve_of.get(key)
        if name is not None:
            self._open[name] = bool(value)

    def check(self, key: str, value: float | int | bool) -> None:
        """Raise InterlockRefused if writing ``value`` to tag ``key`` breaks a rule."""
        name = self._opens.get(key)
        if name is None or not value:
            return
        in_flight = set(self._in_flight())
        for group in self._groups:
            if name not in group:
                continue
            for other in group:
                if other == name:
                    continue
                known = self._open.get(other)
                if other in in_flight or known is not False:
                    unread = known is None and other not in in_flight
                    state = "has not been read yet" if unread else "is open"
                    pair = sorted((name, other), key=group.index)  # in the group's order
                    raise InterlockRefused(
                        RULE_EXCLUSIVE_VALVES,
                        f"{other} {state}; {pair[0]} and {pair[1]} never open together",
                    )
