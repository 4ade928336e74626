"""The statement text that stages several writes into one (infra/write_batch.py): pure string work."""

from __future__ import annotations

from infra.write_batch import combine


def test_parts_are_renumbered_after_the_final_query_arguments() -> None:
    sql, args = combine(
        [("INSERT INTO a (x, y) VALUES ($1, $2)", ["x", "y"]), ("UPDATE b SET z = $1 WHERE id = $1", [7])],
        "SELECT seq FROM heads WHERE id = $1", "head")
    assert sql == ("WITH w0 AS (INSERT INTO a (x, y) VALUES ($2, $3)), w1 AS (UPDATE b SET z = $4 WHERE id = $4)"
                   " SELECT seq FROM heads WHERE id = $1")
    assert args == ["head", "x", "y", 7]


def test_two_digit_placeholders_are_renumbered_whole() -> None:
    part = "INSERT INTO t VALUES (" + ", ".join(f"${n}" for n in range(1, 13)) + ")"
    sql, args = combine([(part, list(range(12)))], "SELECT 1", "a", "b")
    assert "($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)" in sql
    assert args == ["a", "b", *range(12)]
