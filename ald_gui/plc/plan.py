"""The read plan: the fewest Modbus read requests that cover every polled tag.

Each poll costs one network round trip per request, so the planner groups tags of the
same table into as few requests as the protocol limit (125 registers, 2000 bits) and
the PLC allow. ``max_gap`` bounds the run of unrequested addresses a request may span
between two of its tags: reading a few unused registers is cheaper than another round
trip, but some PLCs answer a read that touches an unmapped address with an exception,
and for those the gap must be 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ald_gui.domain.tags import RegisterKind, Tag


@dataclass(frozen=True)
class ReadRequest:
    """One read of ``count`` registers (or bits) of table ``kind`` from ``start``.

    ``tags`` are the tags it covers, in address order; each lies wholly inside the
    request.
    """

    kind: RegisterKind
    start: int
    count: int
    tags: tuple[Tag, ...]

    def offset(self, tag: Tag) -> int:
        """Index of the tag's first register (or bit) in this request's response.

        Raises ValueError if the tag is not read by this request (another table, or
        an address outside it).
        """
        if tag.register_kind is not self.kind or tag.address is None:
            raise ValueError(f"tag {tag.key} is not read by {self}")
        first, last = tag.register_span
        if first < self.start or last >= self.start + self.count:
            raise ValueError(f"tag {tag.key} is not read by {self}")
        return first - self.start

    def __str__(self) -> str:
        return f"{self.kind} read of {self.count} from {self.start}"


@dataclass(frozen=True)
class ReadPlan:
    """The requests of one poll, ordered by table and then by address."""

    requests: tuple[ReadRequest, ...]

    @property
    def request_count(self) -> int:
        return len(self.requests)

    @property
    def tag_count(self) -> int:
        """Tags the plan reads (unwired tags are not among them)."""
        return sum(len(r.tags) for r in self.requests)


def plan_reads(tags: Iterable[Tag], max_gap: int) -> ReadPlan:
    """The plan with the fewest requests that reads every polled tag exactly once.

    Tags without an address are skipped. Within a request, no two neighbouring tags are
    more than ``max_gap`` addresses apart, and no request exceeds its table's protocol
    limit. The result does not depend on the order of ``tags``.

    Raises ValueError if ``max_gap`` is negative or if two tags of the same table
    share an address (the error names both).
    """
    if max_gap < 0:
        raise ValueError(f"max_gap must be 0 or more, got {max_gap}")
    by_kind: dict[RegisterKind, list[Tag]] = {kind: [] for kind in RegisterKind}
    for tag in tags:
        if tag.polled:
            by_kind[tag.register_kind].append(tag)
    requests: list[ReadRequest] = []
    for kind, kind_tags in by_kind.items():
        requests.extend(_plan_table(kind, kind_tags, max_gap))
    return ReadPlan(tuple(requests))


def _plan_table(kind: RegisterKind, tags: list[Tag], max_gap: int) -> list[ReadRequest]:
    """Greedy over one table: extend the current request while the next tag fits.

    Why greedy is optimal: a request's tags are a run of consecutive tags in address
    order (a request covers every tag inside its range), and any shorter run inside a
    feasible run is feasible too (its span is smaller, its gaps a subset). So the
    request that starts at the lowest unplanned tag and reaches furthest leaves a
    remainder that is a suffix of what any other plan's first request leaves; by
    induction, no plan needs fewer requests. Sorting by (address, key) keeps the plan
    independent of the input order.
    """
    ordered = sorted(tags, key=lambda t: (t.register_span, t.key))
    limit = kind.max_read_count
    requests: list[ReadRequest] = []
    current: list[Tag] = []
    start = end = 0  # span of `current`, inclusive
    for tag in ordered:
        first, last = tag.register_span
        if current and first <= end:
            raise ValueError(
                f"tags {current[-1].key} and {tag.key} overlap at {kind} address {first}"
            )
        if current and first - end - 1 <= max_gap and last - start + 1 <= limit:
            current.append(tag)
            end = last
            continue
        if current:
            requests.append(ReadRequest(kind, start, end - start + 1, tuple(current)))
        current, start, end = [tag], first, last
    if current:
        requests.append(ReadRequest(kind, start, end - start + 1, tuple(current)))
    return requests
