"""``ald-gui recipe import|export|list|release``: the recipe library of a data directory.

The library folder (store.recipe_library) is the console's; the database gets a copy of
every version and release whenever one of these commands can reach it (the embedded
server is started for the command if no console runs it, as ``doctor`` does), so a
version saved while the database was away is copied by the next command.

Exit status: 0 done; 1 refused (a recipe that breaks a rule of the machine, a missing
recipe or version, a database holding a version with other content); 2 a file (or the
configuration) that cannot be read, as ``recipe check`` says.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.database import database
from ald_gui.cli.recipe_signing import ReleaseRefused, Signer, record, signed_release
from ald_gui.config import paths
from ald_gui.config.load import load_config
from ald_gui.config.models import AppConfig
from ald_gui.config.recipe_check import check_recipe
from ald_gui.config.recipe_file import load_recipe, recipe_toml
from ald_gui.domain.recipe import Recipe
from ald_gui.store.credentials import CredentialsError
from ald_gui.store.recipe_library import LibraryError, RecipeLibrary
from ald_gui.store.recipe_store import RecipeConflict, copy_library
from ald_gui.store.roles import Group, RoleError
from ald_gui.store.server import ServerError


def register(recipe_sub: Any) -> None:
    """Add the library's commands to the ``recipe`` command group."""
    imp = recipe_sub.add_parser(
        "import", help="check a recipe file and add it to the library as its next version"
    )
    imp.add_argument("file", type=Path, help="the recipe's TOML file")
    _common(imp)
    imp.set_defaults(run=_import)

    exp = recipe_sub.add_parser("export", help="write a version of the library as a TOML file")
    exp.add_argument("name", help="the recipe's name (ald-gui recipe list)")
    exp.add_argument("--version", type=int, help="the version (default: the latest)")
    exp.add_argument("-o", "--output", type=Path, help="the file to write (default: stdout)")
    exp.add_argument("--force", action="store_true", help="replace the file if it exists")
    _common(exp)
    exp.set_defaults(run=_export)

    lst = recipe_sub.add_parser("list", help="the recipes of the library and their versions")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    _common(lst)
    lst.set_defaults(run=_list)

    rel = recipe_sub.add_parser(
        "release", help="release a version of the library: what operators run"
    )
    rel.add_argument("name", help="the recipe's name (ald-gui recipe list)")
    rel.add_argument("--version", type=int, required=True, help="the version to release")
    rel.add_argument(
        "--by", help="the account that releases it and signs (default: the login name)"
    )
    rel.add_argument("--second", metavar="ACCOUNT", help="a second person's account, who signs too")
    rel.add_argument("--reason", default="", help="why it is released (for the audit trail)")
    rel.add_argument(
        "--password-env",
        metavar="VAR",
        help="take the password of --by from $VAR instead of asking",
    )
    rel.add_argument(
        "--second-password-env",
        metavar="VAR",
        help="take the password of --second from $VAR instead of asking",
    )
    _common(rel)
    rel.set_defaults(run=_release)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    p.add_argument("--data-dir", type=Path, help="where the library and the database live")


def _library(args: argparse.Namespace) -> RecipeLibrary:
    return RecipeLibrary.of_data_dir(paths.data_dir(args.data_dir))


def _checked(recipe: Recipe, config: AppConfig, source: str) -> bool:
    """Print the findings of ``recipe`` on this machine; True if it has no errors."""
    check = check_recipe(recipe, config)
    for finding in check.findings:
        print(f"{source}: {finding}", file=sys.stderr)
    return check.ok


