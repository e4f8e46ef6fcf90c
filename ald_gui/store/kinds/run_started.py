"""RunStarted: a run begins (a row of ``process_executions``), with the recipe it runs.

Its row is written before anything of its group that names it (the samples' foreign
key; the gaps and steps placed inside its interval). Inserted with ``ON CONFLICT DO
NOTHING``: the id is the console's, so a start replayed under a new transaction id (a
dead letter) does not make a second run.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence

from ald_gui.domain.stream import Run, RunStarted
from ald_gui.store.db import db_timestamp
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import (
    Check,
    Figure,
    Group,
    GroupRejected,
    KeySet,
    KeySetId,
    StreamKind,
)

_INSERT = """
INSERT INTO process_executions
    (id, machine, operator, note, recipe_name, recipe_version, recipe_sha256,
     recipe_snapshot, started_at, status, transaction_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, 'running', %s)
ON CONFLICT (id) DO NOTHING
"""
# The version a run runs joins the database's recipe versions (migration 0005), so a
# version run from the library without `recipe import` is there too. Reference data,
# not a record of the stream: not counted by the ledger, and a version already there
# (the same, or another text under the same number) is left as it is: the run's own
# snapshot is what it ran.
_INSERT_RECIPE = """
INSERT INTO recipes (machine, name) VALUES (%s, %s) ON CONFLICT DO NOTHING
"""
_INSERT_VERSION = """
INSERT INTO recipe_versions (machine, name, version, sha256, canonical, author, description)
VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING
"""


def _encode(item: RunStarted, _: KeySetId) -> tuple[int, int, bytes]:
    r = item.run
    body = json_body.dump({
        "seq": item.seq, "id": str(r.id), "machine": r.machine, "operator": r.operator,
        "started_at_us": r.started_at_us, "note": r.note, "recipe": r.recipe,
        "recipe_version": r.recipe_version, "recipe_sha256": r.recipe_sha256,
        "recipe_snapshot": r.recipe_snapshot,
    })  # fmt: skip
    return r.started_at_us, 0, body


def _decode(body: bytes, _: KeySet) -> RunStarted:
    f = json_body.load(body)
    run = Run(
        id=uuid.UUID(f["id"]),
        machine=f["machine"],
        operator=f["operator"],
        started_at_us=f["started_at_us"],
        note=f["note"],
        recipe=f["recipe"],
        # Absent in spools written before runs carried their recipe's version.
        recipe_version=f.get("recipe_version"),
        recipe_sha256=f.get("recipe_sha256", ""),
        recipe_snapshot=f.get("recipe_snapshot", ""),
    )
    return RunStarted(seq=f["seq"], run=run)


def _count(
    items: Sequence[RunStarted], parameter_ids: Mapping[str, int], machine: str
) -> tuple[()]:
    for item in items:
        if item.run.machine != machine:
            raise GroupRejected(
                f"run {item.run.id} belongs to machine {item.run.machine!r}, "
                f"not {machine!r} whose group this is"
            )
    return ()


def _write(items: Sequence[RunStarted], group: Group) -> None:
    for item in items:
        r = item.run
        group.cur.execute(
            _INSERT,
            (r.id, group.machine, r.operator, r.note, r.recipe, r.recipe_version,
             r.recipe_sha256, r.recipe_snapshot or None, db_timestamp(r.started_at_us),
             group.transaction_id),
        )  # fmt: skip
        if _is_version(r):
            body = json.loads(r.recipe_snapshot)
            group.cur.execute(_INSERT_RECIPE, (group.machine, r.recipe))
            group.cur.execute(
                _INSERT_VERSION,
                (group.machine, r.recipe, r.recipe_version, r.recipe_sha256, r.recipe_snapshot,
                 body.get("author", ""), body.get("description", "")),
            )  # fmt: skip


def _is_version(run: Run) -> bool:
    """Whether ``run`` carries a whole recipe version the database's checks accept (its
    hash is of its snapshot, its name and number are the snapshot's): anything else is
    not copied, so it can never make the run's own row fail."""
    if not (run.recipe and run.recipe_version and run.recipe_snapshot):
        return False
    if hashlib.sha256(run.recipe_snapshot.encode()).hexdigest() != run.recipe_sha256:
        return False
    try:
        body = json.loads(run.recipe_snapshot)
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and body.get("name") == run.recipe
        and body.get("version") == run.recipe_version
        and "\x00" not in run.recipe_snapshot
    )


# Runs of one machine never overlap (invariant 1: a sample belongs to one run).
_CHECKS = (
    Check(
        1,
        "pair of runs of the machine whose intervals overlap",
        """
        SELECT a.id AS run_id, b.id AS other_run_id, a.started_at, a.ended_at,
               b.started_at AS other_started_at, b.ended_at AS other_ended_at,
               count(*) OVER () AS total
        FROM process_executions a
        JOIN process_executions b ON b.machine = a.machine AND a.id < b.id
        WHERE a.machine = %(machine)s
          AND tstzrange(a.started_at, a.ended_at) && tstzrange(b.started_at, b.ended_at)
        ORDER BY a.started_at LIMIT %(limit)s""",
    ),
)

KIND = StreamKind(
    number=1, item=RunStarted, encode=_encode, decode=_decode, count=_count, write=_write,
    figures=(Figure("runs", "runs",
                    "SELECT count(*) FROM process_executions WHERE machine = %(machine)s"),),
    checks=_CHECKS,
)  # fmt: skip
