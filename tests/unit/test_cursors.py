"""Cursor decoding (api.pagination): anything a client could send is a value or "Malformed cursor."."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from api.pagination import (
    cursor_instant,
    cursor_int,
    cursor_uuid,
    decode_cursor,
    decode_parts_cursor,
    decode_seq_cursor,
    encode_cursor,
    encode_parts_cursor,
    encode_seq_cursor,
)
from domain.errors import ErrorCode, InvalidInput


def _malformed(call: Callable[[], Any]) -> None:
    with pytest.raises(InvalidInput) as raised:
        call()
    assert (raised.value.code, raised.value.field, raised.value.message) == (
        ErrorCode.INVALID_INPUT, "after", "Malformed cursor.")


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_cursors_round_trip() -> None:
    uid = uuid4()
    assert decode_cursor(encode_cursor(uid)) == uid
    assert decode_seq_cursor(encode_seq_cursor(10**18 - 1)) == 10**18 - 1
    at = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    priority, due, cid = decode_parts_cursor(encode_parts_cursor([1, at.isoformat(), str(uid)]), 3)
    assert (cursor_int(priority, 0, 1), cursor_instant(due), cursor_uuid(cid)) == (1, at, uid)
    assert decode_cursor(None) is None and decode_seq_cursor(None) is None


@pytest.mark.parametrize("cursor", ["²", "٣", "", "-1", "+1", " 1", "1\n", "1.0", "1" * 19, "99999999999999999999"])
def test_sequence_cursors_are_ascii_digits_that_fit_a_bigint(cursor: str) -> None:
    _malformed(lambda: decode_seq_cursor(cursor))


@pytest.mark.parametrize("cursor", ["²", "!!!!", _raw("k:short"), encode_parts_cursor([1])])
def test_id_cursors_must_be_an_id_cursor(cursor: str) -> None:
    _malformed(lambda: decode_cursor(cursor))


@pytest.mark.parametrize("cursor", ["²", _raw("not json"), _raw('{"a": 1}'), _raw("[1, 2]"), _raw("[1, 2, 3, 4]"),
                                    base64.urlsafe_b64encode(b"\xff\xfe[]").decode()])
def test_parts_cursors_must_be_a_json_array_of_the_right_length(cursor: str) -> None:
    _malformed(lambda: decode_parts_cursor(cursor, 3))


@pytest.mark.parametrize("part", [10**30, 2**40, 1e30, 1.5, True, "1", None, [1], -32768, 32768])
def test_integer_parts_must_be_integers_within_the_column(part: Any) -> None:
    _malformed(lambda: cursor_int(part, -32767, 32767))


@pytest.mark.parametrize("part", [
    "9999-12-31T23:00:00-05:00", "0001-01-01T01:00:00+14:00", "2026-01-01T00:00:00", "2101-01-01T00:00:00+00:00",
    "1999-12-31T23:59:59+00:00", "yesterday", 1700000000, None,
])
def test_instant_parts_must_be_timezone_aware_and_in_range(part: Any) -> None:
    _malformed(lambda: cursor_instant(part))


@pytest.mark.parametrize("part", [7, None, "not-a-uuid", ["x"], str(uuid4())[:-1]])
def test_uuid_parts_must_be_uuid_strings(part: Any) -> None:
    _malformed(lambda: cursor_uuid(part))


def test_parts_at_the_edges_are_accepted() -> None:
    assert cursor_instant("2100-12-31T23:59:59+00:00") == datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert cursor_instant("2000-01-01T13:00:00+13:00") == datetime(2000, 1, 1, tzinfo=UTC)
    assert cursor_int(-32767, -32767, 32767) == -32767
    assert cursor_uuid(str(UUID(int=0))) == UUID(int=0)
