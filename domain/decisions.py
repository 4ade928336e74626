"""The accountability record: every state change is a Decision, hash-chained per tenant.

`chain_hash` is the single definition of what a decision's hash covers; writers and verifiers both
use it, so a verifier recomputing from stored rows gets the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import orjson

GENESIS_HASH = bytes(32)
AUTOMATED = "automated"


@dataclass(frozen=True, slots=True)
class RuleRecord:
    """A rule that fired, with the inputs it saw: enough to answer "why" later."""

    rule_id: str
    passed: bool
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "passed": self.passed, "inputs": json_value(dict(self.inputs))}


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str = ""

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True, slots=True)
class DecisionDraft:
    """What a use case decides; the log adds id, sequence, time, trace and hashes."""

    subject_type: str
    subject_id: UUID
    kind: str
    outcome: str
    actor: str
    automated: bool
    policy_version: int | None = None
    case_id: UUID | None = None
    rules: Sequence[RuleRecord] = ()
    reasons: Sequence[Reason] = ()
    reason_text: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    tenant_id: UUID
    seq: int
    id: UUID
    subject_type: str
    subject_id: UUID
    case_id: UUID | None
    kind: str
    outcome: str
    actor: str
    automated: bool
    policy_version: int | None
    rules: Sequence[Mapping[str, Any]]
    reasons: Sequence[Mapping[str, str]]
    reason_text: str
    trace_id: str | None
    span_id: str | None
    decided_at: datetime
    prev_hash: bytes
    hash: bytes


_PLAIN = frozenset({str, int, float, bool})


def json_value(value: Any) -> Any:
    """Plain JSON data (so what is hashed is exactly what the database stores and returns)."""
    if value is None or type(value) in _PLAIN:  # the common case first: rule inputs are mostly scalars
        return value
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((json_value(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def hashed_fields(d: Decision) -> dict[str, Any]:
    """Every field a decision's hash covers (everything but the hashes), as plain JSON values."""
    return {
        "tenant_id": str(d.tenant_id),
        "seq": d.seq,
        "id": str(d.id),
        "subject_type": d.subject_type,
        "subject_id": str(d.subject_id),
        "case_id": str(d.case_id) if d.case_id else None,
        "kind": d.kind,
        "outcome": d.outcome,
        "actor": d.actor,
        "automated": d.automated,
        "policy_version": d.policy_version,
        "rules": list(d.rules),
        "reasons": list(d.reasons),
        "reason_text": d.reason_text,
        "trace_id": d.trace_id,
        "span_id": d.span_id,
        "decided_at": d.decided_at.astimezone(UTC).isoformat(timespec="microseconds"),
    }


def canonical_content(d: Decision) -> bytes:
    """The bytes a decision's hash covers, in a stable encoding: the standard library's sorted, compact,
    UTF-8 JSON. orjson writes the same bytes for everything but floats (exponent spelling) and integers
    beyond 64 bits, ~8x faster, so it is used when neither can occur (tests/unit/test_audit_domain.py)."""
    fields = hashed_fields(d)
    if not _has_float((d.rules, d.reasons)):
        with contextlib.suppress(TypeError):  # an integer orjson cannot write
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return reference_encoding(fields)


def reference_encoding(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _has_float(value: Any) -> bool:
    # Only dicts, lists and tuples (and their subclasses) are walked: orjson refuses any other
    # container (TypeError), and then the reference encoding is used anyway. Exact type checks first:
    # nearly every node is a string, an int, a bool or None.
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is float or isinstance(item, float):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def chain_hash(prev_hash: bytes, d: Decision) -> bytes:
    return hashlib.sha256(prev_hash + canonical_content(d)).digest()


def first_break(decisions: Sequence[Decision], start_hash: bytes = GENESIS_HASH) -> Decision | None:
    """The first decision whose link or hash does not verify, or None when the chain holds."""
    prev = start_hash
    for d in decisions:
        if d.prev_hash != prev or chain_hash(prev, d) != d.hash:
            return d
        prev = d.hash
    return None
