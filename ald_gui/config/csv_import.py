"""Convert a PLC tag export (CSV, the earlier control software's format) into our TOML.

The reference reactor's export has quirks that this conversion handles, so the same
command works for a user's own export:
- ``float`` means IEEE-754 over two registers, ``binary`` one coil or discrete input;
- rows marked ``input_register`` were read with function code 3 on that PLC
  (``input_as_holding``);
- flows and pressures arrive as a 0-10 V signal and are scaled linearly to the
  engineering range of the tag (components that carry ``scale_min``/``scale_max``
  calibration tags);
- rows without an address are unwired: kept, never polled;
- component names can be corrected (``renames``), e.g. the "Champer Heater" typo.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ald_gui.config.load import parse_config
from ald_gui.config.models import AppConfig
from ald_gui.domain.tags import ByteOrder, WordOrder

REQUIRED_COLUMNS = (
    "component_name",
    "name",
    "unit",
    "min_value",
    "max_value",
    "is_writable",
    "modbus_address",
    "modbus_type",
    "data_type",
)

_DATA_TYPES = {
    "float": "float32",
    "int32": "int32",
    "int16": "int16",
    "uint16": "uint16",
    "binary": "bool",
    "bool": "bool",
}
_KINDS = {
    "holding_register": "holding",
    "input_register": "input",
    "coil": "coil",
    "discrete_input": "discrete_input",
}
# Readings that the PLC delivers as an analog voltage, scaled by the component's
# calibration tags (scale_min/scale_max in engineering units).
_SCALED_NAMES = ("flow_read", "flow_set", "pressure_read")


class CsvImportError(ValueError):
    """A CSV row that cannot be converted; the message names the line and the column."""


@dataclass(frozen=True)
class ImportOptions:
    host: str = "127.0.0.1"
    port: int = 5020
    unit_id: int = 1
    word_order: WordOrder = WordOrder.LOW_FIRST
    byte_order: ByteOrder = ByteOrder.BIG
    input_as_holding: bool = True
    voltage_range: tuple[float, float] = (0.0, 10.0)
    renames: Mapping[str, str] = field(default_factory=dict)


def _bool(text: str, where: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "1", "yes"):
        return True
    if t in ("false", "0", "no", ""):
        return False
    raise CsvImportError(f"{where}: {text!r} is not true or false")


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CsvImportError(f"{where}: {text!r} is not a number") from None


def _tag_from_row(row: Mapping[str, str], line: int, opts: ImportOptions) -> dict[str, Any]:
    where = f"line {line}"
    component = row["component_name"].strip()
    component = opts.renames.get(component, component)
    name = row["name"].strip()
    unit = row["unit"].strip()
    address_text = row["modbus_address"].strip()
    dtype_text = row["data_type"].strip().lower()
    kind_text = row["modbus_type"].strip().lower()

    tag: dict[str, Any] = {"component": component, "name": name}
    if address_text:
        if dtype_text not in _DATA_TYPES:
            raise CsvImportError(f"{where}, data_type: unknown type {dtype_text!r}")
        if kind_text not in _KINDS:
            raise CsvImportError(f"{where}, modbus_type: unknown register kind {kind_text!r}")
        data_type = _DATA_TYPES[dtype_text]
        kind = _KINDS[kind_text]
        if kind == "input" and opts.input_as_holding:
            kind = "holding"
        tag["address"] = int(_number(address_text, f"{where}, modbus_address"))
    else:
        # Unwired: the export leaves type and kind empty; guess from the unit so the
        # tag is shown sensibly and can be wired later by adding an address.
        is_bit = unit == "boolean" or name.endswith("_cal")
        data_type = "bool" if is_bit else "float32"
        kind = "coil" if is_bit else "holding"

    tag["data_type"] = data_type
    tag["register_kind"] = kind
    if data_type == "bool":
        # Booleans carry meaningless ranges and units in the export (span_cal "0-200 sccm").
        tag["unit"] = ""
        tag["min"], tag["max"] = 0.0, 1.0
    else:
        tag["unit"] = unit
        tag["min"] = _number(row["min_value"], f"{where}, min_value")
        tag["max"] = _number(row["max_value"], f"{where}, max_value")
    tag["writable"] = _bool(row["is_writable"], f"{where}, is_writable")
    tag["plotted"] = _bool(row.get("show_in_graph", ""), f"{where}, show_in_graph")
    if row.get("operand", "").strip():
        tag["plc_name"] = row["operand"].strip()
    if row.get("description", "").strip():
        tag["description"] = row["description"].strip()
    return tag


def _add_scaling(tags: list[dict[str, Any]], opts: ImportOptions) -> None:
    calibrated = {t["component"] for t in tags if t["name"] == "scale_max_voltage"}
    low, high = opts.voltage_range
    for t in tags:
        if t["component"] in calibrated and t["name"] in _SCALED_NAMES:
            t["scaling"] = {
                "raw_min": low,
                "raw_max": high,
                "eng_min": t["min"],
                "eng_max": t["max"],
            }


def convert_rows(rows: Iterable[Mapping[str, str]], opts: ImportOptions) -> dict[str, Any]:
    """The configuration (as TOML-ready data) for the CSV rows; raises CsvImportError."""
    tags = []
    for line, row in enumerate(rows, start=2):
        missing = [c for c in REQUIRED_COLUMNS if c not in row or row[c] is None]
        if missing:
            raise CsvImportError(f"line {line}: missing column(s) {', '.join(missing)}")
        tags.append(_tag_from_row(row, line, opts))
    tags.sort(key=lambda t: (t["component"], t["name"]))
    _add_scaling(tags, opts)
    return {
        "schema_version": 1,
        "plc": {
            "host": opts.host,
            "port": opts.port,
            "unit_id": opts.unit_id,
            "word_order": opts.word_order.value,
            "byte_order": opts.byte_order.value,
        },
        "tags": tags,
    }


def import_csv(source: Path, opts: ImportOptions) -> tuple[dict[str, Any], AppConfig]:
    """Read and convert a CSV export; the result is validated like any config file."""
    with source.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CsvImportError(f"{source}: missing column(s) {', '.join(missing)}")
        data = convert_rows(reader, opts)
    return data, parse_config(data, source)
