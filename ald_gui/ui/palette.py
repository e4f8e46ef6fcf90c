"""Curve colours that stay distinguishable for colour-blind operators, and readable.

Okabe & Ito's eight colours (2008), the usual choice for deuteranopia, protanopia and
tritanopia alike, each variant with seven of them. Every curve colour reaches at least
3:1 contrast against its plot background (WCAG 2.1's minimum for graphics, 1.4.11):

- On the dark background (#1F2328) Okabe-Ito as published, but for their black
  (dropped) and their blue, lifted a little (#0072B2 is 3.05:1, at the edge).
- On the light background (#F3F4F6) their yellow is 1.3:1, orange and sky blue about
  2:1 and reddish purple 2.8:1. So the light variant keeps each hue but darkens it to
  3.3:1 or more, and darkens vermillion further than orange so that the two still
  differ in lightness, which is what tells them apart to a protanope. Yellow gives way
  to black.

Measured (tests/test_ui_palette.py): the least contrast is 3.56:1 on dark and 3.32:1 on
light; the closest two colours of a variant are 12 or more apart (CIELAB ΔE) for normal
vision and under simulated deuteranopia, protanopia and tritanopia alike. A plot with
more curves than colours repeats them with another line style, and a legend entry
always carries the name: colour is never the only cue.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

__all__ = ["LINE_STYLES", "ON_DARK", "ON_LIGHT", "curve_colour", "is_dark"]

# The most distinct hues first, since most plots show two to four curves. The same
# place means the same hue in both variants (run marks and the recipe bar rely on it).
ON_DARK: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#CC79A7",  # reddish purple
    "#1A7DC0",  # blue, lifted from #0072B2
)
ON_LIGHT: tuple[str, ...] = (
    "#B37800",  # orange, darkened
    "#005991",  # blue: sky blue is pale on white, so blue takes its place
    "#00734F",  # bluish green, darkened
    "#A33F00",  # vermillion, darkened below orange
    "#000000",  # black, in yellow's place
    "#975178",  # reddish purple, darkened
    "#348EBD",  # sky blue, darkened
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
