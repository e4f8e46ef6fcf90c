"""Properties of the Modbus read planner (ald_gui.plc.plan) and the reference reactor's plan."""

from __future__ import annotations

import functools
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.domain.tags import DataType, RegisterKind, Tag
from ald_gui.plc.plan import ReadPlan, plan_reads

REGISTER_TYPES = [DataType.FLOAT32, DataType.INT32, DataType.INT16, DataType.UINT16]

quick = settings(max_examples=150, deadline=None)


def make_tag(
    name: str, kind: RegisterKind, data_type: DataType, address: int | None, component: str = "t"
) -> Tag:
    return Tag(
        component=component,
        name=name,
        data_type=data_type,
        register_kind=kind,
        address=address,
        min=0,
        max=1,
    )


@st.composite
def plan_inputs(draw: st.DrawFn, max_per_kind: int) -> tuple[list[Tag], int]:
    """A max_gap and non-overlapping tags of random kinds and types, plus a few unwired
    ones, in random order. Each gap between neighbours is drawn against max_gap: none,
    within it (often close to it, so that reads grow to the protocol limit), or just
    beyond it, so that both rules decide where reads split."""
    max_gap = draw(
        st.one_of(st.just(0), st.integers(0, 20), st.integers(20, 130), st.integers(130, 1000))
    )
    gaps = st.one_of(
        st.just(0),
        st.integers(0, max_gap),
        st.integers(max_gap // 2, max_gap),
        st.integers(max_gap + 1, max_gap + 40),
    )
    tags: list[Tag] = []
    for kind in RegisterKind:
        types = st.just(DataType.BOOL) if kind.is_bit else st.sampled_from(REGISTER_TYPES)
        address = draw(st.integers(0, 3000))
        for _ in range(draw(st.integers(0, max_per_kind))):
            data_type = draw(types)
            tags.append(make_tag(f"{kind}_{len(tags)}", kind, data_type, address))
            address += data_type.register_count + draw(gaps)
    for i in range(draw(st.integers(0, 2))):
        tags.append(make_tag(f"unwired_{i}", RegisterKind.HOLDING, DataType.FLOAT32, None))
    return list(draw(st.permutations(tags))), max_gap


def _span(tags: list[Tag] | tuple[Tag, ...]) -> tuple[int, int]:
    return tags[0].register_span[0], tags[-1].register_span[1]


def _gaps(tags: list[Tag] | tuple[Tag, ...]) -> list[int]:
    """Unrequested addresses between neighbours (tags in address order)."""
    return [b.register_span[0] - a.register_span[1] - 1 for a, b in itertools.pairwise(tags)]


def _fits(kind: RegisterKind, tags: list[Tag] | tuple[Tag, ...], max_gap: int) -> bool:
    first, last = _span(tags)
    return last - first + 1 <= kind.max_read_count and all(g <= max_gap for g in _gaps(tags))


def _by_kind(tags: list[Tag]) -> dict[RegisterKind, list[Tag]]:
    polled = sorted((t for t in tags if t.polled), key=lambda t: t.register_span)
    return {kind: [t for t in polled if t.register_kind is kind] for kind in RegisterKind}


def _check_valid(tags: list[Tag], max_gap: int, plan: ReadPlan) -> None:
    polled = [t for t in tags if t.polled]
    covered = [t for r in plan.requests for t in r.tags]
    assert sorted(t.key for t in covered) == sorted(t.key for t in polled)  # each exactly once
    assert plan.tag_count == len(polled)
    assert plan.request_count == len(plan.requests)
    for r in plan.requests:
        assert r.tags, r
        assert all(t.register_kind is r.kind for t in r.tags)
        assert list(r.tags) == sorted(r.tags, key=lambda t: t.register_span)
        # The request reads exactly from its first tag to its last, within the limit.
        assert _span(r.tags) == (r.start, r.start + r.count - 1)
        assert 1 <= r.count <= r.kind.max_read_count
        assert all(g <= max_gap for g in _gaps(r.tags)), (r, _gaps(r.tags))
        for t in r.tags:
            assert r.offset(t) == t.register_span[0] - r.start
        # No other tag of this table lies inside the range: it would be read twice.
        inside = [
            t
            for t in polled
            if t.register_kind is r.kind and r.start <= t.register_span[0] < r.start + r.count
        ]
        assert len(inside) == len(r.tags)
    for a, b in itertools.pairwise(plan.requests):
        if a.kind is b.kind:
            assert b.start > a.start + a.count - 1
            assert not _fits(a.kind, a.tags + b.tags, max_gap), f"{a} and {b} could be one read"


def _optimum_by_splits(tags: list[Tag], max_gap: int) -> int:
    """Fewest requests, trying every split of each table's tags into runs (O(n²) DP)."""
    total = 0
    for kind, ordered in _by_kind(tags).items():
        best = [0] + [len(ordered) + 1] * len(ordered)  # best[i]: first i tags planned
        for j in range(1, len(ordered) + 1):
            for i in range(j):
                if _fits(kind, ordered[i:j], max_gap):
                    best[j] = min(best[j], best[i] + 1)
        total += best[-1]
    return total


def _optimum_by_subsets(tags: list[Tag], max_gap: int) -> int:
    """Fewest requests over every partition of each table's tags into arbitrary
    groups, not only runs in address order. A group is one read from its lowest to its
    highest address; what counts as a gap is any run of addresses that no tag of the
    table maps (the most lenient reading), so this is a true lower bound."""
    return sum(_fewest_groups(kind, ts, max_gap) for kind, ts in _by_kind(tags).items())


def _fewest_groups(kind: RegisterKind, tags: list[Tag], max_gap: int) -> int:
    mapped = {a for t in tags for a in range(t.register_span[0], t.register_span[1] + 1)}

    def feasible(group: tuple[int, ...]) -> bool:
        first = min(tags[i].register_span[0] for i in group)
        last = max(tags[i].register_span[1] for i in group)
        if last - first + 1 > kind.max_read_count:
            return False
        run = 0
        for a in range(first, last + 1):
            run = 0 if a in mapped else run + 1
            if run > max_gap:
                return False
        return True

    @functools.cache
    def fewest(remaining: frozenset[int]) -> int:
        if not remaining:
            return 0
        # The lowest remaining tag is in some group: try every group it can head.
        lowest, *others = sorted(remaining)
        return min(
            1 + fewest(remaining - {lowest, *extra})
            for size in range(len(others) + 1)
            for extra in itertools.combinations(others, size)
            if feasible((lowest, *extra))
        )

    return fewest(frozenset(range(len(tags))))


# --- properties ---------------------------------------------------------------------


@quick
@given(plan_inputs(max_per_kind=40))
def test_plan_is_valid_and_minimal(inputs: tuple[list[Tag], int]) -> None:
    tags, max_gap = inputs
    plan = plan_reads(tags, max_gap)
    _check_valid(tags, max_gap, plan)
    assert plan.request_count == _optimum_by_splits(tags, max_gap)


@quick
@given(plan_inputs(max_per_kind=5))
def test_plan_matches_exhaustive_optimum_on_small_sets(inputs: tuple[list[Tag], int]) -> None:
    tags, max_gap = inputs
    plan = plan_reads(tags, max_gap)
    _check_valid(tags, max_gap, plan)
    assert plan.request_count == _optimum_by_subsets(tags, max_gap)


@settings(max_examples=50, deadline=None)
@given(plan_inputs(max_per_kind=20), st.randoms())
def test_plan_does_not_depend_on_tag_order(
    inputs: tuple[list[Tag], int], rnd: random.Random
) -> None:
    tags, max_gap = inputs
    shuffled = list(tags)
    rnd.shuffle(shuffled)
    assert plan_reads(shuffled, max_gap) == plan_reads(tags, max_gap)


# --- examples -----------------------------------------------------------------------


def test_gap_zero_reads_only_adjacent_tags_together() -> None:
    a = make_tag("a", RegisterKind.HOLDING, DataType.FLOAT32, 10)  # 10-11
    b = make_tag("b", RegisterKind.HOLDING, DataType.INT16, 12)  # adjacent
    c = make_tag("c", RegisterKind.HOLDING, DataType.UINT16, 14)  # one unmapped register
    plan = plan_reads([c, b, a], max_gap=0)
    assert [(r.start, r.count, r.tags) for r in plan.requests] == [(10, 3, (a, b)), (14, 1, (c,))]
    assert plan_reads([a, b, c], max_gap=1).request_count == 1


def test_limit_splits_a_contiguous_block() -> None:
    # 63 float32 back to back are 126 registers: one more than a read may hold.
    tags = [make_tag(f"f{i}", RegisterKind.INPUT, DataType.FLOAT32, 2 * i) for i in range(63)]
    plan = plan_reads(tags, max_gap=0)
    assert [(r.start, r.count) for r in plan.requests] == [(0, 124), (124, 2)]
    coils = [make_tag(f"c{i}", RegisterKind.COIL, DataType.BOOL, i) for i in range(2001)]
    assert [(r.start, r.count) for r in plan_reads(coils, 0).requests] == [(0, 2000), (2000, 1)]


def test_tables_are_planned_apart_in_table_order() -> None:
    tags = [
        make_tag("di", RegisterKind.DISCRETE_INPUT, DataType.BOOL, 5),
        make_tag("coil", RegisterKind.COIL, DataType.BOOL, 5),
        make_tag("input", RegisterKind.INPUT, DataType.FLOAT32, 5),
        make_tag("holding", RegisterKind.HOLDING, DataType.FLOAT32, 5),
    ]
    plan = plan_reads(tags, max_gap=16)
    assert [r.kind for r in plan.requests] == list(RegisterKind)
    assert all(r.start == 5 for r in plan.requests)


def test_unwired_tags_are_skipped_and_empty_input_gives_an_empty_plan() -> None:
    unwired = make_tag("u", RegisterKind.HOLDING, DataType.FLOAT32, None)
    assert plan_reads([unwired], 16) == ReadPlan(())
    assert plan_reads([], 0).request_count == 0
    assert plan_reads([], 0).tag_count == 0


def test_offset_refuses_a_tag_the_request_does_not_read() -> None:
    a = make_tag("a", RegisterKind.HOLDING, DataType.FLOAT32, 10)
    (request,) = plan_reads([a], 0).requests
    assert request.offset(a) == 0
    for stranger in (
        make_tag("b", RegisterKind.HOLDING, DataType.FLOAT32, 11),  # runs past the end
        make_tag("c", RegisterKind.INPUT, DataType.FLOAT32, 10),  # another table
        make_tag("d", RegisterKind.HOLDING, DataType.FLOAT32, None),
    ):
        with pytest.raises(ValueError, match=f"tag {stranger.key} is not read by holding read"):
            request.offset(stranger)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((DataType.FLOAT32, 10), (DataType.INT16, 11)),
        ((DataType.INT32, 10), (DataType.FLOAT32, 10)),
        ((DataType.UINT16, 10), (DataType.UINT16, 10)),
    ],
)
def test_overlapping_tags_are_refused_by_name(
    first: tuple[DataType, int], second: tuple[DataType, int]
) -> None:
    a = make_tag("a", RegisterKind.HOLDING, *first)
    b = make_tag("b", RegisterKind.HOLDING, *second)
    for order in ([a, b], [b, a]):
        with pytest.raises(ValueError, match="overlap at holding address") as error:
            plan_reads(order, max_gap=16)
        assert "t.a" in str(error.value)
        assert "t.b" in str(error.value)


