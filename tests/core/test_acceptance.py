"""Greening-project acceptance: batches → decision → PROJECT certificate document."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from quarantine.core.acceptance import (
    MAX_BATCHES,
    PROBLEMS,
    Batch,
    DecisionState,
    MaterialCheck,
    ProjectCase,
    Reinspection,
    decide,
    project_document,
)
from quarantine.core.document import from_document
from quarantine.core.model import Certificate, CertificateNumber, LineItem
from quarantine.core.validate import validate
from quarantine.reference import region_table
from tests.conftest import cst

NOW = cst("2026-12-10T15:00")


def batch(
    cert: Certificate,
    serial: int,
    *,
    accepted: bool = True,
    passed: bool | None = True,
    items: tuple[LineItem, ...] | None = None,
) -> Batch:
    number = CertificateNumber("340104", 2026, serial)
    c = replace(cert, number=number, items=items if items is not None else cert.items)
    check = MaterialCheck(str(number), NOW, accepted, () if accepted else ("EXPIRED",))
    result = (
        None
        if passed is None
        else Reinspection(NOW, passed, "沪林检0115", "" if passed else "发现介壳虫")
    )
    return Batch(c, check, result)


@pytest.fixture
def project(reference_cert: Certificate) -> ProjectCase:
    return ProjectCase(
        "浦东新区川沙绿地改造工程",
        "310115",
        "上海浦东园林建设有限公司",
        "川沙新镇华夏东路以南地块",
        (batch(reference_cert, 1), batch(reference_cert, 2)),
    )


def test_problem_words_in_both_languages() -> None:
    assert all(zh and en for zh, en in PROBLEMS.values())


def test_every_batch_passed_is_ready(project: ProjectCase) -> None:
    decision = decide(project)
    assert decision.ready and decision.problems == ()


@pytest.mark.parametrize(
    ("second", "state", "codes"),
    [
        ({"passed": None}, DecisionState.PENDING, ["REINSPECTION_PENDING"]),
        ({"passed": False}, DecisionState.FAILED, ["REINSPECTION_FAILED"]),
        ({"accepted": False, "passed": None}, DecisionState.FAILED, ["MATERIAL_REFUSED"]),
        ({"accepted": False, "passed": True}, DecisionState.FAILED, ["MATERIAL_REFUSED"]),
    ],
)
def test_one_bad_batch_names_itself(
    project: ProjectCase,
    reference_cert: Certificate,
    second: dict[str, bool | None],
    state: DecisionState,
    codes: list[str],
) -> None:
    bad = batch(reference_cert, 2, **second)  # type: ignore[arg-type]
    decision = decide(replace(project, batches=(project.batches[0], bad)))
    assert decision.state is state
    assert [p.code for p in decision.problems] == codes
    assert {p.number for p in decision.problems} == {"340104-2026-000002"}
    if codes == ["REINSPECTION_FAILED"]:
        assert decision.problems[0].detail == "发现介壳虫"
    if codes == ["MATERIAL_REFUSED"]:
        assert decision.problems[0].detail == "EXPIRED"


def test_failed_outranks_pending(project: ProjectCase, reference_cert: Certificate) -> None:
    batches = (batch(reference_cert, 1, passed=None), batch(reference_cert, 2, passed=False))
    decision = decide(replace(project, batches=batches))
    assert decision.state is DecisionState.FAILED
    assert [p.code for p in decision.problems] == ["REINSPECTION_FAILED", "REINSPECTION_PENDING"]


def test_no_batches_is_empty(project: ProjectCase) -> None:
    assert decide(replace(project, batches=())).state is DecisionState.EMPTY


def test_limits(project: ProjectCase, reference_cert: Certificate) -> None:
    many = tuple(batch(reference_cert, i) for i in range(1, MAX_BATCHES + 2))
    assert "TOO_MANY_BATCHES" in [p.code for p in decide(replace(project, batches=many)).problems]
    kinds = tuple(
        batch(reference_cert, i, items=(LineItem(f"品种{i}", Decimal(1), "株"),))
        for i in range(1, 12)
    )
    assert "TOO_MANY_PRODUCTS" in [p.code for p in decide(replace(project, batches=kinds)).problems]


def test_document_is_a_valid_project_certificate(project: ProjectCase) -> None:
    doc = project_document(
        project,
        agency={"region": "310115", "name": "上海市浦东新区林业站"},
        officer={"name": "刘洋", "number": "沪林检0115"},
        now=NOW,
        valid_to=date(2027, 12, 31),
    )
    doc["number"] = "310115-2026-000412"
    cert = from_document(doc)
    assert validate(cert, region_table()) == []
    assert cert.references.certificates == ("340104-2026-000001", "340104-2026-000002")
    # Same goods in both batches are added up line by line.
    assert [(i.product, i.quantity) for i in cert.items] == [
        ("香樟", Decimal(240)),
        ("桂花", Decimal(160)),
        ("红叶石楠", Decimal(6000)),
    ]
    assert cert.valid_from == date(2026, 12, 10)


def test_document_refused_unless_ready(project: ProjectCase, reference_cert: Certificate) -> None:
    pending = replace(project, batches=(batch(reference_cert, 1, passed=None),))
    with pytest.raises(ValueError, match="not ready"):
        project_document(pending, agency={}, officer={}, now=NOW, valid_to=date(2027, 1, 1))
