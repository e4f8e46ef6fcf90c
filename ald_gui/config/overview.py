"""The Overview screen's picture: an SVG of the reactor whose live spots are tag keys.

The drawing is the reactor's own (another reactor brings its picture); every element
whose ``id`` contains a dot names a tag (``valve_1.valve_state``) where the console
draws it live. Checked when the configuration loads, so a picture that names a tag
this machine does not have is an error naming it, not a blank spot on the screen.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict


class OverviewSettings(BaseModel):
    """``picture``: an SVG file, absolute or relative to the configuration file's
    folder (or one of the console's own pictures, by name); "" for no Overview."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    picture: str = ""
    # The values pinned above the screens, large enough to read from two metres: tag
    # keys, in order.
    key_values: tuple[str, ...] = ()


def check_key_values(settings: OverviewSettings, tag_keys: Iterable[str]) -> list[str]:
    """Each pinned key value that is no tag of this machine (or twice), as a problem."""
    known = set(tag_keys)
    problems = [
        f"overview.key_values[{i}]: {key!r} is no tag of this machine"
        for i, key in enumerate(settings.key_values)
        if key not in known
    ]
    seen: set[str] = set()
    for i, key in enumerate(settings.key_values):
        if key in seen:
            problems.append(f"overview.key_values[{i}]: {key!r} is pinned twice")
        seen.add(key)
    return problems


def resolve_picture(picture: str, config_file: Path | None) -> Path:
    """Where ``picture`` is: beside the configuration file, else bundled. Raises
    ValueError saying where it was looked for."""
    path = Path(picture)
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [config_file.parent / path] if config_file is not None else []
        candidates.append(Path(str(resources.files("ald_gui.resources").joinpath(picture))))
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise ValueError(f"no such picture {picture!r} (looked for {looked})")


def spot_ids(svg: Path) -> list[str]:
    """The ids of the picture's live spots (those with a dot: tag keys), in order.
    Raises ValueError if the file is no SVG."""
    try:
        root = ET.parse(svg).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ValueError(f"{svg.name} is not a readable SVG file: {exc}") from None
    if not root.tag.endswith("svg"):
        raise ValueError(f"{svg.name} is not an SVG file (its root is <{root.tag}>)")
    return [i for e in root.iter() if "." in (i := e.get("id", ""))]


def check_spots(svg: Path, tag_keys: Iterable[str]) -> list[str]:
    """Each spot of the picture that names no tag of this machine, as a problem."""
    known = set(tag_keys)
    return [
        f"{svg.name} draws {key!r}, which is no tag of this machine"
        for key in spot_ids(svg)
        if key not in known
    ]