def test_same_address_in_different_tables_is_fine() -> None:
    tags = [
        make_tag("a", RegisterKind.HOLDING, DataType.FLOAT32, 10),
        make_tag("b", RegisterKind.INPUT, DataType.FLOAT32, 10),
    ]
    assert plan_reads(tags, 0).request_count == 2


def test_negative_max_gap_is_refused() -> None:
    with pytest.raises(ValueError, match="max_gap must be 0 or more, got -1"):
        plan_reads([], max_gap=-1)


# --- the reference reactor ----------------------------------------------------------

# Its tag map, condensed (the test must not read /work/shared): registers are all read
# with FC3 at the even addresses 2000-2180, except where nothing is mapped.
REFERENCE_UNUSED_REGISTERS = {
    2004,
    2024,
    2044,
    2088,
    2090,
    2092,
    2094,
    2096,
    2120,
    2136,
    2156,
    2176,
}
REFERENCE_INT32 = {
    2002,
    2012,
    2022,
    2032,
    2042,
    2052,
    2108,
    2116,
    2128,
    2134,
    2142,
    2154,
    2162,
    2174,
}
REFERENCE_COILS = [*range(0, 12), *range(15, 31), 37]
REFERENCE_DISCRETE_INPUTS = [35, 36]
REFERENCE_UNWIRED = 27


