"""Traceability (共建检疫追溯): the chain of records behind one consignment.

Records point at each other through their references: a transport
certificate names its producing-area pass and requirement letter, a re-issue
(换证) names the original, a project record names the certificates it rests
on.  :func:`collect` walks those links from one number through ports that the
storage adapter provides, and :func:`assemble` orders what it found into a
:class:`Trace`: the records by stage, the links between them, and every event
(status changes, scans, re-inspections, arrival) on one time line.

What belongs to "the consignment": from the starting record the walk goes
*upstream* (what it rests on) only through records reached upstream, and
*downstream* (what rests on it) only through records reached downstream.  So
the trace of a transport certificate holds its pass, letter, originals,
re-issues and project record, but not the other loads that share the same
pass or letter, nor the other material of the same project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from quarantine.core.model import Certificate, Kind

MAX_RECORDS: Final = 200


class Link(StrEnum):
    """How ``source`` is used by ``target``."""

    PRODUCING_AREA = "PRODUCING_AREA"  # a pass → the transport certificate
    REQUIREMENT = "REQUIREMENT"  # a requirement letter → the transport certificate
    REISSUE = "REISSUE"  # the original → its re-issue
    PROJECT = "PROJECT"  # a certificate → the project record resting on it


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    link: Link


@dataclass(frozen=True)
class Step:
    """One event on the time line of a record."""

    number: str
    at: datetime
    type: str  # ISSUED, SCAN, REINSPECTION, ARRIVAL, REVOKED, SUPERSEDED, …
    region: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Trace:
    start: str
    records: tuple[Certificate, ...]  # by stage, then time of issue
    edges: tuple[Edge, ...]
    steps: tuple[Step, ...]  # every record's events by time
    missing: tuple[str, ...] = ()  # referenced but not known here
    truncated: bool = False  # more than MAX_RECORDS were linked


_STAGE: Final = {Kind.PRODUCING_AREA: 0, Kind.REQUIREMENT: 1, Kind.TRANSPORT: 2, Kind.PROJECT: 3}


def edges_of(cert: Certificate) -> list[Edge]:
    """The links a record states itself (all pointing at it)."""
    me = str(cert.number)
    refs = cert.references
    out: list[Edge] = []
    if refs.producing_area_pass:
        out.append(Edge(refs.producing_area_pass, me, Link.PRODUCING_AREA))
    if refs.requirement_letter:
        out.append(Edge(refs.requirement_letter, me, Link.REQUIREMENT))
    if refs.original:
        out.append(Edge(refs.original, me, Link.REISSUE))
    out.extend(Edge(n, me, Link.PROJECT) for n in refs.certificates)
    return out


def collect(
    start: str,
    load: Callable[[set[str]], Mapping[str, Certificate]],
    referencing: Callable[[set[str]], Iterable[Certificate]],
    limit: int = MAX_RECORDS,
) -> tuple[dict[str, Certificate], set[str], bool]:
    """Records linked to ``start``: (by number, numbers not found, truncated).

    ``load(numbers)`` returns the known records among ``numbers``;
    ``referencing(numbers)`` the records whose references name any of them.
    """
    found: dict[str, Certificate] = {}
    missing: set[str] = set()
    up: set[str] = {start}  # reached upstream: their own references are followed
    frontier_up, frontier_down = {start}, {start}
    first = load({start})
    if start not in first:
        return {}, {start}, False
    found[start] = first[start]
    while frontier_up or frontier_down:
        # Upstream: what the frontier rests on.
        wanted = {
            e.source for n in frontier_up for e in edges_of(found[n]) if e.source not in found
        }
        wanted -= missing
        loaded = dict(load(wanted)) if wanted else {}
        missing |= wanted - loaded.keys()
        # Downstream: what rests on the frontier.
        referrers = [
            c
            for c in (referencing(frontier_down) if frontier_down else ())
            if str(c.number) not in found
        ]
        if len(found) + len(loaded) + len(referrers) > limit:
            return found, missing, True
        frontier_up = set(loaded) - up
        up |= frontier_up
        found.update(loaded)
        frontier_down = set()
        for cert in referrers:
            number = str(cert.number)
            if number not in found:
                found[number] = cert
                frontier_down.add(number)
    return found, missing, False


def assemble(
    start: str,
    records: Mapping[str, Certificate],
    steps: Iterable[Step],
    missing: Iterable[str] = (),
    truncated: bool = False,
) -> Trace:
    """Order the records and events into a :class:`Trace`."""
    ordered = sorted(records.values(), key=lambda c: (_STAGE[c.kind], c.issued_at, str(c.number)))
    edges = sorted(
        {e for c in ordered for e in edges_of(c) if e.source in records},
        key=lambda e: (e.source, e.target, e.link),
    )
    issued = [Step(str(c.number), c.issued_at, "ISSUED", c.number.region) for c in ordered]
    timeline = sorted(
        [*issued, *(s for s in steps if s.number in records)],
        key=lambda s: (s.at, s.number, s.type),
    )
    return Trace(
        start, tuple(ordered), tuple(edges), tuple(timeline), tuple(sorted(missing)), truncated
    )
