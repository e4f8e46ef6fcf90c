"""The trends' curve colours: readable on the plot background of each theme (WCAG 2.1
non-text contrast, 3:1) and distinct from each other, for normal vision and for the
three kinds of dichromacy (simulated after Machado, Oliveira and Fernandes 2009).

The background is the one a real TrendView paints under each theme, offscreen.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ald_gui.config.load import load_config
from ald_gui.ui.palette import ON_DARK, ON_LIGHT, curve_colour, is_dark
from ald_gui.ui.theme import apply_theme, available_themes
from ald_gui.ui.trends import TrendView

MIN_CONTRAST = 3.0  # WCAG 2.1 success criterion 1.4.11, non-text contrast
MIN_DELTA_E = 12.0  # CIELAB distance of the closest two colours of a variant

# Machado et al. (2009), severity 1.0, on linear RGB.
DICHROMACY = {
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
    "tritanopia": (
        (1.255528, -0.076749, -0.178779),
        (-0.078411, 0.930809, 0.147602),
        (0.004733, 0.691367, 0.303900),
    ),
}


def _linear(colour: str) -> tuple[float, float, float]:
    c = QColor(colour)

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    return channel(c.redF()), channel(c.greenF()), channel(c.blueF())


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two colours (1 .. 21)."""

    def luminance(colour: str) -> float:
        r, g, b = _linear(colour)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = rgb
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def seen(colour: str, vision: str) -> tuple[float, float, float]:
    """The colour in CIELAB as seen with ``vision`` ("normal" or a DICHROMACY key)."""
    rgb = _linear(colour)
    if vision != "normal":
        m = DICHROMACY[vision]
        rgb = tuple(  # type: ignore[assignment]
            min(1.0, max(0.0, sum(m[i][j] * rgb[j] for j in range(3)))) for i in range(3)
        )
    return _lab(rgb)


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    sheet, palette, font = qapp.styleSheet(), qapp.palette(), qapp.font()
    theme = qapp.property("aldTheme")
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)
    qapp.setProperty("aldTheme", theme)


def test_the_measures_are_the_published_ones() -> None:
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)  # WebAIM's grey
    assert seen("#FFFFFF", "normal")[0] == pytest.approx(100.0, abs=0.1)
    # A red and a green a deuteranope confuses: far apart, then close.
    red, green = "#D55E00", "#6B8E23"
    assert math.dist(seen(red, "normal"), seen(green, "normal")) > 50
    assert math.dist(seen(red, "deuteranopia"), seen(green, "deuteranopia")) < 20


@pytest.mark.parametrize("theme", available_themes())
def test_every_curve_colour_reads_on_the_plot_background(
    app: QApplication, qtbot: QtBot, theme: str
) -> None:
    apply_theme(app, theme)
    view = TrendView(load_config().tags, poll_interval_s=0.5)
    qtbot.addWidget(view)
    background = view.stack.canvas.backgroundBrush().color()
    assert is_dark(background.lightness()) == (theme == "dark")
    palette = ON_DARK if theme == "dark" else ON_LIGHT
    ratios = {c: contrast(c, background.name()) for c in palette}
    assert min(ratios.values()) >= MIN_CONTRAST, (background.name(), ratios)
    # And the curves wear those colours: every pen of every plot is one of them.
    pens = {item.opts["pen"].color().name().upper() for item in view.stack.items.values()}
    assert pens <= set(palette) and len(pens) == len(palette)
    view.close()


@pytest.mark.parametrize("dark", [True, False], ids=["dark", "light"])
@pytest.mark.parametrize("vision", ["normal", *DICHROMACY])
def test_the_colours_stay_apart_for_colour_blind_eyes(dark: bool, vision: str) -> None:
    colours = [curve_colour(i, dark=dark) for i in range(7)]
    assert len(set(colours)) == 7
    closest = min(
        (math.dist(seen(a, vision), seen(b, vision)), a, b)
        for a, b in itertools.combinations(colours, 2)
    )
    assert closest[0] >= MIN_DELTA_E, closest
