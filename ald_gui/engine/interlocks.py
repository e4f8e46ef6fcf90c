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
and the safe answer is no.

The permissives (``ProcessSettings.interlocks``) permit a guarded write only while
each of their conditions holds on the latest sample (or a write confirmed since). A
value not read yet, or not readable now (``lost``: the PLC does not answer), fails its
condition: the safe side. A refusal names the rule and every value that failed it, and
is reported once to whoever ``report`` names (the poll thread journals it). No Qt;
called on the poll thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from ald_gui.config.process import Permissive, ProcessSettings, Requirement
from ald_gui.plc.errors import WriteRefused

RULE_EXCLUSIVE_VALVES = "exclusive_valves"


class InterlockRefused(WriteRefused):
    """A write an interlock refused; ``str()`` names the rule and the reason."""

    def __init__(self, rule: str, reason: str, *, permissive: bool = False) -> None:
        self.rule = rule
        self.reason = reason
        what = f"interlock {rule!r}" if permissive else f"rule {rule}"
        super().__init__(f"refused by {what}: {reason}")


def _no_pulse() -> Collection[str]:
    return ()


def _ignore(refusal: InterlockRefused, key: str, value: float) -> None:
    return None


def _number(value: float, unit: str) -> str:
    return f"{value:g} {unit}".rstrip()


def _failed(
    need: Requirement, values: Mapping[str, float] | None, lost: str, unit: str
) -> str | None:
    """Why ``need`` does not hold on ``values`` (None: it holds)."""
    if values is None or need.tag not in values:
        why = f"cannot be read ({lost})" if lost else "has not been read yet"
        return f"{need.tag} {why}"
    value = values[need.tag]
    if need.on is not None:
        if bool(value) == need.on:
            return None
        state, wanted = ("on", "off") if value else ("off", "on")
        return f"{need.tag} is {state} (needs {wanted})"
    if need.below is not None and value < need.below:
        return None
    if need.above is not None and value > need.above:
        return None
    limit = f"< {_number(need.below, unit)}" if need.below is not None else (
        f"> {_number(need.above or 0.0, unit)}")  # fmt: skip
    return f"{need.tag} is {_number(value, unit)} (needs {limit})"


class Interlocks:
    """The interlocks of ``process``. ``in_flight`` returns the names of the valves
    the executor holds open now (a pulse under way)."""

    def __init__(
        self,
        process: ProcessSettings,
        in_flight: Callable[[], Collection[str]] = _no_pulse,
        *,
        units: Mapping[str, str] | None = None,
    ) -> None:
        self._groups = process.exclusive_groups
        self._units = dict(units or {})
        # tag key -> the permissives a non-zero write of it must pass
        self._permits: dict[str, list[Permissive]] = {}
        for p in process.interlocks:
            for key in _guarded_keys(p, process):
                self._permits.setdefault(key, []).append(p)
        self._values: dict[str, float] | None = None  # the latest sample; None: lost
        self._lost = ""
        self._report: Callable[[InterlockRefused, str, float], None] = _ignore
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
        return key in self._valve_of or key in self._opens or key in self._permits

    def report(self, refused: Callable[[InterlockRefused, str, float], None]) -> None:
        """Call ``refused(refusal, key, value)`` once for every write refused from now."""
        self._report = refused

    def lost(self, reason: str) -> None:
        """A poll failed: no value is known until the next sample."""
        self._values, self._lost = None, reason

    def follow(self, in_flight: Callable[[], Collection[str]]) -> None:
        """Take the executor's valves held open into account from now on."""
        self._in_flight = in_flight

    def sampled(self, values: Mapping[str, float]) -> None:
        """What a successful poll read (engineering values by tag key)."""
        self._values, self._lost = dict(values), ""
        for key, name in self._valve_of.items():
            if key in values:
                self._open[name] = bool(values[key])

    def written(self, key: str, value: float | int | bool) -> None:
        """A write the PLC confirmed (its read-back, or its echo)."""
        if self._values is not None:
            self._values[key] = float(value)
        name = self._valve_of.get(key)
        if name is not None:
            self._open[name] = bool(value)

    def check(self, key: str, value: float | int | bool) -> None:
        """Raise InterlockRefused if writing ``value`` to tag ``key`` breaks a rule,
        after reporting it."""
        try:
            self._check_exclusive(key, value)
            self._check_permissives(key, value)
        except InterlockRefused as refusal:
            self._report(refusal, key, float(value))
            raise

    def _check_permissives(self, key: str, value: float | int | bool) -> None:
        if not value:
            return
        for p in self._permits.get(key, ()):
            if p.above is not None and not float(value) > p.above:
                continue
            failed = [
                why
                for need in p.require
                if (why := _failed(need, self._values, self._lost, self._units.get(need.tag, "")))
            ]
            if failed:
                raise InterlockRefused(p.name, "; ".join(failed), permissive=True)

    def _check_exclusive(self, key: str, value: float | int | bool) -> None:
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


def _guarded_keys(p: Permissive, process: ProcessSettings) -> list[str]:
    """The tag keys whose writes ``p`` guards: its tag, or the coils (and PLC pulse
    triggers) of its valve or of every valve of its role."""
    if p.tag:
        return [p.tag]
    valves = [v for v in process.valves if v.name == p.valve or v.role is p.role]
    keys = [v.tag for v in valves]
    keys += [v.pulse_timer.trigger_tag for v in valves if v.pulse_timer is not None]
    return keys
