"""How each kind of leaf step runs: begun, then ended by a deadline or by a sample.

A StepRun never waits. ``begin`` does the step's first writes and sets ``deadline``
(``time.monotonic`` seconds, or None while only a sample can end it); the poll thread
calls ``on_deadline`` once the clock reaches it and ``on_sample`` with every new poll's
values. Each returns True when the step is over. A step that cannot go on raises
StepFailed (the recipe fails into the safe state); a PLC failure raises its PlcError
(the executor decides: the link lost suspends, a refusal fails). ``stop`` ends the step
at once (abort, failure): a pulse closes its valve.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from ald_gui.config.models import AppConfig
from ald_gui.domain.recipe import Pulse, Purge, SetTag, Step, Wait
from ald_gui.domain.tags import Tag
from ald_gui.engine.interlocks import Interlocks
from ald_gui.engine.pulse import OpenPulse, PulseDone, Pulses
from ald_gui.plc.client import PlcClient

Values = Mapping[str, float]


class StepFailed(Exception):
    """The step cannot reach its end: ``str()`` says what happened, for the operator."""


def write(client: PlcClient, interlocks: Interlocks, tag: Tag, value: float | bool) -> None:
    """Write ``value`` to ``tag`` as any write is made: the interlocks first (an
    InterlockRefused names the rule), then checked and read back."""
    interlocks.check(tag.key, value)
    interlocks.written(tag.key, client.write(tag, value))


class StepRun(ABC):
    """The base: a step ended by its deadline alone."""

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.requested_ms: float | None = None
        self.measured_ms: float | None = None
        self.detail = ""

    @abstractmethod
    def begin(self, client: PlcClient, values: Values, now: float) -> bool: ...

    def on_deadline(self, client: PlcClient, now: float) -> bool:
        return True

    def on_sample(self, client: PlcClient, values: Values, now: float) -> bool:
        return False

    @property
    def valves_open(self) -> tuple[str, ...]:
        """The valves the step holds open now."""
        return ()

    def stop(self, client: PlcClient) -> None:  # noqa: B027 (most steps leave nothing open)
        """End the step now; only a pulse has something to undo (its open valve)."""


class PulseRun(StepRun):
    def __init__(
        self, pulse: Pulse, config: AppConfig, pulses: Pulses, interlocks: Interlocks
    ) -> None:
        super().__init__()
        try:
            self._valve = config.process.valve(pulse.valve)
        except KeyError as exc:
            raise StepFailed(str(exc.args[0])) from None
        self._interlocks = interlocks
        self._ms = pulse.ms
        self._driver = pulses.driver(self._valve)
        self._open: OpenPulse | None = None
        self.requested_ms = pulse.ms
        self.detail = f"{self._valve.name} ({self._valve.tag})"

    @property
    def valves_open(self) -> tuple[str, ...]:
        return (self._valve.name,) if self._open is not None else ()

    def begin(self, client: PlcClient, values: Values, now: float) -> bool:
        self._interlocks.check(self._valve.tag, True)
        self._open = self._driver.open(client, self._valve, self._ms)
        self.deadline = self._open.close_at
        return False

    def on_deadline(self, client: PlcClient, now: float) -> bool:
        assert self._open is not None
        result = self._driver.finish(client, self._open)
        if isinstance(result, OpenPulse):
            self._open, self.deadline = result, result.close_at
            return False
        self._done(result)
        return True

    def stop(self, client: PlcClient) -> None:
        if self._open is not None:
            self._done(self._driver.close_now(client, self._open))

    def _done(self, result: PulseDone) -> None:
        self._open = None
        self._interlocks.written(self._valve.tag, False)  # confirmed closed
        self.measured_ms = result.measured_ms
        self.detail = result.detail


class PurgeRun(StepRun):
    """Every precursor valve closed (any the last sample shows open is closed and read
    back), the purge flow written if asked for, then the purge's length."""

    def __init__(self, purge: Purge, config: AppConfig, interlocks: Interlocks) -> None:
        super().__init__()
        self._purge = purge
        self._config = config
        self._interlocks = interlocks
        self.requested_ms = purge.ms

    def begin(self, client: PlcClient, values: Values, now: float) -> bool:
        process = self._config.process
        notes = []
        for valve in process.precursor_valves:
            if values.get(valve.tag) != 0.0:
                write(client, self._interlocks, self._config.tag(valve.tag), False)
                notes.append(f"closed {valve.name}")
        flow = self._purge.flow_sccm
        if flow is not None:
            if not process.purge_flow_tag:
                raise StepFailed("flow_sccm is given but the machine has no process.purge_flow_tag")
            write(client, self._interlocks, self._config.tag(process.purge_flow_tag), flow)
            notes.append(f"{process.purge_flow_tag} = {flow:g}")
        self.detail = ", ".join(notes)
        self.deadline = now + self._purge.ms / 1000
        return False


