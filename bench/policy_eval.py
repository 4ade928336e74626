"""Benchmark: evaluate_notice evaluations per second on one core.

    .venv/bin/python bench/policy_eval.py [--calls 200000] [--repeats 5]

Target: >= 50,000 evaluations/s for one case (one notice against one policy). As a same-run
baseline (machine speed varies), it also times a trivial function doing a comparable amount of
plain dict/set lookups, so the ratio between the two is comparable across machines.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.policy import PRESETS
from domain.policy_eval import NoticeFacts, compile_policy, evaluate_notice

TARGET = 50_000


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _rate(fn: Callable[[], object], calls: int, repeats: int) -> float:
    best = float("inf")
    loop = range(calls)
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in loop:
            fn()
        best = min(best, time.perf_counter() - start)
    return calls / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    _pin_to_one_core()

    policy = PRESETS["cn-ecl"]
    cases = {
        # a complete CN patent notice from a trusted agent: every rule runs, all pass (auto_accept)
        "auto_accept": NoticeFacts(
            right_type="patent",
            right_jurisdiction="CN",
            right_verification_status="verified",
            right_legal_status="active",
            right_valid_until=date(2030, 1, 1),
            today=date(2026, 7, 1),
            present_fields=frozenset(
                {"complainant_identity", "listing_urls", "accuracy_statement", "registration_number"}
            ),
            evidence_kinds=frozenset({"registration_certificate", "test_purchase", "patent_evaluation_report"}),
            listing_count=120,
            has_agent=True,
            agent_authorized=True,
            notifier_trusted=True,
        ),
    }
    base = cases["auto_accept"]
    # the failure path: missing evidence and a field, built problems and fresh rule hits
    cases["incomplete"] = replace(
        base,
        present_fields=frozenset({"complainant_identity", "listing_urls"}),
        evidence_kinds=frozenset({"registration_certificate"}),
    )

    compile_policy(policy)  # warm the cache; evaluation below goes through the public API
    for name, facts in cases.items():
        print(f"{name}: outcome={evaluate_notice(policy, facts).outcome}")

    # baseline: the same number of lookups evaluate_notice does (about a dozen dict/set probes
    # and comparisons), in a trivial function with no objects built
    accepted = frozenset({"patent", "trademark"})
    table = {"patent": "disconnect_link", "CN": True, "verified": True, "active": True}
    required = frozenset({"complainant_identity", "listing_urls"})

    def baseline(f: NoticeFacts = base) -> bool:
        return (
            f.right_type in accepted
            and table.get(f.right_jurisdiction, False)
            and table.get(f.right_verification_status, False)
            and table.get(f.right_legal_status, False)
            and (f.right_valid_until is None or f.right_valid_until >= f.today)
            and f.listing_count <= 300
            and not (required - f.present_fields)
            and not (required - f.evidence_kinds)
            and (not f.has_agent or f.agent_authorized)
            and f.notifier_trusted
            and table.get(f.right_type) is not None
        )

    base_rate = _rate(baseline, args.calls, args.repeats)
    print(f"\ncalls={args.calls:,} repeats={args.repeats} (best of), python {sys.version.split()[0]}")
    print(f"baseline (trivial function, ~12 lookups): {base_rate:12,.0f} calls/s")
    compiled = compile_policy(policy)

    def cold(f: NoticeFacts = base) -> object:
        compiled.memo.clear()  # worst case: every rule result rebuilt (no memoized hits)
        compiled.date_memo.clear()
        return evaluate_notice(policy, f)

    runs: list[tuple[str, Callable[[], object]]] = [
        (name, lambda f=facts: evaluate_notice(policy, f)) for name, facts in cases.items()
    ]
    # a realistic mix: 1,000 different notices (listing counts, validity dates, agents, trust,
    # a few incomplete), cycled, so the memo holds only what a live tenant's would
    rng = random.Random(7)
    fields = sorted(base.present_fields)
    varied = [
        replace(
            base,
            listing_count=rng.randint(1, 300),
            right_valid_until=date(2027, 1, 1) + timedelta(days=rng.randint(0, 3000)),
            has_agent=rng.random() < 0.5,
            notifier_trusted=rng.random() < 0.3,
            present_fields=frozenset(fields if rng.random() < 0.9 else fields[1:]),
        )
        for _ in range(1000)
    ]
    next_varied = itertools.cycle(varied).__next__
    runs.append(("varied", lambda: evaluate_notice(policy, next_varied())))
    runs.append(("cold", cold))
    for name, fn in runs:
        rate = _rate(fn, args.calls, args.repeats)
        print(
            f"evaluate_notice [{name:11}]:          {rate:12,.0f} evals/s  "
            f"= {rate / TARGET:5.2f}x the {TARGET:,}/s target, {rate / base_rate:5.3f}x the baseline"
        )


if __name__ == "__main__":
    main()
