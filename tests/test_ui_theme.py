"""Themes load cleanly and style what they promise; icons render."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QFont, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget

from ald_gui.domain.events import PlcLost
from ald_gui.domain.health import PlcHealth
from ald_gui.ui.event_log import EventLog
from ald_gui.ui.health import HealthStrip
from ald_gui.ui.theme import apply_theme, available_themes, current_theme, icon, icon_names

ICONS = {"start", "stop", "pause", "live", "ok", "warning", "fault", "plc", "database",
         "writer", "settings", "theme"}  # fmt: skip


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    """The application, its look put back as it was after the test."""
    sheet, palette, font = qapp.styleSheet(), qapp.palette(), qapp.font()
    theme = qapp.property("aldTheme")
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)
    qapp.setProperty("aldTheme", theme)


def _console_like(qtbot) -> QWidget:
    """A widget with every object name and property the style sheets select on."""
    box = QWidget()
    qtbot.addWidget(box)
    layout = QVBoxLayout(box)
    banner = QLabel("RUNNING 00:01:02", objectName="stateBanner")
    banner.setProperty("runState", "running")
    value = QLabel("180.0 °C", objectName="valueLabel")
    layout.addWidget(banner)
    layout.addWidget(QLabel("idle", objectName="stateDetail"))
    layout.addWidget(value)
    layout.addWidget(QPushButton("Start run", objectName="startButton"))
    layout.addWidget(QPushButton("Stop run", objectName="stopButton"))
    layout.addWidget(HealthStrip())
    layout.addWidget(EventLog())
    box.ensurePolished()
    return box


@pytest.mark.qt_log_level_fail("WARNING")
@pytest.mark.parametrize("name", available_themes())
def test_each_theme_loads_without_a_qt_warning(app: QApplication, qtbot, name: str) -> None:
    apply_theme(app, name)
    box = _console_like(qtbot)
    # Polishing applies the sheet to every widget: a rule Qt cannot parse warns here.
    # (No grab of the whole box: painting large areas starts Qt's image thread pool,
    # whose threads outlive the test.)
    box.ensurePolished()
    strip = box.findChild(HealthStrip)
    assert not strip.grab().isNull()
    assert current_theme() == name
    assert app.font().pointSize() == 11


def test_the_themes_differ_where_the_operator_looks(app: QApplication, qtbot) -> None:
    looks = {}
    for name in available_themes():
        apply_theme(app, name)
        box = _console_like(qtbot)
        banner = box.findChild(QLabel, "stateBanner")
        value = box.findChild(QLabel, "valueLabel")
        assert value.font().pointSize() >= 18  # values read from a step back
        running = banner.palette().color(QPalette.ColorRole.Window)
        looks[name] = (app.palette().color(QPalette.ColorRole.Window).lightness(), running)
    assert looks["dark"][0] < 80 and looks["light"][0] > 200
    for _, running in looks.values():  # a run in progress is shown in blue, with words
        assert 190 <= running.hue() <= 220 and running.saturation() > 150


def test_a_theme_applied_after_the_widgets_exist_reaches_them(app: QApplication, qtbot) -> None:
    # The console builds its widgets first and applies the saved theme after.
    app.setStyleSheet("")
    app.setFont(QFont(app.font().family(), 7))
    log = EventLog()
    qtbot.addWidget(log)
    log.ensurePolished()
    small_rows = log.table.verticalHeader().defaultSectionSize()
    apply_theme(app, "dark")
    assert log.search.font().pointSize() == 11
    assert log.table.font().pointSize() == 11
    assert log.table.verticalHeader().defaultSectionSize() > small_rows
    apply_theme(app, "light")
    assert log.table.palette().color(QPalette.ColorRole.Base).name() == "#ffffff"


@pytest.mark.parametrize("name", available_themes())
def test_health_colours_follow_the_state_at_once(app: QApplication, qtbot, name: str) -> None:
    # The sheet picks colours by the "health" property; a changed property shows only
    # once the widget is re-polished, which its palette reveals.
    apply_theme(app, name)
    strip = HealthStrip()
    qtbot.addWidget(strip)
    button = strip.indicator("plc")
    looks = {}
    for state, feed in (
        ("ok", PlcHealth(True, 0.002, 9, 10, 0, 0, 0.001, "", None)),
        ("warning", PlcHealth(True, 0.002, 9, 11, 0, 5, 0.001, "", None)),
        ("fault", PlcLost(at_us=1, reason="x")),
    ):
        (strip.on_event if isinstance(feed, PlcLost) else strip.on_plc_health)(feed)
        assert button.property("health") == state
        palette = button.palette()
        looks[state] = (palette.color(QPalette.ColorRole.Button).name(),
                        palette.color(QPalette.ColorRole.ButtonText).name())  # fmt: skip
    assert len({button for button, _ in looks.values()}) == 3
    assert looks["fault"][1] == "#ffffff"


def test_an_unknown_theme_is_named(app: QApplication) -> None:
    with pytest.raises(ValueError, match="no theme named 'blue'; available: dark, light"):
        apply_theme(app, "blue")


def test_every_icon_is_there() -> None:
    assert set(icon_names()) == ICONS


def _opaque_pixels(image: QImage) -> int:
    return sum(
        image.pixelColor(x, y).alpha() > 0
        for x in range(image.width())
        for y in range(image.height())
    )


@pytest.mark.parametrize("name", sorted(ICONS))
def test_each_icon_renders_a_picture(qapp: QApplication, name: str) -> None:
    pixmap = icon(name).pixmap(QSize(32, 32))
    assert not pixmap.isNull() and pixmap.width() == 32
    assert _opaque_pixels(pixmap.toImage()) > 32 * 32 * 0.12


def test_line_icons_take_the_colour_asked_for(qapp: QApplication) -> None:
    image = icon("stop", "#ff0000").pixmap(QSize(24, 24)).toImage()
    assert image.pixelColor(12, 12) == QColor("#ff0000")


def test_line_icons_follow_the_theme(app: QApplication) -> None:
    centres = {}
    for name in available_themes():
        apply_theme(app, name)
        centres[name] = icon("stop").pixmap(QSize(24, 24)).toImage().pixelColor(12, 12)
    assert centres["dark"].lightness() > 150 > 80 > centres["light"].lightness()


def test_an_unknown_icon_is_named(qapp: QApplication) -> None:
    with pytest.raises(ValueError, match="no icon named 'rocket'; available: database, "):
        icon("rocket")
