"""The shared input checks of ``quarantine.storage._common``."""

from __future__ import annotations

import pytest

from quarantine.errors import InputError
from quarantine.storage._common import check_region, check_whole


@pytest.mark.parametrize("good", ["310000", "320506", "000000"])
def test_a_region_is_six_ascii_digits(good: str) -> None:
    assert check_region(good) == good


@pytest.mark.parametrize("bad", ["３１００００", "310000\n", "31000", "3100000", "31000x", ""])
def test_other_region_texts_are_refused(bad: str) -> None:
    with pytest.raises(InputError) as raised:
        check_region(bad)
    assert raised.value.code == "BAD_REGION"


@pytest.mark.parametrize(("value", "expected"), [("1", 1), (" 20 ", 20), (50, 50), ("0007", 7)])
def test_whole_numbers_in_range(value: str | int, expected: int) -> None:
    assert check_whole(value, 1, 50, "BAD_PAGE", "页码", "the page") == expected


@pytest.mark.parametrize("value", ["0", "51", "-1", "1.5", "１", "", "9" * 5000, -3])
def test_other_numbers_are_refused_with_the_code(value: str | int) -> None:
    with pytest.raises(InputError) as raised:
        check_whole(value, 1, 50, "BAD_PAGE", "页码", "the page")
    assert raised.value.code == "BAD_PAGE"
    assert "1" in raised.value.message_en and "50" in raised.value.message_en
