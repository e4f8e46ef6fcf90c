"""The export dialog, offscreen, on a run recorded through a real engine and simulator:
the export runs on its own thread behind a progress dialog; Cancel leaves no file."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPushButton
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.store.export import Format, Layout, Progress
from ald_gui.ui.export_dialog import ExportDialog
from tests.recorded_run import RecordedRun, record_run, warm_arrow_pools


@pytest.fixture(scope="module", autouse=True)
def _arrow_pools(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_arrow_pools(tmp_path_factory.mktemp("arrow"))


@pytest.fixture
def recorded(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> RecordedRun:
    return record_run(sim_config, migrated_pg_dsn, tmp_path / "data", qtbot)


def _choose(dialog: ExportDialog, file_format: Format, layout: Layout) -> None:
    dialog.format.setCurrentIndex(dialog.format.findData(file_format))
    dialog.layout_choice.setCurrentIndex(dialog.layout_choice.findData(layout))


def test_the_dialog_exports_the_ticked_tags_of_a_run_off_the_gui_thread(
    recorded: RecordedRun, qtbot: QtBot, tmp_path: Path
) -> None:
    tags = [
        "pressure_gauge_1.pressure_read",
        "chamber_heater.temperature_read",
        "backline_heater.temperature_read",
    ]
    threads: set[int] = set()

    def dsn() -> str:  # called where the export runs
        threads.add(threading.get_ident())
        return recorded.reader_dsn

    dialog = ExportDialog(None, dsn, recorded.machine, run_id=recorded.run_id,
                          tags=tags, folder=tmp_path)  # fmt: skip
    qtbot.addWidget(dialog)
    _choose(dialog, Format.CSV, Layout.LONG)
    assert dialog.target.text() == str(tmp_path / f"run-{str(recorded.run_id)[:8]}.csv")
    for row in (0, 1):
        dialog.tags.item(row).setCheckState(Qt.CheckState.Checked)
    dialog.show()
    with qtbot.waitSignal(dialog.exported, timeout=20_000) as done:
        dialog.start_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.job is not None
    assert threads and threading.get_ident() not in threads  # not on the GUI thread
    table = pa_csv.read_csv(dialog.target.text())
    assert set(table.column("tag").to_pylist()) == set(tags[:2])
    assert done.args[0].rows == table.num_rows == 2 * recorded.batches
    assert dialog.job.wait()


def test_cancel_in_the_progress_dialog_stops_mid_export_and_leaves_no_file(
    recorded: RecordedRun, qtbot: QtBot, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    connected, held, resume = threading.Event(), threading.Event(), threading.Event()

    def dsn() -> str:  # on the job's thread: waits until the test is listening
        assert connected.wait(10)
        return recorded.reader_dsn

    seen: list[Progress] = []

    def hold(p: Progress) -> None:  # on the job's thread, after each window
        seen.append(p)
        if len(seen) == 3:
            held.set()
            assert resume.wait(10)

    dialog = ExportDialog(None, dsn, recorded.machine, run_id=recorded.run_id, folder=folder,
                          chunk_rows=200)  # fmt: skip
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start_button.click()
    assert dialog.job is not None and dialog.progress.isVisible()
    dialog.job.progressed.connect(hold, Qt.ConnectionType.DirectConnection)
    connected.set()
    qtbot.waitUntil(held.is_set, timeout=20_000)
    with qtbot.waitSignal(dialog.job.cancelled, timeout=20_000):
        cancel = dialog.progress.findChild(QPushButton)
        assert cancel is not None and cancel.text() == "Cancel"
        cancel.click()
        resume.set()
    assert 0 < seen[-1].rows_done < seen[-1].rows_estimate
    assert dialog.status.text() == "Export cancelled: no file was written."
    assert not dialog.progress.isVisible() and dialog.isVisible()
    assert list(folder.iterdir()) == []
    assert dialog.job.wait()

    # The same dialog exports once more, to Parquet, wide, every tag.
    _choose(dialog, Format.PARQUET, Layout.WIDE)
    with qtbot.waitSignal(dialog.exported, timeout=20_000):
        dialog.start_button.click()
    assert pq.read_table(dialog.target.text()).num_rows == recorded.batches


def test_a_failed_export_says_why_and_the_dialog_stays_open(
    recorded: RecordedRun, qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = ExportDialog(None, recorded.reader_dsn, recorded.machine, run_id=recorded.run_id)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.target.setText(str(tmp_path / "no such folder" / "run.parquet"))
    assert dialog.job is None
    dialog.start_button.click()
    assert dialog.job is not None
    qtbot.waitUntil(lambda: "cannot write in" in dialog.status.text(), timeout=20_000)
    assert f"cannot write in {tmp_path / 'no such folder'}" in dialog.status.text()
    assert dialog.isVisible() and dialog.start_button.isEnabled()
    assert dialog.job.wait()
