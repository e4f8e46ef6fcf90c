"""The fields of one recipe step, with their units and the machine's limits.

The form edits a DraftStep's values in place and says ``edited()`` after each change.
Its boxes accept any value the recipe model accepts, not only what the machine does:
a value beyond a tag's limits stays as typed (a loaded recipe is never clamped
silently), its limits are written beside it, and the recipe check names the problem
on the step.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from ald_gui.config.models import AppConfig
from ald_gui.domain.recipe import Comparison, StepKind
from ald_gui.domain.tags import DataType, Tag
from ald_gui.ui.recipe_draft import DraftStep
from ald_gui.ui.theme import named

__all__ = ["StepFields"]

_MAX_MS = 2_000_000_000  # about 23 days: any step; QSpinBox holds 32-bit integers
_BIG = 1e12


def _limits(tag: Tag | None) -> str:
    if tag is None:
        return ""
    unit = f" {tag.unit}" if tag.unit else ""
    return f"{tag.min:g}..{tag.max:g}{unit}"


class StepFields(QWidget):
    """Shows the fields of ``show(step)``; ``show(None)`` shows a hint instead."""

    edited = Signal()

    def __init__(self, config: AppConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._config = config
        self._tags = {t.key: t for t in config.tags}
        self._step: DraftStep | None = None
        self.form = QFormLayout(self)
        self.boxes: dict[str, QWidget] = {}  # by field name, for tests and focus
        self.show_step(None)

    # -- building --------------------------------------------------------------------

    def show_step(self, step: DraftStep | None) -> None:
        self._step = step
        self.boxes = {}
        while self.form.rowCount():
            self.form.removeRow(0)
        if step is None:
            self.form.addRow(QLabel("Choose a step to edit its fields."))
            return
        build: dict[StepKind, Callable[[DraftStep], None]] = {
            StepKind.PULSE: self._pulse,
            StepKind.PURGE: self._purge,
            StepKind.WAIT: self._wait,
            StepKind.SET: self._set,
            StepKind.LOOP: self._loop,
        }
        build[step.kind](step)

    def _pulse(self, step: DraftStep) -> None:
        process = self._config.process
        valves = [(v.name, f"{v.name} — {v.line or v.role}") for v in process.valves]
        self._choice(step, "valve", "Valve", valves)
        name = str(step.values.get("valve", ""))
        limit = process.rules.max_pulse_ms
        if any(v.name == name for v in process.valves):
            limit = process.valve(name).max_pulse_ms or limit
        self._ms(step, "ms", "Pulse length", hint=f"at most {limit} ms")

    def _purge(self, step: DraftStep) -> None:
        after = self._config.process.rules.min_purge_after_pulse_ms
        self._ms(step, "ms", "Purge length", hint=f"at least {after} ms after a pulse")
        flow = self._tags.get(self._config.process.purge_flow_tag)
        self._number(step, "flow_sccm", "Purge flow", flow, optional=True, minimum=0.0)

    def _wait(self, step: DraftStep) -> None:
        until = step.values.get("until")
        by_time = QComboBox()
        by_time.addItems(["a time", "a condition on a tag"])
        by_time.setCurrentIndex(0 if until is None else 1)
        by_time.currentIndexChanged.connect(lambda i: self._switch_wait(step, i == 1))
        self.form.addRow("Wait for", by_time)
        self.boxes["mode"] = by_time
        if not isinstance(until, dict):
            self._ms(step, "ms", "Wait")
            return
        polled = [
            (t.key, f"{t.key} ({t.unit})" if t.unit else t.key) for t in self._config.polled_tags
        ]
        self._choice(step, "tag", "Tag", polled, into=until)
        ops = QComboBox()
        for op in Comparison:
            ops.addItem(op.value, op.value)
        ops.setCurrentIndex(max(0, ops.findData(until.get("op", "<"))))
        ops.currentIndexChanged.connect(lambda _: self._put(until, "op", ops.currentData()))
        self.form.addRow("Holds when", ops)
        self.boxes["op"] = ops
        self._number(step, "value", "Value", self._tags.get(str(until.get("tag"))), into=until)
        self._ms(step, "timeout_ms", "Timeout", hint="the run fails after it")

    def _switch_wait(self, step: DraftStep, by_condition: bool) -> None:
        if by_condition:
            step.values = {"until": {"tag": "", "op": "<", "value": 0.0}, "timeout_ms": 60_000}
        else:
            step.values = {"ms": 1000}
        self._rebuild(step)
        self.edited.emit()

    def _set(self, step: DraftStep) -> None:
        writable = [(t.key, t.key) for t in self._config.tags if t.writable and t.polled]
        self._choice(step, "tag", "Tag", writable, rebuild=True)
        tag = self._tags.get(str(step.values.get("tag")))
        self._number(step, "value", "Value", tag)
        unit = f"{tag.unit}/s" if tag and tag.unit else "/s"
        self._number(step, "ramp_per_s", "Ramp", None, optional=True, unit=unit, minimum=1e-9)
        self._number(
            step,
            "tolerance",
            "Tolerance",
            None,
            optional=True,
            unit=tag.unit if tag else "",
            minimum=1e-9,
        )
        readings = [(t.key, t.key) for t in self._config.polled_tags]
        self._choice(step, "reading", "Reading", readings, optional=True)
        self._ms(step, "timeout_ms", "Timeout", optional=True, hint="to reach the tolerance")
        self._ms(step, "hold_ms", "Hold", minimum=0)

    def _loop(self, step: DraftStep) -> None:
        count = QSpinBox(minimum=1, maximum=1_000_000)
        count.setValue(int(step.values.get("count", 1)))  # type: ignore[call-overload]
        count.setSuffix(" cycles")
        count.valueChanged.connect(lambda v: self._put(step.values, "count", v))
        self.form.addRow("Repeat", count)
        self.boxes["count"] = count

    # -- boxes -------------------------------------------------------------------------

    def _row(self, label: str, box: QWidget, hint: str, optional: QCheckBox | None) -> None:
        row = QHBoxLayout()
        if optional is not None:
            row.addWidget(optional)
        row.addWidget(box, 1)
        if hint:
            row.addWidget(named(QLabel(hint), "fieldLimits"))
        self.form.addRow(label, row)

    def _optional(
        self, values: dict[str, object], name: str, box: QWidget, value: Callable[[], object]
    ) -> QCheckBox:
        use = QCheckBox()
        use.setChecked(name in values)
        box.setEnabled(name in values)

        def toggled(on: bool) -> None:
            box.setEnabled(on)
            if on:
                self._put(values, name, value())
            else:
                values.pop(name, None)
                self.edited.emit()

        use.toggled.connect(toggled)
        return use

    def _ms(
        self,
        step: DraftStep,
        name: str,
        label: str,
        *,
        hint: str = "",
        optional: bool = False,
        minimum: int = 1,
    ) -> None:
        values = step.values
        box = QSpinBox(minimum=minimum, maximum=_MAX_MS)
        box.setSuffix(" ms")
        box.setValue(int(values.get(name, 1000)))  # type: ignore[call-overload]
        box.valueChanged.connect(lambda v: self._put(values, name, v) if box.isEnabled() else None)
        use = self._optional(values, name, box, box.value) if optional else None
        self._row(label, box, hint, use)
        self.boxes[name] = box

    def _number(
        self,
        step: DraftStep,
        name: str,
        label: str,
        tag: Tag | None,
        *,
        into: dict[str, object] | None = None,
        optional: bool = False,
        unit: str | None = None,
        minimum: float = -_BIG,
    ) -> None:
        values = step.values if into is None else into
        box = QDoubleSpinBox(minimum=minimum, maximum=_BIG, decimals=3)
        if tag is not None and tag.data_type is not DataType.FLOAT32:
            box.setDecimals(0)
        suffix = unit if unit is not None else (tag.unit if tag else "")
        if suffix:
            box.setSuffix(f" {suffix}")
        box.setValue(float(values.get(name, 0.0)))  # type: ignore[arg-type]
        box.valueChanged.connect(lambda v: self._put(values, name, v) if box.isEnabled() else None)
        use = self._optional(values, name, box, box.value) if optional else None
        self._row(label, box, _limits(tag), use)
        self.boxes[name] = box

    def _choice(
        self,
        step: DraftStep,
        name: str,
        label: str,
        items: list[tuple[str, str]],
        *,
        into: dict[str, object] | None = None,
        optional: bool = False,
        rebuild: bool = False,
    ) -> None:
        values = step.values if into is None else into
        box = QComboBox()
        current = str(values.get(name, ""))
        if not current and not optional:
            box.addItem("— choose —", "")
        for key, text in items:
            box.addItem(text, key)
        if current and box.findData(current) < 0:
            # Kept as it is, so the check can say why: never replaced silently.
            box.addItem(f"{current} (not on this machine)", current)
        box.setCurrentIndex(max(0, box.findData(current)))

        def chosen(_: int) -> None:
            if not box.isEnabled():
                return
            self._put(values, name, box.currentData())
            if rebuild or name == "valve" or into is not None:
                self._rebuild(step)  # the limits and units follow the choice

        box.currentIndexChanged.connect(chosen)
        use = self._optional(values, name, box, box.currentData) if optional else None
        self._row(label, box, "", use)
        self.boxes[name] = box

    def _rebuild(self, step: DraftStep) -> None:
        # Later, not now: the box whose signal asks for it is among those replaced.
        QTimer.singleShot(0, self, lambda: self.show_step(step) if self._step is step else None)

    def _put(self, values: dict[str, object], name: str, value: object) -> None:
        values[name] = value
        self.edited.emit()
