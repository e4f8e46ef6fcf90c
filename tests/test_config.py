"""Configuration: the bundled default, and errors that name file, key path and reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ald_gui.config.csv_import import CsvImportError, ImportOptions, convert_rows
from ald_gui.config.load import ConfigError, load_config, parse_config
from ald_gui.domain.tags import DataType, RegisterKind, WordOrder

GOOD_TAG = {
    "component": "Chamber Heater",
    "name": "temperature_read",
    "unit": "°C",
    "data_type": "float32",
    "register_kind": "holding",
    "address": 2018,
    "min": 0,
    "max": 1000,
}


def _tag(**changes: object) -> dict[str, object]:
    return {**GOOD_TAG, **changes}


def _problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "plant.toml")
    assert info.value.path == "plant.toml"
    return info.value.problems


def test_default_config_is_the_reference_reactor() -> None:
    config = load_config()
    # The real PLC's 137 tags (110 wired), plus additions that a real PLC has only if
    # it is programmed to: the watchdog's 2, and the simulator's 9 in the block after
    # "Valve 6" (the PLC pulse timers of Valves 1 and 2, 4 tags each, and the film
    # thickness).
    assert len(config.tags) == 137 + 2 + 9
    assert len(config.polled_tags) == 110 + 2 + 9
    assert config.plc.word_order is WordOrder.LOW_FIRST
    keys = {t.key for t in config.tags}
    # The typo of the export is corrected, and nothing is left under the old name.
    assert "chamber_heater.temperature_read" in keys
    assert not any(k.startswith("champer") for k in keys)
    # Everything is read with FC3 (holding) or as bits, as on the real PLC.
    assert {t.register_kind for t in config.polled_tags} == {
        RegisterKind.HOLDING,
        RegisterKind.COIL,
        RegisterKind.DISCRETE_INPUT,
    }
    flow = config.tag("mfc_1.flow_read")
    assert flow.scaling is not None and flow.scaling.to_engineering(5.0) == pytest.approx(100.0)
    unwired = config.tag("precursor_5_heater.temperature_read")
    assert not unwired.polled


def test_unknown_key_is_named_with_its_path() -> None:
    problems = _problems({"plc": {"hots": "10.0.0.5"}})
    assert problems == ["plc.hots: unknown key"]


def test_unknown_tag_key_names_the_tag() -> None:
    problems = _problems({"tags": [_tag(adress=3)]})
    assert problems == ["tags[0].adress (Chamber Heater / temperature_read): unknown key"]


def test_min_above_max() -> None:
    (problem,) = _problems({"tags": [_tag(min=500, max=100)]})
    assert problem.startswith("tags[0] (Chamber Heater / temperature_read)")
    assert "min (500) is above max (100)" in problem


def test_two_tags_on_the_same_registers() -> None:
    (problem,) = _problems({"tags": [_tag(), _tag(name="other", address=2019)]})
    assert "both use holding register 2019" in problem
    assert "chamber_heater.temperature_read" in problem


def test_same_address_in_different_tables_is_fine() -> None:
    config = parse_config({"tags": [_tag(), _tag(name="other", register_kind="input")]})
    assert len(config.polled_tags) == 2


def test_data_type_that_does_not_fit_its_register_kind() -> None:
    (problem,) = _problems({"tags": [_tag(register_kind="coil")]})
    assert "float32 does not fit register kind coil" in problem
    (problem,) = _problems({"tags": [_tag(data_type="bool")]})
    assert "bool does not fit register kind holding" in problem


def test_bad_value_names_key_and_reason() -> None:
    (problem,) = _problems({"plc": {"port": 70000}})
    assert problem.startswith("plc.port: ")
    assert "65535" in problem


def test_unwired_tag_is_kept_but_not_polled() -> None:
    config = parse_config({"tags": [_tag(address=None)]})
    assert config.tags[0].polled is False
    assert config.polled_tags == ()


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[plc\nhost = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_cli_exits_2_and_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "plant.toml"
    bad.write_text('[plc]\nhost = "10.0.0.5"\nprot = 502\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "ald_gui", "plc", "read", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert str(bad) in done.stderr
    assert "plc.prot: unknown key" in done.stderr
    assert "Traceback" not in done.stderr


# -- CSV import -------------------------------------------------------------------

HEADER = (
    "component_name,name,unit,min_value,max_value,is_writable,modbus_address,"
    "modbus_type,data_type,show_in_graph,operand,description"
)
# One row of each quirk of the reference export.
QUIRKS_CSV = f"""{HEADER}
Champer Heater,temperature_read,°C,0,1000,false,2018,input_register,float,true,R_TC1,Temp
Champer Heater,power_on,boolean,0,1,true,0,coil,binary,false,W_PID1,Power
MFC 1,flow_read,sccm,0,200,false,2082,input_register,float,true,R_MFC1,Flow
MFC 1,scale_max_voltage,V,0,10,true,2098,holding_register,float,false,W_MFCMaxV1,
MFC 1,span_cal,sccm,0,200,true,21,coil,binary,false,W_MFCSpan1,
MFC 1,power_on,boolean,0,1,true,,,,false,,Not wired
Nitrogen Generator,purity_read,%,0,100,false,35,discrete_input,binary,false,R_N2Ready,
Heater 3,pid_output,%,0,100,false,2042,input_register,int32,false,R_PIDVal3,
"""


def _rows(text: str) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


def test_import_handles_the_quirks_of_the_reference_export() -> None:
    opts = ImportOptions(renames={"Champer Heater": "Chamber Heater"})
    config = parse_config(convert_rows(_rows(QUIRKS_CSV), opts))
    temp = config.tag("chamber_heater.temperature_read")
    assert temp.register_kind is RegisterKind.HOLDING  # input_register read with FC3
    assert temp.data_type is DataType.FLOAT32 and temp.plotted and temp.plc_name == "R_TC1"
    flow = config.tag("mfc_1.flow_read")
    assert flow.scaling is not None
    assert (flow.scaling.raw_min, flow.scaling.raw_max) == (0.0, 10.0)
    assert (flow.scaling.eng_min, flow.scaling.eng_max) == (0.0, 200.0)
    span = config.tag("mfc_1.span_cal")
    assert span.data_type is DataType.BOOL and (span.min, span.max) == (0.0, 1.0)
    assert not config.tag("mfc_1.power_on").polled
    assert config.tag("nitrogen_generator.purity_read").register_kind is RegisterKind.DISCRETE_INPUT
    assert config.tag("heater_3.pid_output").data_type is DataType.INT32
    assert config.plc.word_order is WordOrder.LOW_FIRST


def test_import_keeps_input_registers_when_asked() -> None:
    opts = ImportOptions(input_as_holding=False)
    config = parse_config(convert_rows(_rows(QUIRKS_CSV), opts))
    assert config.tag("champer_heater.temperature_read").register_kind is RegisterKind.INPUT


def test_import_names_the_bad_line_and_column() -> None:
    bad = QUIRKS_CSV.replace("2082,input_register,float", "2082,input_register,double")
    with pytest.raises(CsvImportError, match=r"line 4, data_type: unknown type 'double'"):
        convert_rows(_rows(bad), ImportOptions())


def test_import_command_writes_a_loadable_config(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text(QUIRKS_CSV, encoding="utf-8")
    out = tmp_path / "plant.toml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ald_gui",
            "config",
            "import-csv",
            str(source),
            "-o",
            str(out),
            "--rename",
            "Champer Heater=Chamber Heater",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    config = load_config(out)
    assert len(config.tags) == 8
    assert config.tag("chamber_heater.power_on").writable


def test_reference_watchdog_uses_the_added_tags_at_unused_addresses() -> None:
    config = load_config()
    watchdog = config.process.watchdog
    assert watchdog is not None
    heartbeat = config.tag(watchdog.heartbeat_tag)
    tripped = config.tag(watchdog.tripped_tag)
    assert heartbeat.writable and heartbeat.register_kind is RegisterKind.HOLDING
    assert not tripped.writable and tripped.register_kind is RegisterKind.DISCRETE_INPUT
    # Additions carry no name of the real PLC's program, and say what they are.
    for tag in (heartbeat, tripped):
        assert tag.plc_name == "" and tag.description.startswith("Addition:")
    assert watchdog.period_ms * 2 <= watchdog.timeout_ms
