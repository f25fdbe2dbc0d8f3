"""Field-level validation of certificates and their document form."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from quarantine.core.document import from_document, to_document
from quarantine.core.regions import RegionTable
from quarantine.core.validate import CertificateInvalid, id_number_ok, validate
from quarantine.reference import region_table


@pytest.fixture(scope="module")
def regions() -> RegionTable:
    return region_table()


def problems_of(doc: dict[str, Any], regions: RegionTable) -> set[tuple[str, str]]:
    try:
        cert = from_document(doc)
    except CertificateInvalid as exc:
        return {(p.field, p.code) for p in exc.problems}
    return {(p.field, p.code) for p in validate(cert, regions)}


def test_reference_is_valid(reference_doc: dict[str, Any], regions: RegionTable) -> None:
    assert problems_of(reference_doc, regions) == set()


def test_region_table_holds_the_four_provinces(regions: RegionTable) -> None:
    assert {"310000", "320000", "330000", "340000", "310115", "330109"} <= set(regions.divisions)
    assert regions.full_name("330109") == "浙江省杭州市萧山区"
    assert regions.full_name("310115") == "上海市浦东新区"
    shanghai_districts = [
        d for d in regions.divisions.values() if d.code.startswith("31") and d.level == "county"
    ]
    assert len(shanghai_districts) == 16


def edit(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    target: Any = out
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is _DELETE:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("consignor", _DELETE, ("consignor", "REQUIRED")),
        ("consignee.name", "", ("consignee.name", "REQUIRED")),
        ("officer.number", "", ("officer.number", "REQUIRED")),
        ("route.to", "999999", ("route.to", "UNKNOWN_REGION")),
        ("route.to", "110101", ("route.to", "UNKNOWN_REGION")),  # Beijing: not in the Delta table
        ("issuing_agency.region", "330110", ("number", "NUMBER_REGION_MISMATCH")),
        ("delegating_agency.region", "330100", ("delegating_agency.region", "NOT_A_PROVINCE")),
        ("valid_to", "2026-11-27", ("valid_to", "VALIDITY_REVERSED")),
        ("valid_to", "not a date", ("valid_to", "BAD_DATE")),
        ("items", [], ("items", "ITEM_COUNT")),
        ("items.0.quantity", 0, ("items[0].quantity", "QUANTITY_NOT_POSITIVE")),
        ("items.0.quantity", -3, ("items[0].quantity", "QUANTITY_NOT_POSITIVE")),
        ("items.0.quantity", "NaN", ("items[0].quantity", "QUANTITY_NOT_POSITIVE")),
        ("items.0.quantity", "abc", ("items[0].quantity", "BAD_QUANTITY")),
        ("items.0.quantity", 1.2345, ("items[0].quantity", "QUANTITY_OUT_OF_RANGE")),
        ("items.0.unit", "", ("items[0].unit", "REQUIRED")),
        ("conveyance.type", "火箭", ("conveyance.type", "UNKNOWN_CONVEYANCE")),
        (
            "references.requirement_letter",
            "31-2026-1",
            ("references.requirement_letter", "BAD_NUMBER"),
        ),
        ("references.original", "330109-2026-004871", ("references.original", "SELF_REFERENCE")),
        ("number", "330109-2026-0048", ("number", "BAD_NUMBER")),
        ("number", "330109-2025-004871", ("number", "NUMBER_YEAR_MISMATCH")),
        ("scope", "INTRA_PROVINCE", ("scope", "SCOPE_MISMATCH")),
        ("scope", "SIDEWAYS", ("scope", "UNKNOWN_SCOPE")),
        ("agent.id_number", "33018119861332345X", ("agent.id_number", "BAD_ID_NUMBER")),
        ("agent.phone", "call me", ("agent.phone", "BAD_PHONE")),
        ("consignor.name", "甲" * 61, ("consignor.name", "TOO_LONG")),
        ("consignor.name", "a\x07b", ("consignor.name", "CONTROL_CHARACTER")),
        ("issued_at", "2026-11-28T09:30:00", ("issued_at", "NAIVE_TIME")),
        ("items", "three trees", ("items", "WRONG_TYPE")),
    ],
)
def test_each_rule(
    reference_doc: dict[str, Any],
    regions: RegionTable,
    path: str,
    value: Any,
    expected: tuple[str, str],
) -> None:
    assert expected in problems_of(edit(reference_doc, path, value), regions)


def test_more_than_ten_items(reference_doc: dict[str, Any], regions: RegionTable) -> None:
    doc = edit(reference_doc, "items", reference_doc["items"] * 4)
    assert ("items", "ITEM_COUNT") in problems_of(doc, regions)


def test_unknown_kind_is_refused(reference_doc: dict[str, Any]) -> None:
    with pytest.raises(CertificateInvalid) as info:
        from_document(edit(reference_doc, "kind", "PASSPORT"))
    assert info.value.problems[0].code == "UNKNOWN_KIND"
    assert info.value.code == "CERTIFICATE_INVALID"


@pytest.mark.parametrize(
    ("kind", "missing"),
    [
        ("PRODUCING_AREA", ("producer", "REQUIRED")),
        ("REQUIREMENT", ("category", "REQUIRED")),
        ("PROJECT", ("project", "REQUIRED")),
    ],
)
def test_kind_specific_fields(
    reference_doc: dict[str, Any], regions: RegionTable, kind: str, missing: tuple[str, str]
) -> None:
    assert missing in problems_of(edit(reference_doc, "kind", kind), regions)


def test_every_problem_has_both_languages(
    reference_doc: dict[str, Any], regions: RegionTable
) -> None:
    doc = edit(edit(reference_doc, "consignor", _DELETE), "route.to", "999999")
    cert = from_document(doc)
    for problem in validate(cert, regions):
        assert problem.message_zh and problem.message_en


def test_id_number_shape() -> None:
    assert id_number_ok("330181198605123456")
    assert id_number_ok("11010519491231002X")
    assert not id_number_ok("330181198613123456")  # month 13
    assert not id_number_ok("3301811986051234")


def test_document_round_trip(reference_doc: dict[str, Any]) -> None:
    cert = from_document(reference_doc)
    doc = to_document(cert)
    assert doc["number"] == reference_doc["number"]
    assert doc["agent"] == {"name": "陈立明", "id_masked": "**************3456"}
    again = from_document({**doc, "agent": {"name": "陈立明"}})
    assert again.items == cert.items
