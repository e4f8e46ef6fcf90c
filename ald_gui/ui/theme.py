"""The console's look: a dark and a light theme, and its icons.

A theme is a Qt palette (so every widget, styled or not, follows it) plus a style
sheet from ``resources/<name>.qss`` for what a palette cannot say: large value
fonts, the run-state banner and the health colours, chosen by dynamic properties
(``*[health="fault"]``, ``*[runState="running"]``). Colours are never the only
signal: the widgets pair them with words and icon shapes.

Icons are SVG files in ``resources/icons/``. Line icons draw in ``currentColor``,
which ``icon()`` replaces with the theme's text colour (or the colour asked for);
the state icons (ok, warning, fault) carry their own colours and shapes.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import TypeVar

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QWidget

__all__ = ["apply_theme", "available_themes", "current_theme", "icon", "icon_names", "named"]

_RESOURCES = files("ald_gui.resources")
_THEME_PROPERTY = "aldTheme"  # the QApplication property naming the theme applied
_ICON_SIZES = (16, 20, 24, 32, 48, 64)
_FONT_POINTS = 11  # the console is read from a step back

_R = QPalette.ColorRole
# Palette colours per theme: (role, normal colour, disabled colour or None).
_PALETTES: dict[str, list[tuple[QPalette.ColorRole, str, str | None]]] = {
    "dark": [
        (_R.Window, "#1F2328", None),
        (_R.WindowText, "#E6EAEE", "#6E7781"),
        (_R.Base, "#16191D", "#1B1F23"),
        (_R.AlternateBase, "#1C2125", None),
        (_R.ToolTipBase, "#2B3137", None),
        (_R.ToolTipText, "#E6EAEE", None),
        (_R.PlaceholderText, "#7D8790", None),
        (_R.Text, "#E6EAEE", "#6E7781"),
        (_R.Button, "#2A3037", "#23282D"),
        (_R.ButtonText, "#E6EAEE", "#6E7781"),
        (_R.BrightText, "#FFFFFF", None),
        (_R.Highlight, "#2D6FA6", "#39424B"),
        (_R.HighlightedText, "#FFFFFF", None),
        (_R.Link, "#56B4E9", None),
        (_R.Light, "#3D454E", None),
        (_R.Midlight, "#30363D", None),
        (_R.Mid, "#3A424A", None),
        (_R.Dark, "#121417", None),
        (_R.Shadow, "#000000", None),
    ],
    "light": [
        (_R.Window, "#F3F4F6", None),
        (_R.WindowText, "#1B1F24", "#9AA2AB"),
        (_R.Base, "#FFFFFF", "#F3F4F6"),
        (_R.AlternateBase, "#F1F3F6", None),
        (_R.ToolTipBase, "#FFFFFF", None),
        (_R.ToolTipText, "#1B1F24", None),
        (_R.PlaceholderText, "#7A838C", None),
        (_R.Text, "#1B1F24", "#9AA2AB"),
        (_R.Button, "#E7EAEE", "#EEF0F2"),
        (_R.ButtonText, "#1B1F24", "#9AA2AB"),
        (_R.BrightText, "#FFFFFF", None),
        (_R.Highlight, "#1F6FB2", "#C9CFD6"),
        (_R.HighlightedText, "#FFFFFF", None),
        (_R.Link, "#0062A3", None),
        (_R.Light, "#FFFFFF", None),
        (_R.Midlight, "#E1E5EA", None),
        (_R.Mid, "#B9C0C8", None),
        (_R.Dark, "#8A939D", None),
        (_R.Shadow, "#5F6770", None),
    ],
}


W = TypeVar("W", bound=QWidget)


def named(widget: W, object_name: str) -> W:
    """``widget`` with the object name the style sheets select on (``QLabel#valueLabel``)."""
    widget.setObjectName(object_name)
    return widget


def available_themes() -> tuple[str, ...]:
    """The names ``apply_theme`` accepts, the default ("dark") first."""
    return tuple(_PALETTES)


def _palette(name: str) -> QPalette:
    palette = QPalette()
    for role, normal, disabled in _PALETTES[name]:
        palette.setColor(role, QColor(normal))
        if disabled is not None:
            palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    return palette


def apply_theme(app: QApplication, name: str) -> None:
    """Give ``app`` the theme ``name``: the Fusion style (the same look on every
    platform), the theme's palette, an 11 pt font and its style sheet. Widgets
    already shown restyle at once. Raises ValueError for an unknown name."""
    if name not in _PALETTES:
        raise ValueError(f"no theme named {name!r}; available: {', '.join(_PALETTES)}")
    sheet = (_RESOURCES / f"{name}.qss").read_text(encoding="utf-8")
    app.setStyle("Fusion")
    app.setPalette(_palette(name))
    font = QFont(app.font())
    font.setPointSize(_FONT_POINTS)
    app.setFont(font)
    app.setStyleSheet(sheet)
    app.setProperty(_THEME_PROPERTY, name)


def current_theme() -> str:
    """The theme last applied to the running application ("dark" if none yet)."""
    app = QApplication.instance()
    name = app.property(_THEME_PROPERTY) if app is not None else None
    return name if isinstance(name, str) and name in _PALETTES else "dark"


@cache
def icon_names() -> tuple[str, ...]:
    """The names ``icon`` accepts."""
    return tuple(
        sorted(p.name[:-4] for p in (_RESOURCES / "icons").iterdir() if p.name.endswith(".svg"))
    )


@cache
def _svg(name: str) -> str:
    if name not in icon_names():
        raise ValueError(f"no icon named {name!r}; available: {', '.join(icon_names())}")
    return (_RESOURCES / "icons" / f"{name}.svg").read_text(encoding="utf-8")


def icon(name: str, colour: str | QColor | None = None) -> QIcon:
    """The icon ``name`` rendered at the usual sizes (16 to 64 px), its line art in
    ``colour`` (default: the current theme's text colour). Needs a QGuiApplication.
    Raises ValueError for an unknown name or an SVG Qt cannot read."""
    if colour is None:
        colour = _palette(current_theme()).color(QPalette.ColorRole.WindowText)
    svg = _svg(name).replace("currentColor", QColor(colour).name())
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        raise ValueError(f"icon {name!r}: resources/icons/{name}.svg is not a valid SVG")
    result = QIcon()
    for size in _ICON_SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pixmap)
    return result
