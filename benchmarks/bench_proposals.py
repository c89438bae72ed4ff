"""How fast are instant proposals for one need? Prints a table; never asserts timing.

A synthetic subdistrict of 158 grids with 5,000 providers; for each of 300 needs, the wall time of
:func:`matching.scoring.propose` (top 10, index built beforehand, as the web app keeps it), and of
a naive baseline in the same process: a Python loop over every provider that checks eligibility
and computes the same features pair by pair (rapidfuzz per tag, scikit-learn's TF-IDF per pair,
the need's unseen n-grams counted in its norm, the fit rule of matching.scoring).
The target is 50 ms at the 95th percentile.

The baseline is also a cross-check: for each need it reports whether both put the same provider
first (tier 3 may legitimately differ: :func:`propose` looks there only when tiers 1-2 give fewer
than ``limit``), and how far apart their scores of that pair are (features are kept in steps of
0.0001, so a few ten-thousandths at most).

    python benchmarks/bench_proposals.py
    python benchmarks/bench_proposals.py --quick    # 60 needs
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from rapidfuzz import fuzz  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

from benchmarks.synthetic import make_subdistrict  # noqa: E402
from matching.index import ProviderIndex  # noqa: E402
from matching.lexicon import canonical_tag, implied_tags, matter_text, read, recipient_group, skill_text  # noqa: E402
from matching.scoring import (  # noqa: E402
    FIT_REQUIRED_SERVICES,
    MIN_SCORE,
    MIN_TEXT_FIT,
    RELIABILITY_PRIOR,
    SKILL_FLOOR,
    STRONG_SKILL,
    TIER_SCORES,
    WEIGHTS,
    propose,
)
from matching.slots import overlap_minutes, window_minutes_by_day  # noqa: E402
from matching.types import GridMap, NeedView, ProviderView  # noqa: E402

GRIDS = 158
PROVIDERS = 5_000
NEEDS = 300
LIMIT = 10
SEED = 7
PAD = "\x00"  # as matching.scoring pads need texts for skill matching


class NaiveMatcher:
    """Every provider, every feature, one pair at a time."""

    def __init__(self, providers: list[ProviderView]) -> None:
        self.providers = providers
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), norm=None)
        self.matrix = normalize(self.vectorizer.fit_transform([" ".join(p.skills) + " " + p.description
                                                               for p in providers]))
        self.analyzer = self.vectorizer.build_analyzer()
        self.idf_unseen = np.log(1.0 + len(providers)) + 1.0  # smooth idf of an n-gram no one has
        # Tags as matching.index reads them: the table's name of each skill, a narrower tag's broader
        # skill too; a tag naming whom the provider serves is no skill but a group.
        self.skills = [[canonical_tag(t).lower() for own in p.skills for t in (own, *implied_tags(own))
                        if recipient_group(t) is None] for p in providers]
        self.serves = [{recipient_group(t) for t in p.skills} - {None} for p in providers]
        self.all_tags = sorted({t for tags in self.skills for t in tags})
        self.pad = PAD * max((len(t) for t in self.all_tags), default=1)

    def query(self, text: str):  # type: ignore[no-untyped-def]
        """The need's TF-IDF row, its unseen n-grams counted in the norm (as matching.scoring)."""
        row = self.vectorizer.transform([text])
        unseen = Counter(g for g in self.analyzer(text) if g not in self.vectorizer.vocabulary_)
        square = row.multiply(row).sum() + sum((c * self.idf_unseen) ** 2 for c in unseen.values())
        return row / np.sqrt(square) if square > 0 else row

    def propose(self, need: NeedView, grid_map: GridMap, limit: int) -> list[tuple[float, ProviderView]]:
        words = skill_text(need.text)  # the request's words and the skill tags they call for
        query = self.query(matter_text(need.text))  # the whole need, for the text feature
        text = self.pad + words.lower() + self.pad
        reading = read(need.text)
        strong = max((fuzz.partial_ratio(t, text) for t in self.all_tags), default=0.0) >= (
            SKILL_FLOOR + STRONG_SKILL * (100.0 - SKILL_FLOOR))
        needs_fit = (need.service in FIT_REQUIRED_SERVICES or reading.asks_skill
                     or (strong and not reading.open_request))
        minutes = sum(e - s for _, s, e in window_minutes_by_day(*need.window)) if need.window else 0
        sub = grid_map.subdistricts.get(need.grid, "")
        near = {need.grid} | set(grid_map.neighbors.get(need.grid, frozenset()))
        scored = []
        for j, p in enumerate(self.providers):
            if need.service not in p.services or p.free <= 0:
                continue
            if p.kind == "resource" and p.grids_covered is not None and need.grid not in p.grids_covered:
                continue
            if p.kind == "volunteer" and p.home_grid not in near and grid_map.subdistricts.get(
                    p.home_grid or "", "") != sub:
                continue
            overlap = overlap_minutes(p.slots, need.window)
            if overlap == 0:
                continue
            ratio = max((fuzz.partial_ratio(t, text) for t in self.skills[j]), default=0.0)
            features = {
                "skill": min(1.0, max(0.0, (ratio - SKILL_FLOOR) / (100.0 - SKILL_FLOOR))),
                "text": min(1.0, float(query.multiply(self.matrix[j]).sum())),
                "tier": TIER_SCORES[grid_map.tier(need.grid, p)],
                "availability": 1.0 if overlap is None else min(1.0, overlap / minutes),
                "load": 1.0 - p.load / p.capacity,
                "reliability": RELIABILITY_PRIOR if p.reliability is None else p.reliability,
                "recipient": 1.0 if reading.recipients & self.serves[j] else 0.0,
            }
            score = sum(WEIGHTS[k] * v for k, v in features.items())
            fit = not needs_fit or features["skill"] > 0 or features["text"] >= MIN_TEXT_FIT
            if score >= MIN_SCORE and fit:
                scored.append((score, p))
        scored.sort(key=lambda sp: (-sp[0], sp[1].key))
        return scored[:limit]


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    ms = np.asarray(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(ms.max())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 needs instead of 300")
    args = parser.parse_args(argv)
    n_needs = 60 if args.quick else NEEDS
    sub = make_subdistrict(n_needs, PROVIDERS, seed=SEED, n_grids=GRIDS)
    start = time.perf_counter()
    index = ProviderIndex.build(sub.providers)
    index_seconds = time.perf_counter() - start
    naive = NaiveMatcher(sub.providers)

    ours, theirs, same_first, both_empty, gaps = [], [], 0, 0, []
    for need in sub.needs:
        start = time.perf_counter()
        got = propose(need, index, sub.grid_map, limit=LIMIT)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        expected = naive.propose(need, sub.grid_map, LIMIT)
        theirs.append(time.perf_counter() - start)
        if got and expected and got[0].provider_key == expected[0][1].key:
            same_first += 1
            gaps.append(abs(got[0].score - expected[0][0]))
        both_empty += not got and not expected

    header = f"{'method':<26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'x ours (p95)':>12}"
    print(f"# {len(sub.needs)} needs, {len(sub.providers)} providers, {GRIDS} grids; "
          f"index built in {index_seconds:.2f} s")
    print(header)
    print("-" * len(header))
    ours_p = percentiles(ours)
    for name, secs in (("propose (ours)", ours), ("naive per-pair Python", theirs)):
        p50, p95, worst = percentiles(secs)
        print(f"{name:<26} {p50:>8.2f} {p95:>8.2f} {worst:>8.2f} {p95 / ours_p[1]:>12.1f}")
    print(f"same first choice: {same_first}/{len(sub.needs) - both_empty} needs with proposals "
          f"({both_empty} have none either way); largest score gap on it: {max(gaps, default=0.0):.5f}")


if __name__ == "__main__":
    main()
