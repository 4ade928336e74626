"""The statement text that stages several writes into one (infra/write_batch.py): pure string work."""

from __future__ import annotations

from infra.write_batch import WRITTEN, combine


def test_parts_are_renumbered_after_the_final_query_arguments() -> None:
    sql, args = combine(
        [("INSERT INTO a (x, y) VALUES ($1, $2)", ["x", "y"]), ("UPDATE b SET z = $1 WHERE id = $1", [7])],
        "SELECT seq FROM heads WHERE id = $1", "head")
    assert sql == ("WITH w0 AS (INSERT INTO a (x, y) VALUES ($2, $3) RETURNING 1),"
                   " w1 AS (UPDATE b SET z = $4 WHERE id = $4 RETURNING 1) SELECT seq FROM heads WHERE id = $1")
    assert args == ["head", "x", "y", 7]


def test_two_digit_placeholders_are_renumbered_whole() -> None:
    part = "INSERT INTO t VALUES (" + ", ".join(f"${n}" for n in range(1, 13)) + ")"
    sql, args = combine([(part, list(range(12)))], "SELECT 1", "a", "b")
    assert "($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)" in sql
    assert args == ["a", "b", *range(12)]


def test_a_final_query_can_wait_for_the_staged_writes() -> None:
    """The chain-head lock is taken by a query that reads every staged write first (so they run first)."""
    sql, _ = combine([("INSERT INTO a VALUES ($1)", [1]), ("INSERT INTO b VALUES ($1)", [2])],
                     f"INSERT INTO heads SELECT $1 WHERE {WRITTEN}", "h")
    assert sql.endswith("INSERT INTO heads SELECT $1 WHERE (SELECT count(*) FROM w0) >= 0"
                        " AND (SELECT count(*) FROM w1) >= 0")
