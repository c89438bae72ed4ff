"""Consistency check of the hard-case answer key (stdlib only; not part of the test suite).

    python tests/data/hard_cases/check_key.py

Checks that expected.csv and needs.csv name the same needs, that every expected provider exists,
that every kind is known, that no provider is expected for more needs than its capacity, and a few
shape rules of the set (no `service` column in needs.csv, windows inside 2026-12-07..13,
symmetric neighbours). Prints the counts per kind; exits 1 on any problem.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = {
    "skill_wording", "recipient_not_task", "dispute_mentions_trade", "trade_mentions_conflict",
    "other_wording", "cross_service", "low_confidence_skill", "no_filler", "generic_help", "contention",
}


def rows(name: str) -> list[dict[str, str]]:
    with open(HERE / name, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def main() -> int:
    problems: list[str] = []
    needs, key = rows("needs.csv"), rows("expected.csv")
    capacity = {r["ref"]: int(r["capacity"]) for r in rows("volunteers.csv") + rows("resources.csv")}

    if "service" in (needs[0].keys() if needs else ()):
        problems.append("needs.csv must not carry a service column")
    need_refs = [r["ref"] for r in needs]
    key_refs = [r["need_ref"] for r in key]
    for label, refs in (("needs.csv", need_refs), ("expected.csv", key_refs)):
        for ref, n in Counter(refs).items():
            if n > 1:
                problems.append(f"{label}: {ref} appears {n} times")
    problems += [f"{r} is in needs.csv but not in expected.csv" for r in sorted(set(need_refs) - set(key_refs))]
    problems += [f"{r} is in expected.csv but not in needs.csv" for r in sorted(set(key_refs) - set(need_refs))]

    load: Counter[str] = Counter()
    for r in key:
        provider, kind = r["expected_provider_ref"], r["kind"]
        if kind not in KINDS:
            problems.append(f"{r['need_ref']}: unknown kind {kind!r}")
        if not r["why"].strip():
            problems.append(f"{r['need_ref']}: empty why")
        if provider == "none":
            continue
        if provider not in capacity:
            problems.append(f"{r['need_ref']}: unknown provider {provider}")
        load[provider] += 1
    for provider, n in sorted(load.items()):
        if provider in capacity and n > capacity[provider]:
            problems.append(f"{provider} is expected for {n} needs, capacity {capacity[provider]}")

    for r in needs:
        if r["window"]:
            start, end = r["window"].split("/")
            if not ("2026-12-07" <= start[:10] <= end[:10] <= "2026-12-13" and start < end):
                problems.append(f"{r['ref']}: window {r['window']} outside the week 2026-12-07..13")
    neighbours = {g["code"]: set(filter(None, g["neighbors"].split(";"))) for g in rows("grids.csv")}
    for g, ns in neighbours.items():
        problems += [f"neighbours not symmetric: {g} -> {n}" for n in ns if g not in neighbours.get(n, set())]

    kinds = Counter(r["kind"] for r in key)
    print(f"{len(needs)} needs, {len(neighbours)} grids, {len(capacity)} providers; "
          f"{sum(1 for r in key if r['expected_provider_ref'] == 'none')} expected none")
    for kind in sorted(KINDS):
        print(f"  {kind:25} {kinds.get(kind, 0)}")
    print("\n".join(problems) if problems else "key OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
