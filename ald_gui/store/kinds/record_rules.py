"""The two rules every record of the stream keeps besides its own (invariant 8), for
doctor: stored once, and inside the stream range of the ledger row that wrote it.

A kind's table has ``machine``, ``seq`` and ``transaction_id`` columns; ``shown`` names
the column that tells a person which record it is (a step's path, an alarm's name).
"""

from __future__ import annotations

from ald_gui.store.kinds.base import Check


def stored_once_and_in_its_transaction(table: str, noun: str, shown: str) -> tuple[Check, Check]:
    """``table``'s two rules, ``noun`` naming its records in doctor's words."""
    once = Check(
        8,
        f"{noun} stored more than once",
        f"""
        SELECT x.seq, count(*) AS copies, count(*) OVER () AS total
        FROM {table} x WHERE x.machine = %(machine)s
        GROUP BY x.seq HAVING count(*) > 1
        ORDER BY x.seq LIMIT %(limit)s""",
    )
    in_range = Check(
        8,
        f"{noun} outside its transaction's stream range, or without a ledger row",
        f"""
        SELECT x.seq, x.{shown}, x.transaction_id, w.first_seq, w.last_seq,
               count(*) OVER () AS total
        FROM {table} x LEFT JOIN write_transactions w USING (transaction_id)
        WHERE x.machine = %(machine)s
          AND (x.seq BETWEEN w.first_seq AND w.last_seq AND w.machine = x.machine)
              IS NOT TRUE
        ORDER BY x.seq LIMIT %(limit)s""",
    )
    return once, in_range
