"""Reading a configuration file, with errors that name the file, the key and the reason."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ald_gui.config.models import AppConfig
from ald_gui.config.overview import check_spots, resolve_picture

DEFAULT_CONFIG_NAME = "reference_reactor.toml"


class ConfigError(Exception):
    """A configuration file that cannot be used. ``str()`` is the message for the user."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{self.path}: invalid configuration\n{lines}")


def default_config_path() -> Path:
    """The bundled configuration of the reference reactor."""
    return Path(str(resources.files("ald_gui.resources").joinpath(DEFAULT_CONFIG_NAME)))


def _key_path(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    out = ""
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    # A tag is easier to find by its name than by its index in a long file.
    if len(loc) >= 2 and loc[0] == "tags" and isinstance(loc[1], int):
        try:
            tag = data["tags"][loc[1]]
            out += f" ({tag.get('component', '?')} / {tag.get('name', '?')})"
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
    return out or "(top level)"


def parse_config(data: dict[str, Any], source: Path | str = "<config>") -> AppConfig:
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            reason = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                reason = "unknown key"
            problems.append(f"{_key_path(tuple(err['loc']), data)}: {reason}")
        raise ConfigError(source, problems) from None
    return _with_picture(config, source)


def _with_picture(config: AppConfig, source: Path | str) -> AppConfig:
    """The configuration with its Overview picture found and checked against its tags
    (relative to the file's folder, or bundled)."""
    picture = config.overview.picture
    if not picture:
        return config
    folder_of = Path(source) if isinstance(source, Path) else None
    try:
        svg = resolve_picture(picture, folder_of)
        problems = check_spots(svg, (t.key for t in config.tags))
    except ValueError as exc:
        problems = [str(exc)]
    if problems:
        raise ConfigError(source, [f"overview.picture: {p}" for p in problems])
    overview = config.overview.model_copy(update={"picture": str(svg)})
    return config.model_copy(update={"overview": overview})


def load_config(path: Path | str | None = None) -> AppConfig:
    """Load and validate a TOML configuration; ``None`` loads the bundled default.

    Raises ConfigError naming the file, each bad key path and the reason.
    """
    file = Path(path) if path is not None else default_config_path()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, [f"not valid TOML: {exc}"]) from None
    return parse_config(data, file)
