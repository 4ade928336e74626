"""Archive bundles: the immutable, content-addressed record of a closed case (pure: no I/O).

A bundle is one canonical JSON document (sorted keys, no insignificant whitespace, UTF-8) holding the
case, its notice, listing, right, parties (display data only), measures, declarations, action
proofs, any related records (disclosures, suspensions, appeals where those tables exist), every
decision about it with its hash-chain link, and an evidence manifest. Its SHA-256 is its name: the
object key is derived from the hash, so a bundle is written once and never overwritten, and anyone
holding the bytes can check them against the hash recorded in the database and in the archive
decision.

The content is a deterministic function of the stored rows (the archive time is not in it), so a
retried archive run produces the same bytes and the same key.

A case an appeal reopened after it was archived is archived again when it closes again: a new bundle
(`version` 2, 3, ...) holding its whole record, including the earlier `case.archive` decisions with
their bundles' hashes. Earlier bundles stay as the record up to their time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import orjson

from domain.decisions import Decision, chain_hash, hashed_fields

BUNDLE_FORMAT = "noticehub.archive-bundle/1"
BUNDLE_MEDIA_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class CaseMaterial:
    """Everything stored about one closed case, as plain JSON data read from the database."""

    case_id: UUID
    closed_at: datetime
    case: Mapping[str, Any]
    notice: Mapping[str, Any] | None
    listing: Mapping[str, Any] | None
    ip_right: Mapping[str, Any] | None
    parties: Sequence[Mapping[str, Any]] = ()
    measures: Sequence[Mapping[str, Any]] = ()
    declarations: Sequence[Mapping[str, Any]] = ()
    action_proofs: Sequence[Mapping[str, Any]] = ()
    related: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    decisions: Sequence[Mapping[str, Any]] = ()  # bundle entries: see `decision_entry`
    version: int = 1  # which bundle of the case this material becomes (not part of its content)


@dataclass(frozen=True, slots=True)
class Bundle:
    case_id: UUID
    data: bytes
    sha256: str
    first_decision_seq: int | None
    last_decision_seq: int | None
    decision_count: int
    evidence_count: int

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class BundleRecord:
    """A bundle as the database knows it."""

    id: UUID
    case_id: UUID
    sha256: str
    uri: str
    size: int
    format: str
    decision_id: UUID
    last_decision_seq: int
    policy_version: int
    closed_at: datetime
    retention_until: datetime
    created_at: datetime
    verified_at: datetime | None = None
    verified_ok: bool | None = None
    purged_at: datetime | None = None
    purge_decision_id: UUID | None = None
    object_deleted_at: datetime | None = None
    version: int = 1  # the case's first bundle; 2, 3, ... after an appeal reopened it and it closed again


class BundleProblem(StrEnum):
    MISSING = "missing"  # no object under the bundle's key
    HASH_MISMATCH = "hash_mismatch"  # the bytes no longer hash to the recorded SHA-256
    MALFORMED = "malformed"  # not a bundle of this format, or for another tenant or case
    LINK_INVALID = "link_invalid"  # a decision inside does not hash to its recorded hash
    DIVERGES_FROM_LOG = "diverges_from_log"  # a decision inside differs from (or is gone from) the decision log


_ORJSON_OPTS = orjson.OPT_SORT_KEYS


def _default(value: Any) -> Any:
    return str(value)


def canonical_json(value: Any) -> bytes:
    """The one encoding of a bundle: object keys sorted, no whitespace, UTF-8 (orjson; RFC 8259 JSON)."""
    return orjson.dumps(value, default=_default, option=_ORJSON_OPTS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundle_key(tenant_id: UUID, sha256: str) -> str:
    """Object key: the tenant (so a tenant's archive can be listed, scoped and exported) then the hash."""
    return f"{tenant_id}/{sha256[:2]}/{sha256}.json"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def decision_entry(d: Decision) -> dict[str, Any]:
    """A decision as it appears in a bundle: the fields its hash covers, plus the link (hex)."""
    return {**hashed_fields(d), "prev_hash": d.prev_hash.hex(), "hash": d.hash.hex()}


def decision_from_entry(e: Mapping[str, Any]) -> Decision:
    """Rebuild a decision from its bundle entry, so `chain_hash` (the one definition) can check it."""
    return Decision(
        tenant_id=UUID(e["tenant_id"]), seq=int(e["seq"]), id=UUID(e["id"]), subject_type=e["subject_type"],
        subject_id=UUID(e["subject_id"]), case_id=UUID(e["case_id"]) if e.get("case_id") else None,
        kind=e["kind"], outcome=e["outcome"], actor=e["actor"], automated=bool(e["automated"]),
        policy_version=e.get("policy_version"), rules=e.get("rules") or [], reasons=e.get("reasons") or [],
        reason_text=e.get("reason_text") or "", trace_id=e.get("trace_id"), span_id=e.get("span_id"),
        decided_at=datetime.fromisoformat(e["decided_at"]), prev_hash=bytes.fromhex(e["prev_hash"]),
        hash=bytes.fromhex(e["hash"]),
    )


def entry_verifies(e: Mapping[str, Any]) -> bool:
    d = decision_from_entry(e)
    return chain_hash(d.prev_hash, d) == d.hash


def evidence_manifest(m: CaseMaterial) -> list[dict[str, Any]]:
    """Every piece of evidence the case relied on, where it came from, and its declared SHA-256."""
    items: list[dict[str, Any]] = []

    def add(source: str, record: Mapping[str, Any] | None) -> None:
        if not record:
            return
        for n, ev in enumerate(record.get("evidence") or ()):
            if not isinstance(ev, Mapping):
                continue
            items.append({
                "source": source, "source_id": record.get("id"), "index": n, "kind": ev.get("kind"),
                "uri": ev.get("uri"), "sha256": ev.get("sha256"), "description": ev.get("description") or "",
            })

    add("notice", m.notice)
    for d in _by_id(m.declarations):
        add("declaration", d)
    for p in _by_id(m.action_proofs):
        add("action_proof", p)
    for table, rows in sorted(m.related.items()):
        for r in _by_id(rows):
            add(table, r)
    return items


def _by_id(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A stable order for a section: by id (whole-row encoding breaks ties, e.g. rows without an id)."""
    if len(rows) < 2:
        return list(rows)
    ids = [str(r.get("id")) for r in rows]
    if len(set(ids)) == len(ids):
        return [r for _, r in sorted(zip(ids, rows, strict=True), key=lambda x: x[0])]
    return sorted(rows, key=lambda r: (str(r.get("id")), canonical_json(r)))


def build_bundle(tenant_id: UUID, m: CaseMaterial) -> Bundle:
    entries = sorted(m.decisions, key=lambda e: int(e["seq"]))
    manifest = evidence_manifest(m)
    sections: dict[str, Any] = {
        "case": m.case,
        "notice": m.notice,
        "listing": m.listing,
        "ip_right": m.ip_right,
        "parties": _by_id(m.parties),
        "measures": _by_id(m.measures),
        "declarations": _by_id(m.declarations),
        "action_proofs": _by_id(m.action_proofs),
        "related": {k: _by_id(v) for k, v in sorted(m.related.items())},
        "decisions": entries,
        "evidence_manifest": manifest,
    }
    data = canonical_json({
        "format": BUNDLE_FORMAT,
        "tenant_id": str(tenant_id),
        "case_id": str(m.case_id),
        "closed_at": _iso(m.closed_at),
        "chain": {
            "first_seq": entries[0]["seq"] if entries else None,
            "last_seq": entries[-1]["seq"] if entries else None,
            "count": len(entries),
        },
        **sections,
    })
    return Bundle(
        case_id=m.case_id, data=data, sha256=sha256_hex(data),
        first_decision_seq=entries[0]["seq"] if entries else None,
        last_decision_seq=entries[-1]["seq"] if entries else None,
        decision_count=len(entries), evidence_count=len(manifest),
    )


@dataclass(frozen=True, slots=True)
class BundleCheck:
    problem: BundleProblem | None
    actual_sha256: str | None = None
    detail: str = ""
    decisions: Mapping[UUID, bytes] = field(default_factory=dict)  # decision id -> hash, for the log cross-check

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_bundle(tenant_id: UUID, record: BundleRecord, data: bytes | None) -> BundleCheck:
    """Check a bundle's bytes against its record: present, same hash, well-formed, every link valid."""
    if data is None:
        return BundleCheck(BundleProblem.MISSING, detail=f"no object at {record.uri}")
    actual = sha256_hex(data)
    if actual != record.sha256:
        return BundleCheck(BundleProblem.HASH_MISMATCH, actual,
                           f"content hashes to {actual}, recorded {record.sha256}")
    try:
        doc = orjson.loads(data)
        if (doc.get("format") != BUNDLE_FORMAT or doc.get("tenant_id") != str(tenant_id)
                or doc.get("case_id") != str(record.case_id)):
            return BundleCheck(BundleProblem.MALFORMED, actual, "format, tenant or case does not match the record")
        entries = doc.get("decisions") or []
        hashes: dict[UUID, bytes] = {}
        for e in entries:
            if not entry_verifies(e):
                return BundleCheck(BundleProblem.LINK_INVALID, actual,
                                   f"decision seq {e.get('seq')} does not hash to its recorded hash")
            hashes[UUID(e["id"])] = bytes.fromhex(e["hash"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return BundleCheck(BundleProblem.MALFORMED, actual, f"unreadable bundle: {exc}")
    return BundleCheck(None, actual, decisions=hashes)


def diverging_decision(bundled: Mapping[UUID, bytes], logged: Mapping[UUID, bytes]) -> UUID | None:
    """The first bundled decision whose hash differs from the log's (or that is gone from it)."""
    for decision_id, digest in bundled.items():
        if logged.get(decision_id) != digest:
            return decision_id
    return None


def add_years(at: datetime, years: int) -> datetime:
    """Calendar years later; 29 February becomes 28 February in a non-leap year."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:
        return at.replace(year=at.year + years, day=28)
