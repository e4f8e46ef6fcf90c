"""A run's report from a run recorded through a real engine and simulator, with an alarm
raised and a write refused during it: HTML (self-contained) and PDF, from the command
line and from a worker thread."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from ald_gui.config.alarms import AlarmSettings
from ald_gui.config.models import AppConfig
from ald_gui.domain.alarms import AlarmKind, Applies, Priority
from ald_gui.domain.commands import WriteTag
from ald_gui.engine.engine import Engine
from ald_gui.ui.report import ReportJob, write_report
from tests.ald_process import ald, write_plant_config
from tests.recorded_run import RecordedRun, record_run

HOT_SET = "chamber_heater.temperature_set"


@pytest.fixture
def recorded(
    reference_config: AppConfig,
    sim_config: AppConfig,
    migrated_pg_dsn: str,
    tmp_path: Path,
    qtbot: QtBot,
) -> RecordedRun:
    # An alarm that stands during any run (its limit above the frozen reading), and the
    # reference reactor's rule that a hot chamber setpoint needs vacuum (the frozen
    # chamber is at atmosphere), so a write of one during the run is refused.
    cold = AlarmSettings(
        id="chamber.cold",
        kind=AlarmKind.LOW,
        priority=Priority.HIGH,
        tag="chamber_heater.temperature_read",
        limit=1e6,
        applies=Applies.RUN,
    )
    hot = tuple(i for i in reference_config.process.interlocks if i.tag == HOT_SET)
    assert hot
    process = sim_config.process.model_copy(update={"interlocks": hot})
    config = sim_config.model_copy(update={"alarms": (cold,), "process": process})

    def refuse(engine: Engine) -> None:
        engine.submit(WriteTag(HOT_SET, 350.0))

    return record_run(config, migrated_pg_dsn, tmp_path / "data", qtbot, cycles=40, during=refuse)


def _images(page: str) -> list[QImage]:
    found = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    return [QImage.fromData(base64.b64decode(b)) for b in found]


def test_the_report_names_the_run_its_recipe_alarms_and_refusals(
    recorded: RecordedRun, sim_config: AppConfig, tmp_path: Path, qtbot: QtBot
) -> None:
    target = tmp_path / "report.html"
    data = write_report(recorded.reader_dsn, str(recorded.run_id), target, sim_config.process)
    page = target.read_text(encoding="utf-8")
    assert str(recorded.run_id) in page
    assert "export cycles" in page and recorded.recipe.sha256 in page
    assert "repeat 40× (2 steps)" in page and "pulse Valve 1" in page
    assert "chamber.cold" in page and "1 raised." in page
    assert "1 refused write." in page and HOT_SET in page and "hot chamber needs vacuum" in page
    assert "0 gaps" in page
    assert [c.unit for c in data.curves] and {c.unit for c in data.curves} <= {"Pa", "°C"}
    # Self-contained: its plots are in the page, one per unit, and are real pictures.
    images = _images(page)
    assert len(images) == len({c.unit for c in data.curves}) and all(
        not i.isNull() and i.width() == 1200 for i in images
    )
    assert not re.search(r'(src|href)="(?!data:)', page)

    pdf = tmp_path / "report.pdf"
    job = ReportJob(recorded.reader_dsn, str(recorded.run_id)[:8], pdf)
    with qtbot.waitSignal(job.finished, timeout=30_000) as done:
        job.start()
    assert job.wait() and done.args == [pdf]
    body = pdf.read_bytes()
    assert body.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", body)) >= 1
    assert list(tmp_path.glob(".*partial")) == []


def test_ald_gui_report_writes_html_and_pdf_and_names_a_bad_run(
    recorded: RecordedRun, sim_config: AppConfig, tmp_path: Path
) -> None:
    config = write_plant_config(tmp_path, sim_config, recorded.reader_dsn)
    pdf = tmp_path / "run.pdf"
    done = ald("report", "--config", config, "--run", str(recorded.run_id), "-o", pdf)
    assert done.returncode == 0, done.stderr
    assert f"wrote {pdf}: run {recorded.run_id} (completed)" in done.stdout
    assert "1 alarms raised, 0 gaps, 1 refused writes" in done.stdout
    assert pdf.read_bytes().startswith(b"%PDF-")

    unknown = ald("report", "--config", config, "--run", "0123abcd", "-o", tmp_path / "x.html")
    assert unknown.returncode == 2 and "run '0123abcd'" in unknown.stderr
    wrong = ald(
        "report", "--config", config, "--run", str(recorded.run_id), "-o", tmp_path / "x.docx"
    )
    assert wrong.returncode == 2 and "ending in .html or .pdf" in wrong.stderr
    assert not list(tmp_path.glob("x.*"))
