"""Traceability: which records belong to a consignment, in which order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import timedelta

import pytest

from quarantine.core.model import Certificate, CertificateNumber, Kind, References
from quarantine.core.trace import Edge, Link, Step, assemble, collect, edges_of
from tests.conftest import cst

T0 = cst("2026-03-01T09:00")


def rec(base: Certificate, number: str, kind: Kind, days: int, **refs: object) -> Certificate:
    n = CertificateNumber.parse(number)
    return replace(
        base,
        kind=kind,
        number=n,
        issued_at=T0 + timedelta(days=days),
        references=References(**refs),  # type: ignore[arg-type]
    )


@pytest.fixture
def world(reference_cert: Certificate) -> dict[str, Certificate]:
    c = reference_cert
    records = [
        rec(c, "340104-2026-000001", Kind.PRODUCING_AREA, 0),
        rec(c, "310000-2026-000031", Kind.REQUIREMENT, 1),
        rec(
            c,
            "340104-2026-000010",
            Kind.TRANSPORT,
            10,
            producing_area_pass="340104-2026-000001",
            requirement_letter="310000-2026-000031",
        ),
        rec(
            c,
            "340104-2026-000011",
            Kind.TRANSPORT,
            12,
            original="340104-2026-000010",
            producing_area_pass="340104-2026-000001",
            requirement_letter="310000-2026-000031",
        ),
        # Another load sharing the pass and letter: not this consignment.
        rec(
            c,
            "340104-2026-000020",
            Kind.TRANSPORT,
            11,
            producing_area_pass="340104-2026-000001",
            requirement_letter="310000-2026-000031",
        ),
        # Project resting on the re-issue and on the other load.
        rec(
            c,
            "310115-2026-000412",
            Kind.PROJECT,
            20,
            certificates=("340104-2026-000011", "340104-2026-000020", "330109-2026-009999"),
        ),
    ]
    return {str(r.number): r for r in records}


Ports = tuple[
    Callable[[set[str]], dict[str, Certificate]],
    Callable[[set[str]], Iterable[Certificate]],
    list[set[str]],
]


def ports(world: Mapping[str, Certificate]) -> Ports:
    calls: list[set[str]] = []

    def load(numbers: set[str]) -> dict[str, Certificate]:
        calls.append(set(numbers))
        return {n: world[n] for n in numbers if n in world}

    def referencing(numbers: set[str]) -> Iterable[Certificate]:
        return [c for c in world.values() if any(e.source in numbers for e in edges_of(c))]

    return load, referencing, calls


def test_edges_a_record_states(world: dict[str, Certificate]) -> None:
    assert edges_of(world["340104-2026-000011"]) == [
        Edge("340104-2026-000001", "340104-2026-000011", Link.PRODUCING_AREA),
        Edge("310000-2026-000031", "340104-2026-000011", Link.REQUIREMENT),
        Edge("340104-2026-000010", "340104-2026-000011", Link.REISSUE),
    ]
    assert len(edges_of(world["310115-2026-000412"])) == 3
    assert edges_of(world["340104-2026-000001"]) == []


def test_trace_of_a_transport_certificate(world: dict[str, Certificate]) -> None:
    load, referencing, _ = ports(world)
    found, missing, truncated = collect("340104-2026-000010", load, referencing)
    assert sorted(found) == [
        "310000-2026-000031",
        "310115-2026-000412",
        "340104-2026-000001",
        "340104-2026-000010",
        "340104-2026-000011",
    ]
    assert "340104-2026-000020" not in found  # the other load
    assert missing == set() and not truncated
    trace = assemble("340104-2026-000010", found, [])
    assert [r.kind for r in trace.records] == [
        Kind.PRODUCING_AREA,
        Kind.REQUIREMENT,
        Kind.TRANSPORT,
        Kind.TRANSPORT,
        Kind.PROJECT,
    ]
    links = {(e.source, e.target, e.link) for e in trace.edges}
    assert ("340104-2026-000010", "340104-2026-000011", Link.REISSUE) in links
    assert ("340104-2026-000011", "310115-2026-000412", Link.PROJECT) in links
    assert ("340104-2026-000001", "340104-2026-000010", Link.PRODUCING_AREA) in links
    # Links to records outside the trace are not drawn.
    assert all(e.source in found and e.target in found for e in trace.edges)


def test_trace_of_a_project_goes_upstream_only(world: dict[str, Certificate]) -> None:
    load, referencing, _ = ports(world)
    found, missing, _ = collect("310115-2026-000412", load, referencing)
    assert "340104-2026-000020" in found and "340104-2026-000011" in found
    assert "340104-2026-000010" in found  # the original of the re-issue
    assert missing == {"330109-2026-009999"}  # a record from a peer not synced here


def test_trace_of_a_pass_lists_every_load_it_covers(world: dict[str, Certificate]) -> None:
    load, referencing, _ = ports(world)
    found, _, _ = collect("340104-2026-000001", load, referencing)
    assert {"340104-2026-000010", "340104-2026-000020", "310115-2026-000412"} <= found.keys()
    assert "310000-2026-000031" not in found  # the letter is a sibling, not downstream


def test_unknown_start() -> None:
    load, referencing, _ = ports({})
    assert collect("340104-2026-000099", load, referencing) == ({}, {"340104-2026-000099"}, False)


def test_limit_truncates(world: dict[str, Certificate]) -> None:
    load, referencing, _ = ports(world)
    found, _, truncated = collect("340104-2026-000001", load, referencing, limit=2)
    assert truncated and len(found) <= 2


def test_missing_numbers_are_asked_for_once(world: dict[str, Certificate]) -> None:
    load, referencing, calls = ports(world)
    collect("310115-2026-000412", load, referencing)
    asked = [n for c in calls for n in c]
    assert asked.count("330109-2026-009999") == 1


def test_steps_form_one_time_line(world: dict[str, Certificate]) -> None:
    load, referencing, _ = ports(world)
    found, _, _ = collect("340104-2026-000010", load, referencing)
    steps = [
        Step("340104-2026-000011", T0 + timedelta(days=13), "SCAN", "320213"),
        Step("340104-2026-000010", T0 + timedelta(days=12, minutes=1), "SUPERSEDED", "340104"),
        Step("340104-2026-000011", T0 + timedelta(days=14), "ARRIVAL", "310115"),
        Step("340104-2026-000020", T0 + timedelta(days=13), "SCAN", "320213"),  # not ours
    ]
    trace = assemble("340104-2026-000010", found, steps)
    kinds = [(s.type, s.number[-2:]) for s in trace.steps]
    assert kinds == [
        ("ISSUED", "01"),
        ("ISSUED", "31"),
        ("ISSUED", "10"),
        ("ISSUED", "11"),
        ("SUPERSEDED", "10"),
        ("SCAN", "11"),
        ("ARRIVAL", "11"),
        ("ISSUED", "12"),
    ]
