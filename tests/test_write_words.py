"""A write the PLC never got says so, and promises no retry that will not happen."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.events import WriteFailed
from ald_gui.engine.engine import Engine
from tests.acting import TESTER
from tests.fixtures.plc import free_port, quick
from tests.recording import Recording


def test_a_write_while_the_plc_is_unreachable_is_not_sent_and_says_what_to_do(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    nowhere = sim_config.plc.model_copy(update={"port": free_port()})
    config = quick(sim_config.model_copy(update={"plc": nowhere}), interval_s=0.05)
    engine = Engine(config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    engine.act_as(TESTER)
    recording = Recording.of(engine)
    engine.open()
    try:
        request = engine.write_tag("chamber_heater.temperature_set", 150.0)

        def answer() -> list[WriteFailed]:
            return [e for e in recording.events if getattr(e, "request_id", None) == request]

        qtbot.waitUntil(lambda: bool(answer()), timeout=5000)
    finally:
        engine.shutdown()
    (failed,) = answer()
    assert isinstance(failed, WriteFailed)
    assert failed.reason.startswith("not sent: PLC ")
    assert failed.reason.endswith("write it again once the PLC is back")
    assert "next attempt" not in failed.reason
