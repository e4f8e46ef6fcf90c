"""Recipe steps and durations in the operator's words: "pulse Valve 1 (TMA) 20 ms".

Plain Python, no Qt: the editor's tree, the run panel and the trends' cycle marks
all say a step the same way.
"""

from __future__ import annotations

import re

from ald_gui.config.process import ProcessSettings
from ald_gui.domain.recipe import Loop, Pulse, Purge, SetTag, Step, Wait

__all__ = ["duration_text", "gas_of", "step_text"]

_LAST_PARENTHESIS = re.compile(r"\(([^()]*)\)\s*$")


def duration_text(seconds: float) -> str:
    """ "20 ms", "3 s", "1.5 s", "2 min 30 s", "1 h 05 min"."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    whole = int(seconds)  # whole seconds, as the dry run says them
    if whole < 3600:
        m, s = divmod(whole, 60)
        return f"{m} min {s:02d} s" if s else f"{m} min"
    h, m = divmod(whole // 60, 60)
    return f"{h} h {m:02d} min"


def _ms(ms: int | None) -> str:
    return duration_text((ms or 0) / 1000)


def gas_of(valve: str, process: ProcessSettings | None) -> str:
    """What flows through ``valve``, shortly: "TMA" for a line "precursor 1 (TMA)";
    "" for a valve the machine does not have or whose line is not named."""
    if process is None:
        return ""
    try:
        line = process.valve(valve).line
    except KeyError:
        return ""
    m = _LAST_PARENTHESIS.search(line)
    return m.group(1) if m else line


def _number(value: float) -> str:
    return f"{value:g}"


def step_text(
    step: Step, process: ProcessSettings | None = None, units: dict[str, str] | None = None
) -> str:
    """What ``step`` does, in one line. ``units`` (tag key to unit) adds units to set
    values and wait conditions."""
    units = units or {}
    action = step.action
    match action:
        case Pulse(valve=valve, ms=ms):
            gas = gas_of(valve, process)
            return f"pulse {valve}" + (f" ({gas})" if gas else "") + f" {_ms(ms)}"
        case Purge(ms=ms, flow_sccm=flow):
            return f"purge {_ms(ms)}" + (f" at {_number(flow)} sccm" if flow is not None else "")
        case Wait(ms=ms, until=until, timeout_ms=timeout):
            if until is None:
                return f"wait {_ms(ms)}"
            unit = units.get(until.tag, "")
            limit = f"{_number(until.value)} {unit}".rstrip()
            return f"wait until {until.tag} {until.op.value} {limit} (at most {_ms(timeout)})"
        case SetTag() as s:
            unit = units.get(s.tag, "")
            text = f"set {s.tag} to {_number(s.value)} {unit}".rstrip()
            if s.ramp_per_s is not None:
                text += f" at {_number(s.ramp_per_s)} {unit}/s".replace(" /s", "/s")
            if s.tolerance is not None:
                text += f", within ±{_number(s.tolerance)} in {_ms(s.timeout_ms)}"
            if s.hold_ms:
                text += f", hold {_ms(s.hold_ms)}"
            return text
        case Loop(count=count, steps=steps):
            return f"repeat {count}× ({len(steps)} step{'s' if len(steps) != 1 else ''})"
    raise AssertionError(f"unknown step kind {step.kind}")
