"""Phone numbers in one normal form."""

from __future__ import annotations

import pytest

from telephony.phone import normal_number, normal_or_none


@pytest.mark.parametrize("raw", ["+423 777 0025", "+4237770025", "+423-777-0025",
                                 "(+423) 777.0025", "00423 777 0025", " +423/7770025 "])
def test_one_caller_however_written(raw: str) -> None:
    assert normal_number(raw) == "+4237770025"


def test_what_is_not_a_number_is_kept() -> None:
    assert normal_number("Anonymous") == "Anonymous"
    assert normal_number("1001") == "1001"
    assert normal_number("112") == "112"
    assert normal_or_none(None) is None