def _import(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    recipe = load_recipe(args.file)  # RecipeError: exit 2 (cli.failures), nothing added
    if not _checked(recipe, config, str(args.file)):
        print(
            f"{args.file}: not imported: the recipe cannot run on {config.database.machine} "
            "(the errors above; ald-gui recipe check says the same)",
            file=sys.stderr,
        )
        return 1
    try:
        library = _library(args)
        same = library.same_as(recipe)
        if same is not None:
            status = library.versions(recipe.name).status(same)
            print(f"{recipe.name!r} is in the library already as version {same} ({status})")
        else:
            saved = library.save_new_version(recipe)
            print(
                f"imported {args.file} as {saved.name!r} version {saved.version} (draft) "
                f"into {library.folder}"
            )
    except LibraryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _copy_to_database(config, args.data_dir, library)


def _export(args: argparse.Namespace) -> int:
    library = _library(args)
    try:
        recipe = library.load(args.name, args.version)
        status = library.versions(args.name).status(recipe.version)
    except LibraryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = (
        f"# {recipe.name} version {recipe.version} ({status}), SHA-256 {recipe.sha256}\n"
        f"# exported from {library.folder}\n" + recipe_toml(recipe)
    )
    if args.output is None:
        sys.stdout.write(text)
        return 0
    output: Path = args.output
    if output.exists() and not args.force:
        print(f"error: {output} exists: choose another file or add --force", file=sys.stderr)
        return 1
    partial = output.with_name(f".{output.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        print(f"error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {recipe.name!r} version {recipe.version} ({status}) to {output}")
    return 0


def _list(args: argparse.Namespace) -> int:
    library = _library(args)
    entries = library.recipes()
    if args.json:
        listed = [
            {
                "name": e.name,
                "versions": list(e.versions),
                "latest": e.latest,
                "released": list(e.released),
            }
            for e in entries
        ]
        print(json.dumps({"library": str(library.folder), "recipes": listed}, indent=2))
        return 0
    if not entries:
        print(f"no recipes in {library.folder} (ald-gui recipe import FILE adds one)")
        return 0
    width = max(len(e.name) for e in entries)
    for e in entries:
        released = ", ".join(map(str, e.released)) or "none"
        print(
            f"{e.name:<{width}}  versions {_span(e.versions)}  latest {e.latest} "
            f"({e.status(e.latest)})  released: {released}"
        )
    return 0


def _release(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    library = _library(args)
    try:
        recipe = library.load(args.name, args.version)
        if not _checked(recipe, config, str(library.path(args.name, args.version))):
            print(
                f"error: {args.name!r} version {args.version} is not released: it cannot "
                f"run on {config.database.machine} (the errors above)",
                file=sys.stderr,
            )
            return 1
        existing = library.release_of(args.name, args.version)
        if existing is not None:  # nothing to sign again
            print(f"{args.name!r} version {args.version} was released by {existing.by} at "
                  f"{existing.released_at}")  # fmt: skip
            return _copy_to_database(config, args.data_dir, library)
        by = Signer(args.by or getpass.getuser(), args.password_env)
        second = Signer(args.second, args.second_password_env) if args.second else None
        with database(config, args.data_dir, Group.WRITER) as (dsn, _where):
            entry = signed_release(dsn, config, args.data_dir, recipe, by, second, args.reason)
            record(dsn, config.database.machine, entry)
        release = library.release(args.name, args.version, by=entry.account)
    except (LibraryError, ReleaseRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ServerError, CredentialsError, RoleError) as exc:
        print(f"error: not released: the audit trail cannot record it ({exc})", file=sys.stderr)
        return 1
    print(
        f"{args.name!r} version {release.version} released by {release.by or 'nobody named'} "
        f"at {release.released_at} (SHA-256 {release.sha256})"
    )
    return _copy_to_database(config, args.data_dir, library)


def _copy_to_database(config: AppConfig, data_dir: Path | None, library: RecipeLibrary) -> int:
    """Copy what the database lacks of ``library``: 0 when copied or when the database
    is not reachable (said on stderr: the folder has it all), 1 on a conflict."""
    try:
        with (
            database(config, data_dir, Group.WRITER) as (dsn, where),
            psycopg.connect(dsn, connect_timeout=10) as conn,
        ):
            copied = copy_library(conn, config.database.machine, library)
    except (RecipeConflict, LibraryError) as exc:
        print(f"error: the database was not brought up to date: {exc}", file=sys.stderr)
        return 1
    except (psycopg.Error, ServerError, CredentialsError, RoleError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        print(
            f"note: the database has no copy yet ({reason}); the library folder has it, "
            "and the next `ald-gui recipe import` or `release` copies it",
            file=sys.stderr,
        )
        return 0
    print(f"{where}: {copied.versions} new versions, {copied.releases} new releases")
    return 0


def _span(versions: tuple[int, ...]) -> str:
    if list(versions) == list(range(versions[0], versions[-1] + 1)) and len(versions) > 1:
        return f"{versions[0]}-{versions[-1]}"
    return ", ".join(map(str, versions))
