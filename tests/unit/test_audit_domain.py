"""Pure audit and archive logic: chain verification, link proofs, bundle building and checking."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.archive import (
    BundleProblem,
    BundleRecord,
    CaseMaterial,
    add_years,
    build_bundle,
    bundle_key,
    canonical_json,
    check_bundle,
    decision_entry,
    decision_from_entry,
    diverging_decision,
    entry_verifies,
    sha256_hex,
)
from domain.audit import BreakReason, ChainVerifier, actor_kind, automated_rule, link_proof, summarize
from domain.decisions import (
    GENESIS_HASH,
    Decision,
    canonical_content,
    chain_hash,
    hashed_fields,
    reference_encoding,
)

TENANT = UUID("01900000-0000-7000-8000-000000000001")
CASE = UUID("01900000-0000-7000-8000-0000000000c1")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _chain(n: int, case_id: UUID = CASE) -> list[Decision]:
    out: list[Decision] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        d = Decision(
            tenant_id=TENANT, seq=seq, id=uuid4(), subject_type="case", subject_id=case_id, case_id=case_id,
            kind="case.accept" if seq % 2 else "case.confirm", outcome="measures_requested",
            actor="apikey:1" if seq % 3 else "automated:notices.review_mode", automated=seq % 3 == 0,
            policy_version=1, rules=[{"rule_id": "notices.required_evidence.trademark", "passed": True,
                                      "inputs": {"given": ["registration_certificate"], "ratio": 0.5}}],
            reasons=[{"code": "ok", "text": "valid notice"}], reason_text="Accepted.", trace_id="a" * 32,
            span_id="b" * 16, decided_at=T0 + timedelta(minutes=seq), prev_hash=prev, hash=b"",
        )
        d = replace(d, hash=chain_hash(prev, d))
        out.append(d)
        prev = d.hash
    return out


def test_a_clean_chain_verifies_in_any_paging() -> None:
    chain = _chain(10)
    for size in (1, 3, 10):
        v = ChainVerifier()
        for i in range(0, 10, size):
            assert v.feed(chain[i:i + size]) is None
        assert v.finish(10, chain[-1].hash) is None and v.checked == 10


def test_content_change_link_and_gap_are_told_apart() -> None:
    chain = _chain(6)
    changed = [*chain[:3], replace(chain[3], reason_text="x"), *chain[4:]]
    brk = ChainVerifier().feed(changed)
    assert brk is not None and (brk.reason, brk.seq, brk.decision_id) == (BreakReason.CONTENT_CHANGED, 4, chain[3].id)
    assert brk.stored_hash == chain[3].hash and brk.expected_hash != chain[3].hash

    relinked = [*chain[:3], replace(chain[3], prev_hash=b"\x01" * 32), *chain[4:]]
    brk = ChainVerifier().feed(relinked)
    assert brk is not None and (brk.reason, brk.seq, brk.expected_hash) == (BreakReason.LINK_BROKEN, 4, chain[2].hash)

    gap = [*chain[:3], *chain[4:]]
    brk = ChainVerifier().feed(gap)
    assert brk is not None and (brk.reason, brk.seq, brk.found_seq) == (BreakReason.SEQUENCE_GAP, 4, 5)
    assert brk.decision_id == chain[4].id and "missing" in brk.describe()


def test_the_head_catches_a_missing_tail_and_a_rewritten_last_row() -> None:
    chain = _chain(5)
    v = ChainVerifier()
    v.feed(chain[:4])
    brk = v.finish(5, chain[-1].hash)
    assert brk is not None and (brk.reason, brk.seq, brk.decision_id) == (BreakReason.SEQUENCE_GAP, 5, None)
    v = ChainVerifier()
    v.feed(chain)
    brk = v.finish(5, b"\x03" * 32)
    assert brk is not None and brk.reason is BreakReason.LINK_BROKEN
    assert ChainVerifier().finish(0, GENESIS_HASH) is None  # an empty chain is fine
    v = ChainVerifier()
    v.feed(chain[:4])
    brk = v.finish(4, chain[3].hash, beyond=5)  # a row past the head: not appended through the log
    assert brk is not None and (brk.reason, brk.seq, brk.beyond_head) == (BreakReason.LINK_BROKEN, 5, True)
    assert "beyond the chain head" in brk.describe()
    v = ChainVerifier()
    v.feed(chain)
    brk = v.finish(4, chain[3].hash)  # the head moved back below rows already verified
    assert brk is not None and brk.seq == 5 and brk.beyond_head


@given(st.integers(min_value=0, max_value=11), st.sampled_from(["reason_text", "outcome", "actor", "delete"]))
def test_any_single_edit_is_found_at_its_seq(index: int, edit: str) -> None:
    chain = _chain(12)
    if edit == "delete":
        tampered = chain[:index] + chain[index + 1:]
    else:
        tampered = [*chain[:index], replace(chain[index], **{edit: "tampered"}), *chain[index + 1:]]
    v = ChainVerifier()
    v.feed(tampered)
    brk = v.finish(12, chain[-1].hash)
    assert brk is not None and brk.seq == index + 1


def test_link_proof() -> None:
    chain = _chain(3)
    first = link_proof(chain[0], None)
    assert first.verifies and first.predecessor_seq is None and first.predecessor_hash is None
    assert link_proof(chain[2], chain[1]).verifies
    missing = link_proof(chain[2], None)
    assert missing.content_verifies and not missing.link_verifies
    assert not link_proof(replace(chain[2], outcome="x"), chain[1]).content_verifies


def test_actor_and_summary() -> None:
    assert actor_kind("automated:declarations.window") == "automated" and actor_kind("apikey:1") == "apikey"
    assert automated_rule("automated:declarations.window") == "declarations.window"
    assert automated_rule("operator") is None
    d = _chain(3)[2]
    text = summarize(d, "cn-ecl", "closed")
    assert "policy version 1 (cn-ecl)" in text and "notices.required_evidence.trademark passed" in text
    assert text.endswith("The case is now closed.")


def _material(decisions: list[Decision], order: int = 1) -> CaseMaterial:
    evidence = [{"kind": "registration_certificate", "uri": "https://e/x.pdf", "sha256": "c" * 64}]
    measures = [{"id": f"m{i}", "type": "remove"} for i in range(3)][::order]
    return CaseMaterial(
        case_id=CASE, closed_at=T0 + timedelta(days=1), case={"id": str(CASE), "state": "closed"},
        notice={"id": "n1", "evidence": evidence, "explanation": "fake"}, listing={"id": "l1"},
        ip_right={"id": "r1"}, parties=[{"id": "p2"}, {"id": "p1"}][::order], measures=measures,
        declarations=[{"id": "d1", "evidence": [{"kind": "invoice", "sha256": None}], "identity": {"name": "Li"}}],
        related={"suspensions": [{"id": "s1", "evidence": []}]}, decisions=[decision_entry(d) for d in decisions][::order],
    )


def test_bundles_are_deterministic_and_self_verifying() -> None:
    chain = _chain(4)
    a, b = build_bundle(TENANT, _material(chain)), build_bundle(TENANT, _material(chain, order=-1))
    assert a.data == b.data and a.sha256 == b.sha256  # row order does not matter
    doc = json.loads(a.data)
    assert canonical_json(doc) == a.data  # the assembled bytes are the canonical encoding of the document
    assert [e["seq"] for e in doc["decisions"]] == [1, 2, 3, 4]
    assert all(entry_verifies(e) for e in doc["decisions"])
    assert decision_from_entry(decision_entry(chain[1])) == chain[1]
    assert [(e["source"], e["sha256"]) for e in doc["evidence_manifest"]] == [("notice", "c" * 64),
                                                                              ("declaration", None)]
    assert doc["chain"] == {"first_seq": 1, "last_seq": 4, "count": 4}
    assert bundle_key(TENANT, a.sha256) == f"{TENANT}/{a.sha256[:2]}/{a.sha256}.json"

    record = BundleRecord(id=uuid4(), case_id=CASE, sha256=a.sha256, uri="file:///x", size=a.size, format="f",
                          decision_id=uuid4(), last_decision_seq=4, policy_version=1, closed_at=T0,
                          retention_until=T0, created_at=T0)
    ok = check_bundle(TENANT, record, a.data)
    assert ok.ok and set(ok.decisions) == {d.id for d in chain}
    assert check_bundle(TENANT, record, None).problem is BundleProblem.MISSING
    assert check_bundle(TENANT, record, a.data + b" ").problem is BundleProblem.HASH_MISMATCH
    other_case = replace(record, case_id=uuid4())
    assert check_bundle(TENANT, other_case, a.data).problem is BundleProblem.MALFORMED
    # A decision edited inside a bundle whose recorded hash was updated to match: the link does not verify.
    doc["decisions"][1]["reason_text"] = "edited"
    forged = canonical_json(doc)
    assert check_bundle(TENANT, replace(record, sha256=sha256_hex(forged)), forged).problem is BundleProblem.LINK_INVALID

    logged = {d.id: d.hash for d in chain}
    assert diverging_decision(ok.decisions, logged) is None
    assert diverging_decision(ok.decisions, {**logged, chain[2].id: b"\x00" * 32}) == chain[2].id


def test_add_years() -> None:
    assert add_years(datetime(2024, 2, 29, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)
    assert add_years(T0, 3) == T0.replace(year=2029)


_JSON_LEAF = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text()
_JSON = st.recursive(_JSON_LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                             max_size=4),
                     max_leaves=20)


@given(inputs=_JSON, reason_text=st.text())
def test_the_fast_encoding_writes_the_reference_bytes(inputs: object, reason_text: str) -> None:
    """A hash must not depend on which encoder wrote it: stored chains verify either way."""
    d = replace(_chain(1)[0], rules=[{"rule_id": "r", "passed": True, "inputs": {"x": inputs}}],
                reasons=[{"code": "c", "text": reason_text}], reason_text=reason_text)
    assert canonical_content(d) == reference_encoding(hashed_fields(d))


@given(value=st.floats(allow_nan=False) | st.integers(min_value=2**64, max_value=2**80))
def test_floats_and_huge_integers_take_the_reference_encoding(value: float) -> None:
    d = replace(_chain(1)[0], rules=[{"rule_id": "r", "passed": True, "inputs": {"x": [{"y": value}]}}])
    assert canonical_content(d) == reference_encoding(hashed_fields(d))
    assert canonical_content(d) == json.dumps(hashed_fields(d), sort_keys=True, separators=(",", ":"),
                                              ensure_ascii=False).encode()