def reference_tags() -> list[Tag]:
    tags = [
        make_tag(
            f"r{a}",
            RegisterKind.HOLDING,
            DataType.INT32 if a in REFERENCE_INT32 else DataType.FLOAT32,
            a,
        )
        for a in range(2000, 2181, 2)
        if a not in REFERENCE_UNUSED_REGISTERS
    ]
    tags += [make_tag(f"c{a}", RegisterKind.COIL, DataType.BOOL, a) for a in REFERENCE_COILS]
    tags += [
        make_tag(f"d{a}", RegisterKind.DISCRETE_INPUT, DataType.BOOL, a)
        for a in REFERENCE_DISCRETE_INPUTS
    ]
    tags += [
        make_tag(f"u{i}", RegisterKind.HOLDING, DataType.FLOAT32, None)
        for i in range(REFERENCE_UNWIRED)
    ]
    return tags


def test_reference_reactor_is_read_in_four_requests() -> None:
    tags = reference_tags()
    plan = plan_reads(tags, max_gap=16)
    _check_valid(tags, 16, plan)
    assert [r.kind for r in plan.requests] == [
        RegisterKind.HOLDING,
        RegisterKind.HOLDING,
        RegisterKind.COIL,
        RegisterKind.DISCRETE_INPUT,
    ]
    assert plan.tag_count == 79 + 29 + 2
    # 2000-2181 is 182 registers: more than one read may hold.
    assert sum(r.count for r in plan.requests[:2]) == 182


@pytest.mark.parametrize(
    ("max_gap", "requests"),
    [
        (0, 9 + 3 + 1),  # every unused register pair splits; coils in three runs
        (2, 2 + 3 + 1),  # only the ten unused registers 2088-2097 remain a gap
        (5, 2 + 2 + 1),  # coils 12-14 joined, 31-36 not
        (6, 2 + 1 + 1),
        (124, 2 + 1 + 1),
    ],
)
def test_reference_reactor_request_count_by_gap(max_gap: int, requests: int) -> None:
    tags = reference_tags()
    plan = plan_reads(tags, max_gap)
    _check_valid(tags, max_gap, plan)
    assert plan.request_count == requests
