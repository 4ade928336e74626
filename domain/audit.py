"""Verifying the decision hash chain and explaining one decision (pure: no I/O).

`ChainVerifier` is fed the tenant's decisions in seq order, page by page, and stops at the first
break. What a break is, checked in this order for each row:

- sequence gap: the row's seq is not the one expected (a row was deleted, or seq rewritten);
- link broken: its prev_hash is not the previous row's hash (a row was deleted or re-linked);
- content changed: its stored hash is not `chain_hash(prev_hash, row)` (a field was edited).

At the end the chain head (the tenant's last seq and hash, kept apart from the rows) must match the
last row: a missing tail is a sequence gap, a rewritten last row a broken link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.decisions import AUTOMATED, GENESIS_HASH, Decision, chain_hash


class BreakReason(StrEnum):
    CONTENT_CHANGED = "content_changed"
    LINK_BROKEN = "link_broken"
    SEQUENCE_GAP = "sequence_gap"


@dataclass(frozen=True, slots=True)
class ChainBreak:
    seq: int  # where the chain breaks: the changed row, or the first missing seq
    reason: BreakReason
    decision_id: UUID | None  # the row at (or, for a gap, just after) the break; None when the tail is missing
    found_seq: int | None  # the seq of that row
    expected_hash: bytes  # content: recomputed hash; link and gap: the hash the row should link to
    stored_hash: bytes | None  # content: the stored hash; link and gap: the stored prev_hash
    beyond_head: bool = False  # a row past the chain head: written outside the decision log

    def describe(self) -> str:
        if self.beyond_head:
            return (f"decision seq {self.seq} lies beyond the chain head (seq {self.seq - 1}):"
                    " it was not appended through the decision log")
        if self.reason is BreakReason.CONTENT_CHANGED:
            return (f"decision seq {self.seq} was changed: its content hashes to {self.expected_hash.hex()},"
                    f" the stored hash is {(self.stored_hash or b'').hex()}")
        if self.reason is BreakReason.LINK_BROKEN:
            return (f"decision seq {self.seq} does not link to its predecessor: expected prev_hash"
                    f" {self.expected_hash.hex()}, stored {(self.stored_hash or b'').hex()}")
        if self.found_seq is None:
            return f"decisions from seq {self.seq} to the chain head are missing"
        return f"decision seq {self.seq} is missing (the next row is seq {self.found_seq})"


class ChainVerifier:
    """Incremental: feed pages in seq order; `broken` holds the first break once found."""

    def __init__(self, start_seq: int = 0, start_hash: bytes = GENESIS_HASH) -> None:
        self.last_seq = start_seq
        self.last_hash = start_hash
        self.checked = 0
        self.broken: ChainBreak | None = None

    def feed(self, decisions: Iterable[Decision]) -> ChainBreak | None:
        if self.broken is not None:
            return self.broken
        for d in decisions:
            expected_seq = self.last_seq + 1
            if d.seq != expected_seq:
                self.broken = ChainBreak(expected_seq, BreakReason.SEQUENCE_GAP, d.id, d.seq, self.last_hash,
                                         d.prev_hash)
            elif d.prev_hash != self.last_hash:
                self.broken = ChainBreak(d.seq, BreakReason.LINK_BROKEN, d.id, d.seq, self.last_hash, d.prev_hash)
            else:
                recomputed = chain_hash(d.prev_hash, d)
                if recomputed != d.hash:
                    self.broken = ChainBreak(d.seq, BreakReason.CONTENT_CHANGED, d.id, d.seq, recomputed, d.hash)
            if self.broken is not None:
                return self.broken
            self.checked += 1
            self.last_seq, self.last_hash = d.seq, d.hash
        return None

    def finish(self, head_seq: int, head_hash: bytes, beyond: int | None = None) -> ChainBreak | None:
        """Compare with the chain head: rows must reach it, end with its hash, and none lie past it
        (`beyond`: the first seq stored after the head, read in the same snapshot as the head)."""
        if self.broken is not None:
            return self.broken
        if self.last_seq > head_seq or beyond is not None:
            at = head_seq + 1 if self.last_seq > head_seq else beyond
            assert at is not None
            self.broken = ChainBreak(at, BreakReason.LINK_BROKEN, None, at, head_hash, None, beyond_head=True)
        elif self.last_seq < head_seq:
            self.broken = ChainBreak(self.last_seq + 1, BreakReason.SEQUENCE_GAP, None, None, self.last_hash, None)
        elif self.last_seq == head_seq and head_seq > 0 and self.last_hash != head_hash:
            self.broken = ChainBreak(head_seq, BreakReason.LINK_BROKEN, None, head_seq, head_hash, self.last_hash)
        return self.broken


# ----- explanation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkProof:
    """Whether one decision verifies: its content against its hash, its prev_hash against its predecessor."""

    seq: int
    hash: bytes
    prev_hash: bytes
    predecessor_seq: int | None  # None for the first decision (linked to the genesis hash)
    predecessor_hash: bytes | None  # the predecessor's stored hash; None when it is missing
    content_verifies: bool
    link_verifies: bool

    @property
    def verifies(self) -> bool:
        return self.content_verifies and self.link_verifies


def link_proof(d: Decision, predecessor: Decision | None) -> LinkProof:
    """`predecessor` is the decision at seq - 1 as stored (None when seq is 1 or the row is gone)."""
    if d.seq <= 1:
        expected_prev: bytes | None = GENESIS_HASH
        pred_seq = None
    else:
        pred_seq = d.seq - 1
        expected_prev = predecessor.hash if predecessor is not None and predecessor.seq == pred_seq else None
    return LinkProof(
        seq=d.seq, hash=d.hash, prev_hash=d.prev_hash, predecessor_seq=pred_seq,
        predecessor_hash=expected_prev if pred_seq is not None else None,
        content_verifies=chain_hash(d.prev_hash, d) == d.hash,
        link_verifies=expected_prev is not None and d.prev_hash == expected_prev,
    )


def actor_kind(actor: str) -> str:
    """`automated`, `apikey`, `operator` (or the prefix before ':')."""
    if actor == AUTOMATED or actor.startswith(f"{AUTOMATED}:"):
        return AUTOMATED
    return actor.split(":", 1)[0]


def automated_rule(actor: str) -> str | None:
    """For `automated:<rule id>` actors, the rule id."""
    prefix = f"{AUTOMATED}:"
    return actor[len(prefix):] if actor.startswith(prefix) else None


def _rule_summary(rule: Mapping[str, Any]) -> str:
    inputs = rule.get("inputs") or {}
    shown = ", ".join(f"{k}={inputs[k]}" for k in sorted(inputs)[:4]) if isinstance(inputs, Mapping) else ""
    verdict = "passed" if rule.get("passed") else "failed"
    return f"{rule.get('rule_id')} {verdict}" + (f" ({shown})" if shown else "")


def summarize(d: Decision, regime: str | None, case_state: str | None) -> str:
    """One paragraph answering "why": who decided what, under which policy, on which rules and reasons."""
    who = (f"automatically by rule {automated_rule(d.actor) or d.actor}" if d.automated
           else f"by {d.actor}")
    policy = (f" under policy version {d.policy_version}" + (f" ({regime})" if regime else "")
              if d.policy_version is not None else "")
    parts = [f"{d.kind} -> {d.outcome}, decided {who}{policy} at {d.decided_at.isoformat()}."]
    if d.rules:
        parts.append("Rules: " + "; ".join(_rule_summary(r) for r in d.rules) + ".")
    if d.reasons:
        parts.append("Reasons: " + "; ".join(
            f"{r.get('code')}" + (f" - {r.get('text')}" if r.get("text") else "") for r in d.reasons) + ".")
    if d.reason_text:
        parts.append(d.reason_text.rstrip(".") + ".")
    if case_state is not None:
        parts.append(f"The case is now {case_state}.")
    return " ".join(parts)
