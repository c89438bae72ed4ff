"""Explainable scores for (need, provider) pairs, and instant proposals for one need.

A score is a weighted sum of named features, each in [0, 1], so it lies in [0, 1] too:

================  ============================================================================
``skill``         the need's text against the provider's skill tags: rapidfuzz ``partial_ratio``
                  of the best tag, 0 at or below :data:`SKILL_FLOOR`, rising to 1 for a tag
                  found verbatim; the text is read by :mod:`matching.lexicon` first (理个发 is
                  理发, 量量血压 calls for 测血压), and tags naming whom a provider serves (助老)
                  are never skills
``text``          cosine of character 1-3-gram TF-IDF vectors (``char_wb``, fitted on the
                  providers' skills and description) of the need and the provider; the need's
                  n-grams no provider has still count in its norm (``count_unseen``)
``tier``          :data:`TIER_SCORES` of same grid / neighbouring grid / elsewhere
``availability``  share of the need's window that the provider's slots cover; 1 when the need is
                  flexible or the provider is available any time (nothing constrains them)
``load``          ``1 - load / capacity``: the less busy provider is preferred
``reliability``   share of past assignments completed; :data:`RELIABILITY_PRIOR` without history
``recipient``     1 when the need is for people (老人, 孩子, 残疾人) the provider says it serves
                  (助老, 青少年服务): it can raise a pair, never stand in for the task
``continuity``    1 for the provider who served the previous occurrence of a recurring need (每周探访:
                  the same face each week), in or next to the need's grid; 0 otherwise
================  ============================================================================

Features are kept in steps of 0.0001 (:data:`FEATURE_STEPS`) and the score is computed from
those, so it equals the sum of its contributions. Urgency does not change a score: it multiplies
it into the assignment's weight (:data:`URGENCY_PRIORITY`), so an urgent need wins a contested
provider without looking like a better fit. Every :class:`Match` keeps its features, their
weighted contributions and a one-line explanation in Chinese, e.g.
``同网格 · 技能：陪诊 · 周三上午有空 · 当前任务 0/2``.

Which pairs get a score (:func:`score_candidates`, :class:`PairScorer`): every eligible pair of
tiers 1-2 (see :mod:`matching.candidates`); tier 3 only for needs with fewer than ``widen_below``
usable candidates there (fit, at least ``min_score``), or whose best there scores below what tier 3 could
(:meth:`PairScorer.tier3_bound`). With these weights a tier 3 pair without a skill value of at
least :func:`tier3_min_skill` cannot reach :data:`MIN_SCORE`, so tier 3 looks only at the
volunteers of the subdistrict holding a matching tag. Only pairs scoring at least ``min_score``
are kept, and in the services of :data:`FIT_REQUIRED_SERVICES` only those showing fit: a plumber
is not sent to tune a piano because he is next door and free. The batch engine may widen more
needs later, when pricing shows tier 3 could help.

Scores are computed for whole batches with numpy, cell by cell, never pair by pair in Python;
:func:`propose` runs the same code on a batch of one need, so a pair scores the same in both.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from scipy import sparse

from core.vocab import SERVICE_LABELS_ZH, ProviderKind, Service, Urgency

from .candidates import (
    TIER_ELSEWHERE,
    TIER_NEIGHBOUR,
    TIER_SAME_GRID,
    NeedBatch,
    Pairs,
    Visits,
    expand,
    near_homes,
    near_visits,
    overlap_minutes,
    wide_visits,
)
from .index import ProviderIndex
from .lexicon import RECIPIENT_GROUPS, RECIPIENT_LABELS_ZH, Reading, canonical_tag, matter_text, read, skill_text
from .slots import overlapping_slots
from .textvec import cell_pair_cosines, concat_ranges, gather_rows
from .types import GridMap, NeedView, ProviderView

__all__ = [
    "FEATURES", "FEATURE_STEPS", "FIT_REQUIRED_SERVICES", "MIN_SCORE", "MIN_TEXT_FIT",
    "RELIABILITY_PRIOR", "SKILL_FLOOR", "TIER_SCORES",
    "TOP_K", "URGENCY_PRIORITY", "WEIGHTS", "PairScorer", "Match", "ProviderIndex", "ScoredPairs",
    "STRONG_SKILL", "ANOTHER_TIME_ZH", "alternatives", "at_another_time", "confirmed", "explain", "make_match", "make_matches", "strong_tags",
    "priorities",
    "propose", "propose_across_services", "score_candidates", "strong", "tier3_min_skill",
]

# Weight of each feature in the score (unitless, summing to 1). The tier weighs most: the grid
# system sends the nearest capable hand first, and a provider across the subdistrict can never
# outscore a capable one next door.
#
# ``continuity`` took its 0.05 from the others in proportion (each x 0.95) and MIN_SCORE went down
# alike, so a need without a previous provider is ranked, paired and refused exactly as before; for
# a recurring need it raises the provider who served the last occurrence by 0.05, less than the gap
# between a same-grid and a neighbouring-grid provider of equal fit (0.35 x 0.95 x 0.4 = 0.133).
CONTINUITY_WEIGHT = 0.05
_BEFORE_CONTINUITY: dict[str, float] = {
    "skill": 0.25,
    "text": 0.07,
    "tier": 0.35,
    "availability": 0.10,
    "load": 0.10,
    "reliability": 0.10,
    "recipient": 0.03,
}
WEIGHTS: dict[str, float] = {
    **{name: w * (1 - CONTINUITY_WEIGHT) for name, w in _BEFORE_CONTINUITY.items()},
    "continuity": CONTINUITY_WEIGHT,
}
FEATURES: tuple[str, ...] = tuple(WEIGHTS)

# Feature value of each tier: 1 same grid (or a resource covering it), 2 neighbouring grid,
# 3 elsewhere in the subdistrict.
TIER_SCORES: dict[int, float] = {TIER_SAME_GRID: 1.0, TIER_NEIGHBOUR: 0.6, TIER_ELSEWHERE: 0.0}

# Score below which no pair is ever proposed or assigned (score units, 0-1). A same-grid provider,
# idle and available but with no skill in common, scores about 0.63: it passes; the same provider
# a grid away about 0.49, barely; anywhere further at most 0.40, never. So tier 3 only offers
# providers holding a matching skill tag (see tier3_min_skill).
MIN_SCORE = 0.45 * (1 - CONTINUITY_WEIGHT)  # 0.4275: 0.45 before continuity took its share

# Services whose deliverer is chosen for a trade, a licence or a mandate (市场、社会、公共服务): a pair
# there must show that fit, a skill tag matched (skill > 0) or a text cosine of MIN_TEXT_FIT, or it
# is not made, however near and free the provider. Plain help from a neighbour (志愿服务) needs
# none, unless the need asks for a skill (辅导作业, 理发): then a provider merely free is filler.
FIT_REQUIRED_SERVICES = frozenset({Service.PUBLIC, Service.SOCIAL, Service.MARKET})
# A skill value this high is a tag found all but verbatim: a need matching some provider's tag so
# well asks for a skill, even in words the synonym table does not know.
STRONG_SKILL = 0.8
# Text cosine that shows fit without a matched tag. Unrelated short Chinese texts share common
# characters (家, 的, ，) and reach 0.1-0.25; texts on the same matter start around 0.3.
MIN_TEXT_FIT = 0.3

# Candidates kept per need for the exact assignment, and the widening threshold: a need with fewer
# eligible candidates in tiers 1-2 is widened to tier 3 from the start.
TOP_K = 5

# Multiplier of a need's score in the assignment's weight, by urgency.
URGENCY_PRIORITY: dict[str, float] = {Urgency.LOW: 0.75, Urgency.NORMAL: 1.0, Urgency.HIGH: 1.5, Urgency.URGENT: 2.0}

# Reliability of a provider without history (share of assignments completed, 0-1): about what a
# typical provider achieves, so a newcomer neither gains nor loses against the average.
RELIABILITY_PRIOR = 0.8

# rapidfuzz partial_ratio (0-100) at or below which a skill tag counts as no match. 50 is one of
# two characters, which says nothing ("陪" is in 陪诊 and 陪伴聊天 alike).
SKILL_FLOOR = 50.0
_SKILL_PAD = "\x00"  # pads need texts so a tag's half at the text's edge scores as inside it

# Dense need x tag cells held at once while reading skill values (float64: 64 MB).
_SKILL_DENSE_CELLS = 1 << 23
# Features are kept in steps of 1 / FEATURE_STEPS (0.0001): four decimals are all anyone reads,
# they keep float noise out of the explanations, and a batch's millions of pairs take 2 bytes a
# feature. The score is computed from the stepped values, so it equals the sum of contributions.
FEATURE_STEPS = 10_000
# Pairs whose skill is read at once (a pairs x TAG_PAD gather: 64 MB at most).
_SKILL_PAIRS_AT_ONCE = 1 << 20
# Pairs at which rapidfuzz is worth its thread pool.
_RAPIDFUZZ_PARALLEL_MIN = 20_000

TIER_LABELS_ZH = {TIER_SAME_GRID: "同网格", TIER_NEIGHBOUR: "相邻网格", TIER_ELSEWHERE: "街道内其他网格"}
RESOURCE_TIER_LABEL_ZH = "覆盖本网格"
EXPLANATION_SEPARATOR = " · "
CONTINUITY_LABEL_ZH = "上次也是他/她服务"
MAX_SLOT_LABELS = 2  # slot labels named in an explanation


@dataclass(frozen=True)
class Match:
    """A provider the engine pairs with a need, scored, with why. The dispatcher stores the ones
    it proposes as ``models.Proposal`` rows."""

    need_id: int
    provider_kind: str  # a ProviderKind
    provider_id: int
    provider_ref: str
    provider_name: str
    score: float  # in [0, 1]
    tier: int
    features: dict[str, float]  # feature name -> value in [0, 1]
    contributions: dict[str, float]  # feature name -> WEIGHTS[name] * value; they sum to score
    explanation: str  # one line in Chinese, e.g. "同网格 · 技能：陪诊 · 周三上午有空 · 当前任务 0/2"
    service: str = ""  # the service the provider gives the need (another than classified: see confirm)
    # Proposed on a strong skill match across services, or for a need whose service the classifier
    # was unsure of: a coordinator confirms before the provider is asked.
    confirm: bool = False

    @property
    def provider_key(self) -> tuple[str, int]:
        return (self.provider_kind, self.provider_id)


@dataclass(frozen=True)
class ScoredPairs:
    """The usable pairs of a batch (eligible, fit, scoring at least ``min_score``), need by need,
    best first (ties: the smaller provider key); and, per need, what was seen on the way."""

    batch: NeedBatch
    need: np.ndarray  # row in batch
    provider: np.ndarray  # row in index.providers
    tier: np.ndarray
    features: np.ndarray  # (pairs, len(FEATURES)) uint16 steps, columns in FEATURES order
    score: np.ndarray  # float64
    key: np.ndarray  # the sort key: need, then score descending, then provider
    eligible: np.ndarray  # per need: eligible pairs scored, usable or not
    best: np.ndarray  # per need: best score of an eligible pair, -1 without one
    best_fit: np.ndarray  # per need: best score of an eligible pair that is fit (see is_fit), or -1
    widened: np.ndarray  # rows of the needs whose tier 3 is in, ascending

    def __len__(self) -> int:
        return int(self.need.size)

    def need_bounds(self) -> np.ndarray:
        """``need_bounds()[i]:need_bounds()[i + 1]`` are need i's pairs."""
        return np.searchsorted(self.need, np.arange(len(self.batch) + 1))

    def merged(self, other: ScoredPairs) -> tuple[ScoredPairs, np.ndarray]:
        """Both sets of pairs in one, and where each of this one's pairs went. A pair in both
        (same need and provider) is kept once."""
        key = np.concatenate([self.key, other.key])
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.ones(key.size, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        order = order[first]
        where = np.full(key.size, -1, dtype=np.int64)
        where[order] = np.arange(order.size)

        def cat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.concatenate([a, b])[order]

        merged = ScoredPairs(
            batch=self.batch, need=cat(self.need, other.need),
            provider=cat(self.provider, other.provider), tier=cat(self.tier, other.tier),
            features=cat(self.features, other.features), score=cat(self.score, other.score),
            key=key[first], eligible=self.eligible + other.eligible,
            best=np.maximum(self.best, other.best), best_fit=np.maximum(self.best_fit, other.best_fit),
            widened=np.union1d(self.widened, other.widened))
        return merged, where[: len(self)]


def sort_key(need: np.ndarray, score: np.ndarray, provider: np.ndarray, n_needs: int,
             n_providers: int) -> np.ndarray:
    """One int64 per pair ordering by need, then score descending, then provider.

    Scores are cut to the bits left over (at least 2^-20 of a point; the solver itself tells
    weights apart only to 1e-6), so scores closer than that tie and fall to the provider key.
    """
    need_bits = max(1, int(n_needs).bit_length())
    provider_bits = max(1, int(n_providers).bit_length())
    score_bits = 63 - need_bits - provider_bits
    if score_bits < 20:
        raise ValueError("batch too large for one sort key")
    # Round the float64 product first: the same score always gives the same integer.
    steps = np.floor(np.clip(1.0 - score, 0.0, 1.0) * ((1 << score_bits) - 1)).astype(np.int64)
    return (need.astype(np.int64) << (score_bits + provider_bits)) | (steps << provider_bits) \
        | provider.astype(np.int64)


class PairScorer:
    """Scores the candidates of one batch: tiers 1-2 with :meth:`near`, tier 3 of chosen needs
    with :meth:`wide`. What depends on the needs alone (their TF-IDF vectors, their skill values
    against every tag) is computed once here."""

    def __init__(self, batch: NeedBatch, index: ProviderIndex, grid_map: GridMap, *,
                 min_score: float = MIN_SCORE, min_skill: float = 0.0) -> None:
        self.batch, self.index, self.grid_map = batch, index, grid_map
        self.min_score = min_score
        self.min_skill = min_skill  # pairs whose skill value is lower are not even scored
        self.need_texts, self.skills, readings = _text_work(batch, index)
        group_bit = {g: 1 << k for k, g in enumerate(RECIPIENT_GROUPS)}
        self.need_groups = np.fromiter((sum(group_bit[g] for g in r.recipients) for r in readings),
                                       dtype=np.int64, count=len(batch))
        # A tag matched all but verbatim asks a skill too, even in words the table does not know;
        # unless it is plain help, or the request itself names no skill (the story's words do not ask).
        strong = (np.asarray(self.skills.max(axis=1).todense()).ravel() >= STRONG_SKILL
                  if self.skills.shape[1] else np.zeros(len(batch), dtype=bool))
        self.asks_skill = np.fromiter((r.asks_skill or (s and not r.open_request) for r, s in zip(readings, strong)),
                                      dtype=bool, count=len(batch))
        self.needs_fit = self._needs_fit(batch)
        # Row of the provider who served each need's previous occurrence, -1 for none.
        self.previous = np.fromiter(
            (index.row_of.get(n.previous_provider, -1) if n.previous_provider else -1 for n in batch.needs),
            dtype=np.int64, count=len(batch))

    def _needs_fit(self, batch: NeedBatch) -> np.ndarray:
        fit: np.ndarray = np.fromiter((n.service in FIT_REQUIRED_SERVICES for n in batch.needs),
                                      dtype=bool, count=len(batch)) | self.asks_skill
        return fit

    def in_service(self, batch: NeedBatch) -> PairScorer:
        """This scorer for ``batch``: the same needs, in the same order, asked in other services
        (:func:`alternatives`). What depends on their text alone is shared, not computed again."""
        other = copy.copy(self)
        other.batch = batch
        other.needs_fit = self._needs_fit(batch)
        return other

    def repeated(self, batch: NeedBatch) -> PairScorer:
        """This scorer of one need for ``batch``: that need asked in several services at once, one row
        each (:func:`alternatives`), so they are scored in one pass instead of one pass each."""
        rows = np.zeros(len(batch), dtype=np.int64)
        other = copy.copy(self)
        other.batch = batch
        other.need_texts, other.skills = self.need_texts[rows], self.skills[rows]
        other.need_groups, other.asks_skill, other.previous = (self.need_groups[rows], self.asks_skill[rows],
                                                               self.previous[rows])
        other.needs_fit = other._needs_fit(batch)
        return other

    def near(self) -> ScoredPairs:
        visits = near_visits(self.batch, self.index, self.grid_map)
        return self._scored(visits, widened=np.zeros(0, dtype=np.int64), tier3=False)

    def wide(self, rows: np.ndarray) -> ScoredPairs:
        """Tier 3 pairs of the need ``rows``: volunteers living neither in nor next to their grid.

        When the weights make it impossible for a tier 3 pair to reach ``min_score`` without a
        skill value of at least :func:`tier3_min_skill`, only the volunteers holding such a tag
        are looked at (exactly the ones that can score); otherwise every volunteer of the service.
        """
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        need_skill = tier3_min_skill(self.min_score)
        if need_skill <= 0:
            visits = wide_visits(self.batch, self.index, self.grid_map, rows)
        else:
            coo = self.skills[rows].tocoo()
            strong = coo.data >= need_skill
            visits = wide_visits(self.batch, self.index, self.grid_map, rows[coo.row[strong]],
                                 coo.col[strong])
        return self._scored(visits, widened=rows, tier3=True)

    def _cosines(self, visits: Visits, pairs: Pairs, idx: np.ndarray) -> np.ndarray:
        """Text cosine of the pairs ``idx`` of these visits (those still eligible)."""
        index = self.index
        if visits.cells is index.cells and np.unique(visits.cell).size * SPARSE_VISITS > index.cells.ptr.size:
            every = cell_pair_cosines(self.need_texts, index.cell_text, visits.need, visits.cell, pairs.offset,
                                      pairs.need.size)
            kept: np.ndarray = every[idx]
            return kept
        # Tier 3 cells are many and mostly unvisited, and a small batch (a proposal, the pass across
        # services) visits few cells of any kind: one dot product per pair beats building blocks, and
        # only the pairs still eligible need one (tier 3 of a city batch: a fraction of its pairs).
        return self._pair_cosines(pairs.need[idx], pairs.provider[idx])

    def _pair_cosines(self, need: np.ndarray, provider: np.ndarray) -> np.ndarray:
        """Text cosine of each (need row, provider row) pair, one sparse dot product each; in chunks of
        pairs, since each pair's rows are copied side by side (a city batch's tier 3: hundreds of
        thousands of pairs, a gigabyte at once)."""
        if need.size <= PAIR_CHUNK:
            return self._pair_cosines_of(need, provider)
        return np.concatenate([self._pair_cosines_of(need[k: k + PAIR_CHUNK], provider[k: k + PAIR_CHUNK])
                               for k in range(0, need.size, PAIR_CHUNK)])

    def _pair_cosines_of(self, need: np.ndarray, provider: np.ndarray) -> np.ndarray:
        n_features = self.need_texts.shape[1]
        indptr, indices, data = gather_rows(self.need_texts, need)
        left = sparse.csr_matrix((data, indices, indptr), shape=(need.size, n_features))
        indptr, indices, data = self.index.cell_text.rows(self.index.text_row[provider])
        right = sparse.csr_matrix((data, indices, indptr), shape=(need.size, n_features))
        return np.asarray(left.multiply(right).sum(axis=1), dtype=np.float32).ravel()

    def tier3_bound(self) -> np.ndarray:
        """Per need, a score no tier 3 pair of it can exceed: its best skill value over every
        tag, and every other feature at its best except the tier."""
        best_skill = np.asarray(self.skills.max(axis=1).todense(), dtype=np.float64).ravel() \
            if self.skills.shape[1] else np.zeros(len(self.batch))
        return WEIGHTS["skill"] * best_skill + _tier3_rest()

    def _scored(self, visits: Visits, *, widened: np.ndarray, tier3: bool) -> ScoredPairs:
        n = len(self.batch)
        need, provider, tier, features = self._eligible(visits, tier3)
        score = weighted_score(features)
        eligible = np.bincount(need, minlength=n)
        best = np.full(n, -1.0)
        np.maximum.at(best, need, score)
        fit = self._is_fit(need, features)
        best_fit = np.full(n, -1.0)
        np.maximum.at(best_fit, need[fit], score[fit])
        usable = np.flatnonzero(fit & (score >= self.min_score))
        need, provider, tier, features, score = (need[usable], provider[usable], tier[usable],
                                                 features[usable], score[usable])
        key = sort_key(need, score, provider, n, self.index.size)
        order = np.argsort(key, kind="stable")
        key = key[order]
        # Tag cells can hold a provider twice (two matching tags): keep the pair once.
        first = np.ones(key.size, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        order = order[first]
        return ScoredPairs(batch=self.batch, need=need[order], provider=provider[order],
                           tier=tier[order], features=features[order], score=score[order],
                           key=key[first], eligible=eligible, best=best, best_fit=best_fit,
                           widened=widened)

    def _is_fit(self, need: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Whether each pair shows the fit its service asks for: a matched skill tag or a close
        enough text, in the services of FIT_REQUIRED_SERVICES; always elsewhere."""
        col = FEATURES.index
        fit: npt.NDArray[np.bool_] = (~self.needs_fit[need] | (features[:, col("skill")] > 0)
                                      | (features[:, col("text")] >= round(MIN_TEXT_FIT * FEATURE_STEPS)))
        return fit

    def _eligible(self, visits: Visits, tier3: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, npt.NDArray[np.uint16]]:
        """Eligible pairs of these visits, need by need, with their features."""
        batch, index = self.batch, self.index
        pairs = expand(visits)
        overlap = overlap_minutes(batch, index, pairs)
        keep = overlap != 0  # -1: unconstrained; 0: no slot in the window
        keep &= index.free[pairs.provider] > 0  # a resource's cells hold it when full too
        if tier3:
            keep &= ~near_homes(batch, index, self.grid_map, pairs)
        if tier3 and visits.need.size:
            # A provider met through two tags is one pair: count and score it once here too.
            keys = pairs.need.astype(np.int64) * index.size + pairs.provider
            order = np.argsort(keys, kind="stable")
            repeat = np.zeros(keys.size, dtype=bool)
            repeat[order[1:]] = keys[order[1:]] == keys[order[:-1]]
            keep &= ~repeat
        if self.min_skill:  # few pairs are left: their cosines one by one
            skill = _pair_skill(pairs.need, pairs.provider, index, self.skills)
            idx = np.flatnonzero(keep & (skill >= self.min_skill))
            skill, text = skill[idx], self._pair_cosines(pairs.need[idx], pairs.provider[idx])
        else:
            idx = np.flatnonzero(keep)
            text = self._cosines(visits, pairs, idx)
        need, provider, tier = pairs.need[idx], pairs.provider[idx], pairs.tier[idx]
        overlap = overlap[idx]
        if not self.min_skill:
            skill = _pair_skill(need, provider, index, self.skills)

        features = np.empty((idx.size, len(FEATURES)), dtype=np.uint16)
        col = {name: k for k, name in enumerate(FEATURES)}

        def put(name: str, values: np.ndarray) -> None:
            features[:, col[name]] = np.rint(np.clip(values, 0.0, 1.0) * FEATURE_STEPS)

        put("skill", skill)
        put("text", text)
        tier_value = np.zeros(TIER_ELSEWHERE + 1, dtype=np.float64)
        for t, v in TIER_SCORES.items():
            tier_value[t] = v
        put("tier", tier_value[tier])
        window = batch.window_minutes[need]
        put("availability", np.where(overlap < 0, 1.0, overlap / np.maximum(window, 1)))
        put("load", 1.0 - index.load[provider] / np.maximum(index.capacity[provider], 1))
        reliability = index.reliability[provider]
        put("reliability", np.where(np.isnan(reliability), RELIABILITY_PRIOR, reliability))
        put("recipient", ((self.need_groups[need] & index.serves[provider]) != 0).astype(np.float64))
        # Only in or next to the grid: tier 3's bound (_tier3_rest) leaves continuity out.
        put("continuity", ((self.previous[need] == provider) & (tier <= TIER_NEIGHBOUR)).astype(np.float64))
        return need, provider, tier, features


# Texts whose analysis an index keeps for the instant proposals of one need (a need's page is asked for
# again and again: each view, each action); beyond this the memo starts afresh.
TEXT_MEMO_SIZE = 4096


def _text_work(batch: NeedBatch, index: ProviderIndex) -> tuple[sparse.csr_matrix, sparse.csr_matrix, list[Reading]]:
    """The needs' TF-IDF rows, their skill values against every tag, and their readings: about half the
    cost of one need's proposals, kept per text on the index (its vocabulary and tags are the same in
    the copies :meth:`ProviderIndex.with_loads` makes) when the batch is that one need."""
    if len(batch) == 1:
        text = batch.needs[0].text
        known = index.text_memo.get(text)
        if known is not None:
            return known  # type: ignore[no-any-return]
    work = (index.tfidf.transform([matter_text(n.text) for n in batch.needs], count_unseen=True),
            _need_tag_scores(batch, index), [read(n.text) for n in batch.needs])
    if len(batch) == 1:
        if len(index.text_memo) >= TEXT_MEMO_SIZE:
            index.text_memo.clear()
        index.text_memo[text] = work
    return work


# Below one visited cell in this many, a batch's text cosines use blocks of just the visited cells.
SPARSE_VISITS = 8
# Pairs whose cosines are computed at once, one dot product each (their rows copied side by side).
PAIR_CHUNK = 1 << 16


def _tier3_rest() -> float:
    """The most a tier 3 pair can score from everything but skill."""
    return WEIGHTS["tier"] * TIER_SCORES[TIER_ELSEWHERE] + sum(
        w for name, w in WEIGHTS.items() if name not in ("skill", "tier", "continuity"))


def tier3_min_skill(min_score: float = MIN_SCORE) -> float:
    """The skill value below which a tier 3 pair cannot reach ``min_score`` (0: any can)."""
    return max(0.0, (min_score - _tier3_rest()) / WEIGHTS["skill"])


def score_candidates(batch: NeedBatch, index: ProviderIndex, grid_map: GridMap, *,
                     widen_below: int = TOP_K, min_score: float = MIN_SCORE,
                     scorer: PairScorer | None = None, may_widen: np.ndarray | None = None) -> ScoredPairs:
    """Score the eligible pairs of tiers 1-2, then of tier 3 for the needs with fewer than
    ``widen_below`` usable pairs there (fit, scoring at least ``min_score``) or whose best usable
    pair there scores below what tier 3 might (:meth:`PairScorer.tier3_bound`), of those
    ``may_widen`` allows (default all); keep those scoring at least ``min_score``.

    Usable, not merely eligible: a need whose neighbours are free but unfit (a plumber next door
    for a piano lesson) must still see the fit provider across the subdistrict. Counting eligible
    pairs left one need's instant proposals (a council's list, the next after a decline) empty
    while the batch, widening by pricing, found the provider."""
    scorer = scorer or PairScorer(batch, index, grid_map, min_score=min_score)
    scored = scorer.near()
    n = len(batch)
    usable = np.bincount(scored.need, minlength=n)
    best_usable = np.full(n, -1.0)
    np.maximum.at(best_usable, scored.need, scored.score)
    wanted = (usable < widen_below) | (best_usable < scorer.tier3_bound())
    widen = np.flatnonzero(wanted if may_widen is None else wanted & may_widen)
    return scored.merged(scorer.wide(widen))[0] if widen.size else scored


def feature_values(steps: np.ndarray) -> np.ndarray:
    """Stepped features (uint16) as values in [0, 1]."""
    return np.asarray(steps, dtype=np.float64) / FEATURE_STEPS


def weighted_score(steps: np.ndarray) -> np.ndarray:
    """Sum of WEIGHTS x feature value, in FEATURES order, in float64."""
    score = np.zeros(steps.shape[0], dtype=np.float64)
    for k, name in enumerate(FEATURES):
        score += WEIGHTS[name] * feature_values(steps[:, k])
    return score


# -- skill ---------------------------------------------------------------------------------------
def _padded(text: str, index: ProviderIndex) -> str:
    pad = _SKILL_PAD * index.longest_tag
    return pad + text.lower() + pad


def skill_value(ratio: np.ndarray | float) -> np.ndarray:
    """A partial_ratio (0-100) as a feature: 0 at or below SKILL_FLOOR, 1 at 100."""
    return np.clip((np.asarray(ratio, dtype=np.float64) - SKILL_FLOOR) / (100.0 - SKILL_FLOOR), 0.0, 1.0)


def _need_tag_scores(batch: NeedBatch, index: ProviderIndex) -> sparse.csr_matrix:
    """Skill value of every (need, tag) that can score above zero, as a sparse matrix.

    A tag of m characters of which s occur in the text matches at most s of them, so its
    partial_ratio is at most 100 s / m; only pairs with 2 s > m can pass SKILL_FLOOR (50), and
    rapidfuzz scores only those: a few per need instead of every tag.
    """
    n, n_tags = len(batch), len(index.tags)
    if n == 0 or n_tags == 0 or index.tag_chars.size == 0:  # no provider has a skill tag
        return sparse.csr_matrix((n, n_tags), dtype=np.float64)
    texts = [skill_text(need.text).lower() for need in batch.needs]
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    cps = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    col = np.minimum(np.searchsorted(index.tag_chars, cps), index.tag_chars.size - 1)
    hit = index.tag_chars[col] == cps
    doc = np.repeat(np.arange(n), lengths)
    has_char = sparse.csr_matrix((np.ones(int(hit.sum()), dtype=np.float32), (doc[hit], col[hit])),
                                 shape=(n, index.tag_chars.size))
    has_char.sum_duplicates()
    has_char.data[:] = 1.0
    shared = (has_char @ index.tag_char_matrix.T).tocoo()
    can_pass = 2 * shared.data > index.tag_len[shared.col]
    rows, tags = shared.row[can_pass], shared.col[can_pass]
    padded = [_padded(t, index) for t in texts]
    ratios = process.cpdist([index.match_tags[t] for t in tags.tolist()],
                            [padded[i] for i in rows.tolist()],
                            scorer=fuzz.partial_ratio, score_cutoff=SKILL_FLOOR, dtype=np.float64,
                            workers=-1 if rows.size >= _RAPIDFUZZ_PARALLEL_MIN else 1)
    values = skill_value(ratios)
    positive = values > 0
    return sparse.csr_matrix((values[positive], (rows[positive], tags[positive])), shape=(n, n_tags),
                             dtype=np.float64)


def _pair_skill(need: np.ndarray, provider: np.ndarray, index: ProviderIndex,
                skills: sparse.csr_matrix) -> np.ndarray:
    """Best skill value over each pair's provider tags. Pairs come need by need, so the need x
    tag values are made dense a slab of needs at a time, with one more column of zeros that the
    padding of :attr:`ProviderIndex.tag_pad` points at."""
    out = np.zeros(need.size, dtype=np.float64)
    if need.size == 0 or skills.nnz == 0:
        return out
    n_needs, n_tags = skills.shape
    pad = index.tag_pad.shape[1]
    slab = max(1, _SKILL_DENSE_CELLS // (n_tags + 1))
    bounds = np.searchsorted(need, np.arange(0, n_needs + slab, slab))
    for lo_need, (lo, hi) in zip(range(0, n_needs, slab), zip(bounds[:-1], bounds[1:])):
        if lo == hi:
            continue
        part = skills[lo_need: lo_need + slab]
        dense = np.zeros((part.shape[0], n_tags + 1), dtype=np.float64)
        dense[:, :n_tags] = part.toarray()
        for start in range(lo, hi, _SKILL_PAIRS_AT_ONCE):
            stop = min(hi, start + _SKILL_PAIRS_AT_ONCE)
            rows = need[start:stop] - lo_need
            provs = provider[start:stop]
            best = dense[rows[:, None], index.tag_pad[provs]].max(axis=1, initial=0.0)
            # Providers with more tags than the padding holds: the rest of their tags one by one.
            many = np.flatnonzero(index.tag_count[provs] > pad)
            if many.size:
                extra = index.tag_count[provs[many]] - pad
                owner = np.repeat(many, extra)
                tag = index.tag_ids[concat_ranges(index.tag_ptr[provs[many]] + pad, extra)]
                np.maximum.at(best, owner, dense[rows[owner], tag])
            out[start:stop] = best
    return out


def best_tag(need: NeedView, provider_row: int, index: ProviderIndex) -> str | None:
    """The provider's tag that matches the need best (first among equals), or None if none
    passes SKILL_FLOOR. Same computation as the skill feature."""
    text = _padded(skill_text(need.text), index)
    best, best_ratio = None, SKILL_FLOOR
    for t in index.tag_ids[index.tag_ptr[provider_row]: index.tag_ptr[provider_row + 1]].tolist():
        ratio = fuzz.partial_ratio(index.match_tags[t], text)
        if ratio > best_ratio:
            best, best_ratio = index.tags[t], ratio
    return best


# -- proposals -----------------------------------------------------------------------------------
def make_matches(needs: Sequence[NeedView], provider_rows: np.ndarray, tiers: np.ndarray,
                   features: np.ndarray, scores: np.ndarray, index: ProviderIndex,
                   skills: sparse.csr_matrix | None = None,
                   need_rows: np.ndarray | None = None) -> list[Match]:
    """One :class:`Match` per (need, provider row, tier, feature row, score).

    With the batch's need x tag ``skills`` and each need's row in it, the best tags come from
    there instead of being scored again.
    """
    provider_rows = np.asarray(provider_rows, dtype=np.int64)
    if skills is not None and need_rows is not None:
        tags = best_tags(np.asarray(need_rows, dtype=np.int64), provider_rows, index, skills)
    else:
        tags = [best_tag(n, r, index) for n, r in zip(needs, provider_rows.tolist())]
    out = []
    for need, row, tier, values, score, tag in zip(needs, provider_rows.tolist(),
                                                   np.asarray(tiers).tolist(),
                                                   feature_values(features).tolist(),
                                                   np.asarray(scores).tolist(), tags):
        provider = index.providers[row]
        named = dict(zip(FEATURES, values))
        out.append(Match(
            need_id=need.id, provider_kind=provider.kind, provider_id=provider.id,
            provider_ref=provider.ref, provider_name=provider.name, score=score, tier=tier,
            features=named, contributions={name: WEIGHTS[name] * v for name, v in named.items()},
            explanation=explain(need, provider, tier, tag if named["skill"] > 0 else None,
                                recipient=named["recipient"] > 0, continuity=named["continuity"] > 0),
            service=need.service))
    return out


def best_tags(need_rows: np.ndarray, provider_rows: np.ndarray, index: ProviderIndex,
              skills: sparse.csr_matrix) -> list[str | None]:
    """:func:`best_tag` of many pairs at once, read from the batch's need x tag skill values."""
    if need_rows.size == 0:
        return []
    n_tags = skills.shape[1]
    dense = np.zeros((need_rows.size, n_tags + 1), dtype=np.float64)
    dense[:, :n_tags] = skills[need_rows].toarray()
    padded = index.tag_pad[provider_rows]
    values = dense[np.arange(need_rows.size)[:, None], padded]
    pick = values.argmax(axis=1)  # first of equals, in the provider's own order
    best = padded[np.arange(need_rows.size), pick]
    found = values.max(axis=1) > 0
    out: list[str | None] = [index.tags[t] if ok else None for t, ok in zip(best.tolist(), found.tolist())]
    # A provider with more tags than the padding holds: look at all of them.
    for k in np.flatnonzero(index.tag_count[provider_rows] > index.tag_pad.shape[1]).tolist():
        row = int(provider_rows[k])
        tags = index.tag_ids[index.tag_ptr[row]: index.tag_ptr[row + 1]]
        vals = dense[k, tags]
        out[k] = index.tags[int(tags[vals.argmax()])] if vals.max() > 0 else None
    return out


def explain(need: NeedView, provider: ProviderView, tier: int, skill_tag: str | None,
            recipient: bool = False, continuity: bool = False) -> str:
    """One line in Chinese: where, who served the last time (a recurring need), what skill (and the
    need's words that asked for it), for whom, when, how busy (and how reliable, with history)."""
    parts = [RESOURCE_TIER_LABEL_ZH if provider.kind == ProviderKind.RESOURCE else TIER_LABELS_ZH[tier]]
    if continuity:
        parts.append(CONTINUITY_LABEL_ZH)
    if skill_tag:
        reading = read(need.text)
        said = reading.triggers.get(canonical_tag(skill_tag), ())
        heard = [w for w in said if w != skill_tag]
        parts.append(f"技能：{skill_tag}" + (f"（“{'”“'.join(heard)}”）" if heard else ""))
    else:
        parts.append(f"提供{SERVICE_LABELS_ZH.get(need.service, need.service)}")
    if recipient:
        parts.append("服务对象：" + "、".join(RECIPIENT_LABELS_ZH[g] for g in sorted(read(need.text).recipients)
                                           if g in RECIPIENT_LABELS_ZH))
    if need.window is None:
        parts.append("时间灵活")
    elif not provider.slots:
        parts.append("随时可约")
    else:
        labels = list(dict.fromkeys(s.label_zh() for s in overlapping_slots(provider.slots, need.window)))
        parts.append("、".join(labels[:MAX_SLOT_LABELS]) + "有空")
    parts.append(f"当前任务 {provider.load}/{provider.capacity}")
    if provider.reliability is not None:
        parts.append(f"完成率 {round(100 * provider.reliability)}%")
    return EXPLANATION_SEPARATOR.join(parts)


def make_match(need: NeedView, provider_row: int, tier: int, features: np.ndarray, score: float,
                  index: ProviderIndex) -> Match:
    return make_matches([need], np.array([provider_row]), np.array([tier]),
                          np.asarray(features).reshape(1, -1), np.array([score]), index)[0]


def propose(need: NeedView, index: ProviderIndex, grid_map: GridMap, limit: int = 10, *,
            min_score: float = MIN_SCORE) -> list[Match]:
    """Up to ``limit`` providers for one need, best first, none below ``min_score``.

    Candidates come from tiers 1-2, and from tier 3 too when those give fewer than ``limit``. When
    nobody of the need's service can serve it (or the classifier was unsure of the service), the
    providers of any service whose skill matches strongly, marked for a coordinator to confirm; and
    when its service has nobody nearer than across the subdistrict, such providers in or next to
    its grid come first (as in :func:`matching.engine.across_services`). When none of these can
    come in the need's window, its own service's government resources at another time, marked for
    a coordinator to agree the time with the resident (:func:`matching.engine.another_time`).
    """
    # The need's text is read, vectorised and matched against the tags once, for its own service
    # and for every other one it may be proposed in.
    scorer = PairScorer(NeedBatch.of([need]), index, grid_map, min_score=min_score)
    ranked = [] if need.tentative else _propose_within(need, index, grid_map, limit, min_score, scorer)
    if not ranked:
        ranked = propose_across_services(need, index, grid_map, limit, min_score=min_score, scorer=scorer)
        if not ranked and need.window is not None and not need.tentative:
            # Nobody fit can come in the resident's window: the fit desks at another time, to agree.
            flexible = replace(need, window=None)
            found = _propose_within(flexible, index, grid_map, limit + DESK_SEARCH, min_score,
                                    scorer.in_service(NeedBatch.of([flexible])))
            ranked = [at_another_time(m, need) for m in found if m.provider_kind == ProviderKind.RESOURCE][:limit]
        return ranked
    if ranked[0].tier == TIER_ELSEWHERE:
        near = [m for m in propose_across_services(need, index, grid_map, limit, min_score=min_score,
                                                   scorer=scorer)
                if m.tier <= TIER_NEIGHBOUR]
        return (near + ranked)[:limit]
    return ranked


def alternatives(need: NeedView) -> list[NeedView]:
    """The need as each service that might serve it by skill: every other service, and its own too
    when the classifier was unsure of it."""
    return [replace(need, service=s, tentative=False) for s in Service if need.tentative or s != need.service]


# Candidates looked through, beyond the limit, for desks to offer at another time (volunteers rank
# among them and are not offered so).
DESK_SEARCH = 50
# How a proposal at another time than the resident's window says so: a coordinator agrees the time.
ANOTHER_TIME_ZH = "居民所约时段内没有对口的服务方，改约其他时间，需协调员与居民确认"


def at_another_time(match: Match, need: NeedView) -> Match:
    """``match`` of ``need`` without its window, marked for a coordinator to agree another time."""
    return replace(match, need_id=need.id, confirm=True,
                   explanation=ANOTHER_TIME_ZH + EXPLANATION_SEPARATOR + match.explanation)


def confirmed(match: Match, need: NeedView) -> Match:
    """``match`` of an alternative of ``need``, marked for a coordinator's confirmation."""
    mark = (f"按技能跨服务推荐（{SERVICE_LABELS_ZH.get(match.service, match.service)}），需协调员确认"
            if match.service != need.service else "分类把握不足，按技能推荐，需协调员确认")
    return replace(match, need_id=need.id, confirm=True,
                   explanation=mark + EXPLANATION_SEPARATOR + match.explanation)


def strong(match: Match) -> bool:
    return match.features["skill"] >= STRONG_SKILL


def strong_tags(needs: Sequence[NeedView], index: ProviderIndex) -> list[np.ndarray]:
    """For each need, the provider tags (ids) matching its words strongly: what a proposal across
    services must hold."""
    if not needs:
        return []
    skills = _need_tag_scores(NeedBatch.of(list(needs)), index)
    skills.data[skills.data < STRONG_SKILL] = 0
    skills.eliminate_zeros()
    return np.split(skills.indices, skills.indptr[1:-1])


def propose_across_services(need: NeedView, index: ProviderIndex, grid_map: GridMap, limit: int = 10, *,
                            min_score: float = MIN_SCORE, scorer: PairScorer | None = None) -> list[Match]:
    """Providers of any service whose skill matches the need strongly, marked for confirmation.
    ``scorer``: one already made for this need (with this index, map and ``min_score``)."""
    alts = alternatives(need)
    batch = NeedBatch.of(alts)
    base = scorer or PairScorer(NeedBatch.of([need]), index, grid_map, min_score=min_score)
    each = base.repeated(batch)
    scored = score_candidates(batch, index, grid_map, widen_below=limit, min_score=min_score, scorer=each)
    # Pairs come ordered by need row, then best first: each alternative's top ``limit``.
    starts = np.searchsorted(scored.need, np.arange(len(batch) + 1))
    top = np.concatenate([np.arange(s, min(s + limit, e)) for s, e in zip(starts[:-1], starts[1:])]
                         ).astype(np.int64)
    rows = scored.need[top]
    best: dict[tuple[str, int], Match] = {}
    for m in make_matches([alts[r] for r in rows.tolist()], scored.provider[top], scored.tier[top],
                          scored.features[top], scored.score[top], index, each.skills, rows):
        if strong(m) and (m.provider_key not in best or m.score > best[m.provider_key].score):
            best[m.provider_key] = confirmed(m, need)
    return sorted(best.values(), key=lambda m: (-m.score, m.provider_key))[:limit]


def _propose_within(need: NeedView, index: ProviderIndex, grid_map: GridMap, limit: int,
                    min_score: float, base: PairScorer | None = None) -> list[Match]:
    """Up to ``limit`` providers of the need's own service, best first. ``base``: a scorer of the
    same need (in any service) whose text work is reused."""
    batch = NeedBatch.of([need])
    scorer = (PairScorer(batch, index, grid_map, min_score=min_score) if base is None
              else base.in_service(batch))
    scored = score_candidates(batch, index, grid_map, widen_below=limit, min_score=min_score,
                              scorer=scorer)
    top = slice(0, min(limit, len(scored)))
    return make_matches([need] * (top.stop or 0), scored.provider[top], scored.tier[top],
                          scored.features[top], scored.score[top], index, scorer.skills,
                          scored.need[top])


def priorities(needs: Sequence[NeedView]) -> np.ndarray:
    """URGENCY_PRIORITY of each need (normal for an unknown urgency)."""
    default = URGENCY_PRIORITY[Urgency.NORMAL]
    return np.fromiter((URGENCY_PRIORITY.get(n.urgency, default) for n in needs), dtype=np.float64,
                       count=len(needs))
