"""The default arrangement at 1600 x 1000: the home screen (Overview and Trends) is the
largest part of the window, the reactor's picture and five trend plots big enough to read,
nothing clipped; Reset layout comes back to it and an older saved layout falls back to it
(real engine and simulator configuration, real widgets offscreen)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Role
from ald_gui.engine.engine import Engine
from ald_gui.ui.main_window import MainWindow
from ald_gui.ui.trends_curves import STATE_GROUP

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea


def console(config: AppConfig, tmp_path: Path, qtbot: QtBot) -> MainWindow:
    engine = Engine(config, data_dir=tmp_path / "d")
    engine.act_as(Actor("alice", Role.OPERATOR))
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, settings=settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def area(window: MainWindow) -> tuple[int, int, float]:
    home = window.centralWidget()
    return home.width(), home.height(), home.width() * home.height() / (1600 * 1000)


def assert_default(window: MainWindow, qtbot: QtBot) -> None:
    """The home screen the largest region, the docks in the column under the process
    column at the left, nothing in it narrower than it needs."""
    assert window.size().toTuple() == (1600, 1000)
    width, height, share = area(window)
    print(f"home screen {width} x {height} px, {share:.0%} of the window")  # pytest -s
    assert width >= 900 and share >= 0.5, (width, height)
    params, *others = window.docks[1:]
    for dock in window.docks[1:]:
        assert window.dockWidgetArea(dock) == LEFT, dock.windowTitle()
    assert set(window.tabifiedDockWidgets(params)) == set(others)
    assert params.width() == window.process.width()
    assert params.y() > window.process.y()
    assert window.dockWidgetArea(window.process) == LEFT
    column = window.process.widget()
    assert column.width() >= column.minimumSizeHint().width()
    # At the column's width (wrapped words are taller), nothing in it squeezed.
    layout = column.layout()
    qtbot.waitUntil(lambda: column.height() >= layout.totalHeightForWidth(column.width()))
    assert params.width() * params.height() < width * height / 2


def test_the_home_screen_is_the_largest_region_and_its_contents_readable(
    sim_config: AppConfig, tmp_path: Path, qtbot: QtBot
) -> None:
    window = console(sim_config, tmp_path, qtbot)
    assert window.minimumSizeHint().width() <= 1600
    assert window.minimumSizeHint().height() <= 1000
    assert window.screens.currentWidget() is window.overview
    assert_default(window, qtbot)
    assert window.overview is not None
    view = window.overview.view
    drawn = view.mapFromScene(view.sceneRect()).boundingRect()
    assert drawn.width() >= 900, drawn  # the picture, not just its tab (was 480 px)

    trends = window.trends
    wanted = {k for k, c in trends.curves.items() if c.tag.plotted and c.group != "nm"}
    wanted.add(next(k for k, c in trends.curves.items() if c.group == "%"))
    wanted.add(next(k for k, c in trends.curves.items() if c.group == STATE_GROUP))
    for key in trends.curves:
        trends.set_curve_visible(key, key in wanted)
    window.screens.setCurrentWidget(trends)
    qtbot.waitUntil(lambda: len(trends.stack.shown()) == 5)
    # Each plot's data area tall enough for two tick labels and its axis title (was 20-30).
    qtbot.waitUntil(lambda: min(gp.vb.height() for gp in trends.stack.shown()) >= 90)
    window.close()


def test_reset_layout_and_an_older_saved_layout_come_back_to_the_default(
    sim_config: AppConfig, tmp_path: Path, qtbot: QtBot
) -> None:
    window = console(sim_config, tmp_path, qtbot)
    window.resizeDocks([window.process], [900], Qt.Orientation.Horizontal)  # dragged wider
    window.removeDockWidget(window.docks[1])  # and the Parameters away
    qtbot.waitUntil(lambda: area(window)[0] < 800)
    window.reset_layout()
    qtbot.waitUntil(lambda: area(window)[0] >= 900)
    assert_default(window, qtbot)
    window.close()

    # A layout the earlier arrangement saved (saveState without a version): its docks
    # at the right over 60 % of the width. The new window refuses it, the default stands.
    older = QMainWindow()
    qtbot.addWidget(older)
    for dock in window.docks[1:]:
        dock.setParent(older)
        older.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    settings.setValue("window/state", older.saveState())
    settings.remove("window/geometry")  # the size this test's window was left at
    settings.sync()
    again = console(sim_config, tmp_path, qtbot)
    assert_default(again, qtbot)
    again.close()
