"""The sandbox test clock's offset (domain.tenancy.advanced_clock_offset)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import ErrorCode, InvalidInput
from domain.tenancy import MAX_CLOCK_OFFSET, advanced_clock_offset

TEN_YEARS = MAX_CLOCK_OFFSET.total_seconds()


def test_the_clock_moves_forward_up_to_ten_years_in_total() -> None:
    assert advanced_clock_offset(timedelta(0), 60) == timedelta(seconds=60)
    assert advanced_clock_offset(timedelta(0), TEN_YEARS) == MAX_CLOCK_OFFSET
    assert advanced_clock_offset(MAX_CLOCK_OFFSET - timedelta(days=1), 86400) == MAX_CLOCK_OFFSET


@pytest.mark.parametrize(("current", "by"), [
    (timedelta(0), 0), (timedelta(0), -1), (timedelta(0), float("nan")), (timedelta(0), float("inf")),
    (timedelta(0), TEN_YEARS + 1), (MAX_CLOCK_OFFSET, 1), (MAX_CLOCK_OFFSET - timedelta(days=1), 86401),
    (timedelta(days=795 * 3660), TEN_YEARS),  # where 796 steps of ten years used to overflow `now`
])
def test_anything_else_is_invalid_input_on_seconds(current: timedelta, by: float) -> None:
    with pytest.raises(InvalidInput) as raised:
        advanced_clock_offset(current, by)
    assert (raised.value.code, raised.value.field) == (ErrorCode.INVALID_INPUT, "seconds")
    assert "ten years" in raised.value.message
