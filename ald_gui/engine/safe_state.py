"""The machine's safe state: what an abort, a failed recipe and a restart fall into.

Every pulse timer's trigger is cleared and every precursor valve closed, then the
configured ``process.safe_state`` writes are made, in that order. Purge flow, pump and
heaters are left as they are unless ``safe_state`` says otherwise. Each write goes
through ``PlcClient.write``, which checks the value and reads it back, so "verified"
means the PLC was seen to hold it. No Qt: the poll thread calls it, and the watchdog's
restart path too.
"""

from __future__ import annotations

from dataclasses import dataclass

from ald_gui.config.models import AppConfig
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import PlcError, PlcExceptionResponse, WriteNotConfirmed, WriteRefused

# The PLC answered (refused or disagreed): the link is up, the other writes are tried.
# Any other PlcError means the link is down, and trying on would only add a timeout
# per write while the PLC's own watchdog is what holds the valves.
_PLC_ANSWERED = (WriteRefused, WriteNotConfirmed, PlcExceptionResponse)


@dataclass(frozen=True, slots=True)
class SafeWrite:
    """One write of the safe state and whether the PLC was seen to hold it."""

    tag: str
    value: float
    why: str  # "close Valve 1", "clear Valve 1's pulse trigger", "safe_state[0]"
    verified: bool
    problem: str = ""  # why not verified


@dataclass(frozen=True, slots=True)
class SafeStateResult:
    writes: tuple[SafeWrite, ...]
    plc_unreachable: bool = False  # writes after the link failed were not tried

    @property
    def verified(self) -> bool:
        """Every write was read back as written."""
        return all(w.verified for w in self.writes)

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(f"{w.why} ({w.tag}): {w.problem}" for w in self.writes if not w.verified)

    def describe(self) -> str:
        """One line for the event log and the run's end reason."""
        if self.verified:
            return f"safe state verified by read-back ({len(self.writes)} writes)"
        text = "safe state NOT verified: " + "; ".join(self.problems)
        if self.plc_unreachable:
            text += "; the PLC is unreachable: its watchdog holds the valves"
        return text


def safe_state_writes(config: AppConfig) -> list[tuple[str, float, str]]:
    """The writes of the safe state, in order: (tag key, value, why)."""
    process = config.process
    writes: list[tuple[str, float, str]] = []
    for valve in process.valves:
        if valve.pulse_timer is not None:
            writes.append((valve.pulse_timer.trigger_tag, 0, f"clear {valve.name}'s pulse trigger"))
    for valve in process.precursor_valves:
        writes.append((valve.tag, 0, f"close {valve.name}"))
    for i, w in enumerate(process.safe_state):
        writes.append((w.tag, w.value, f"process.safe_state[{i}]"))
    return writes


def apply_safe_state(client: PlcClient, config: AppConfig) -> SafeStateResult:
    """Make every write of the safe state and say which were verified by read-back.

    Never raises for a PLC failure: a refused or unconfirmed write is reported and the
    others are still made; once the link fails, the remaining writes are reported as
    not tried (the PLC's watchdog owns the valves then). Blocks for one write and one
    read per entry, or at most one request timeout when the PLC stops answering.
    """
    done: list[SafeWrite] = []
    unreachable = ""
    for key, value, why in safe_state_writes(config):
        if unreachable:
            done.append(SafeWrite(key, value, why, False, f"not tried: {unreachable}"))
            continue
        try:
            client.write(config.tag(key), value)
        except _PLC_ANSWERED as exc:
            done.append(SafeWrite(key, value, why, False, str(exc)))
        except PlcError as exc:
            unreachable = str(exc)
            done.append(SafeWrite(key, value, why, False, unreachable))
        else:
            done.append(SafeWrite(key, value, why, True))
    return SafeStateResult(tuple(done), plc_unreachable=bool(unreachable))
