"""Can a window open here? Checked before Qt starts, which would abort without a word
a user could act on (no display; the X11 libraries of Qt's xcb plugin missing)."""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

# What Qt's xcb platform plugin links against, and the Debian/Ubuntu package of each.
# A fresh desktop install often lacks the first three (Qt 6 needs them, Qt 5 did not).
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
}


def no_display() -> bool:
    """A Linux machine with no screen to open a window on (a server, an SSH session)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def missing_xcb_packages() -> dict[str, str]:
    """``{library: Debian package}`` of what Qt's xcb plugin needs and cannot load, when
    the window would use X11 (Linux, DISPLAY set, no Wayland, no other platform asked
    for); empty otherwise."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if (
        not sys.platform.startswith("linux")
        or platform not in ("", "xcb")
        or not os.environ.get("DISPLAY")
        or (not platform and os.environ.get("WAYLAND_DISPLAY"))
    ):
        return {}
    return {lib: package for lib, package in XCB_LIBRARIES.items() if not _loadable(lib)}


def _loadable(library: str) -> bool:
    # Where the system's loader looks, then where a wheel or a frozen build may have
    # put a copy (Qt's plugin finds those through its run path).
    places = [library, *(str(d / library) for d in _bundled_dirs())]
    for place in places:
        try:
            ctypes.CDLL(place)
        except OSError:
            continue
        return True
    return False


def _bundled_dirs() -> list[Path]:
    dirs = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        dirs.append(Path(frozen))
    from importlib.util import find_spec

    spec = find_spec("PySide6")
    if spec is not None and spec.submodule_search_locations:
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "Qt" / "lib")
    return dirs


def missing_libraries_message(missing: dict[str, str]) -> str:
    return (
        "error: the console window cannot open: Qt's X11 support needs libraries that are "
        f"not installed ({', '.join(missing)}).\n"
        f"On Debian or Ubuntu: sudo apt-get install {' '.join(missing.values())}\n"
        "`ald-gui headless` records without a window meanwhile."
    )