class WaitRun(StepRun):
    def __init__(self, wait: Wait) -> None:
        super().__init__()
        self._wait = wait
        self._last: float | None = None
        until = wait.until
        self.detail = f"until {until.tag} {until.op} {until.value:g}" if until else ""

    def begin(self, client: PlcClient, values: Values, now: float) -> bool:
        ms = self._wait.ms if self._wait.ms is not None else self._wait.timeout_ms
        assert ms is not None  # the model requires one of them
        self.deadline = now + ms / 1000
        return False

    def on_sample(self, client: PlcClient, values: Values, now: float) -> bool:
        until = self._wait.until
        if until is None:
            return False
        self._last = values.get(until.tag)
        return self._last is not None and until.op.holds(self._last, until.value)

    def on_deadline(self, client: PlcClient, now: float) -> bool:
        if self._wait.until is None:
            return True
        raise StepFailed(
            f"wait {self.detail}: not met within {self._wait.timeout_ms} ms "
            f"({_last_reading(self._wait.until.tag, self._last)})"
        )


class SetRun(StepRun):
    """Write the setpoint (ramping from the present value at the poll rate when a ramp
    is given), then wait for the reading to come within tolerance, then hold."""

    def __init__(self, set_: SetTag, config: AppConfig, interlocks: Interlocks) -> None:
        super().__init__()
        self._interlocks = interlocks
        self._set = set_
        self._tag = config.tag(set_.tag)
        self._reading = set_.reading or set_.tag
        self._ramp: tuple[float, float, float] | None = None  # from value, at, until
        self._settling = False
        self._last: float | None = None
        self.detail = f"{set_.tag} = {set_.value:g}"

    def begin(self, client: PlcClient, values: Values, now: float) -> bool:
        rate = self._set.ramp_per_s
        if rate is not None:
            present = values.get(self._set.tag)
            start = float(client.read_tag(self._tag)) if present is None else present
            length = abs(self._set.value - start) / rate
            if length > 0:
                self._ramp = (start, now, now + length)
                self.deadline = now + length
                return False
        write(client, self._interlocks, self._tag, self._set.value)
        return self._target_written(now)

    def on_sample(self, client: PlcClient, values: Values, now: float) -> bool:
        if self._ramp is not None:
            start, since, until = self._ramp
            if now < until:
                step = (self._set.value - start) * (now - since) / (until - since)
                write(client, self._interlocks, self._tag, start + step)
            return False
        if not self._settling:
            return False
        self._last = values.get(self._reading)
        assert self._set.tolerance is not None
        if self._last is None or abs(self._last - self._set.value) > self._set.tolerance:
            return False
        self._settling = False
        return self._hold(now)

    def on_deadline(self, client: PlcClient, now: float) -> bool:
        if self._ramp is not None:
            self._ramp = None
            write(client, self._interlocks, self._tag, self._set.value)
            return self._target_written(now)
        if self._settling:
            raise StepFailed(
                f"{self._reading} did not come within {self._set.tolerance:g} of "
                f"{self._set.value:g} in {self._set.timeout_ms} ms "
                f"({_last_reading(self._reading, self._last)})"
            )
        return True  # the hold is over

    def _target_written(self, now: float) -> bool:
        if self._set.tolerance is not None:
            assert self._set.timeout_ms is not None  # the model requires it
            self._settling = True
            self.deadline = now + self._set.timeout_ms / 1000
            return False
        return self._hold(now)

    def _hold(self, now: float) -> bool:
        if self._set.hold_ms == 0:
            return True
        self.deadline = now + self._set.hold_ms / 1000
        return False


def _last_reading(tag: str, value: float | None) -> str:
    return f"last reading {value:g}" if value is not None else f"no reading of {tag}"


def step_run(step: Step, config: AppConfig, pulses: Pulses, interlocks: Interlocks) -> StepRun:
    """The run of leaf ``step``; raises StepFailed for a step the machine cannot do."""
    action = step.action
    match action:
        case Pulse():
            return PulseRun(action, config, pulses, interlocks)
        case Purge():
            return PurgeRun(action, config, interlocks)
        case Wait():
            return WaitRun(action)
        case SetTag():
            try:
                return SetRun(action, config, interlocks)
            except KeyError as exc:
                raise StepFailed(str(exc.args[0])) from None
    raise StepFailed(f"a {step.kind} step is no leaf step")  # loops live in the cursor
