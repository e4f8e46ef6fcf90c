"""Curve colours that stay distinguishable for colour-blind operators.

Okabe & Ito's eight colours (2008), the usual choice for deuteranopia, protanopia and
tritanopia alike. On a dark plot background their black is dropped; on a light one their
yellow is (about 1.3:1 contrast on white), so each variant has seven colours. A plot
with more curves than colours repeats them with another line style, and a legend entry
always carries the name: colour is never the only cue.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

__all__ = ["LINE_STYLES", "curve_colour", "is_dark"]

_ORANGE = "#E69F00"
_SKY_BLUE = "#56B4E9"
_BLUISH_GREEN = "#009E73"
_VERMILLION = "#D55E00"
_BLUE = "#0072B2"
_REDDISH_PURPLE = "#CC79A7"
_YELLOW = "#F0E442"
_BLACK = "#000000"

# The most distinct hues first, since most plots show two to four curves.
ON_DARK: tuple[str, ...] = (
    _ORANGE,
    _SKY_BLUE,
    _BLUISH_GREEN,
    _VERMILLION,
    _YELLOW,
    _REDDISH_PURPLE,
    _BLUE,
)
# Sky blue is pale on white: it moves to the end, blue takes its place.
ON_LIGHT: tuple[str, ...] = (
    _ORANGE,
    _BLUE,
    _BLUISH_GREEN,
    _VERMILLION,
    _BLACK,
    _REDDISH_PURPLE,
    _SKY_BLUE,
)

LINE_STYLES: tuple[Qt.PenStyle, ...] = (
    Qt.PenStyle.SolidLine,
    Qt.PenStyle.DotLine,
    Qt.PenStyle.DashDotLine,
)


def curve_colour(index: int, *, dark: bool) -> str:
    """The colour of the ``index``-th curve of a plot (cycles every seven)."""
    colours = ON_DARK if dark else ON_LIGHT
    return colours[index % len(colours)]


def is_dark(background_lightness: int) -> bool:
    """Whether a background of this HSL lightness (0..255) counts as dark."""
    return background_lightness < 128
