"""Fuzzy search of names and skills that tolerates typos and variant characters.

Chinese names often differ by a homophone (张晓明 / 张小明) or a variant character, so a name is
compared both as characters and as toneless pinyin; skills are compared as characters.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process, utils

MIN_SEARCH_SCORE = 60.0  # rapidfuzz scores are 0–100
PINYIN_WEIGHT = 0.95  # a pinyin-only match ranks just below the same match in characters


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    id: int
    name: str
    score: float
    matched: str  # "name", "pinyin" or the skill that matched


@lru_cache(maxsize=65536)
def pinyin_key(text: str) -> str:
    return " ".join(lazy_pinyin(text))


def fuzzy_search(query: str, candidates: list[Candidate], limit: int = 10,
                 min_score: float = MIN_SEARCH_SCORE) -> list[Hit]:
    """The best ``limit`` candidates for ``query`` by name (characters or pinyin) or skill."""
    query = query.strip()
    if not query or not candidates:
        return []
    names = [c.name for c in candidates]
    by_name = process.cdist([query], names, scorer=fuzz.WRatio, processor=utils.default_process)[0]
    query_py = pinyin_key(query)
    by_pinyin = process.cdist([query_py], [pinyin_key(n) for n in names], scorer=fuzz.ratio)[0]
    hits: list[Hit] = []
    for i, cand in enumerate(candidates):
        best, matched = float(by_name[i]), "name"
        if by_pinyin[i] * PINYIN_WEIGHT > best:
            best, matched = float(by_pinyin[i]) * PINYIN_WEIGHT, "pinyin"
        for skill in cand.skills:
            s = fuzz.ratio(query, skill) if len(query) <= len(skill) + 1 else fuzz.partial_ratio(skill, query)
            # Two-character skills differ by half on one wrong character (陪珍/陪诊): their sound agrees.
            s = max(s, fuzz.ratio(query_py, pinyin_key(skill)) * PINYIN_WEIGHT)
            if s > best:
                best, matched = float(s), skill
        if best >= min_score:
            hits.append(Hit(cand.id, cand.name, round(best, 1), matched))
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits[:limit]


# Rows compared with every other at once: a block of 500 against 50,000 stays near 100 MB; the whole
# file at once would need n x n scores (a 50,000-row file: about 10 GB).
DUPLICATE_BLOCK_ROWS = 500


def _similar_names(chars: list[str], pys: list[str], threshold: float) -> dict[tuple[int, int], float]:
    """(i, j) with i < j → the better of the two names' character and pinyin similarity, where it
    reaches ``threshold``; computed a block of rows at a time."""
    found: dict[tuple[int, int], float] = {}
    for start in range(0, len(chars), DUPLICATE_BLOCK_ROWS):
        stop = min(len(chars), start + DUPLICATE_BLOCK_ROWS)
        block = process.cdist(chars[start:stop], chars, scorer=fuzz.ratio, score_cutoff=threshold,
                              dtype=np.float32, workers=-1)
        np.maximum(block, process.cdist(pys[start:stop], pys, scorer=fuzz.ratio, score_cutoff=threshold,
                                        dtype=np.float32, workers=-1), out=block)
        for row, j in np.argwhere(block >= threshold):
            i = start + int(row)
            if int(j) > i:
                found[(i, int(j))] = float(block[row, j])
    return found


def probable_duplicates(names: list[tuple[str, str, str]], threshold: float = 90.0) -> list[tuple[str, str, str]]:
    """Pairs of (ref, name, phone) rows that are probably the same provider.

    Two rows are reported when their names match closely (characters or pinyin) and their phones
    are equal or differ by a typo, or when the phones are equal and non-empty. Never merged: reported.
    Returns (ref_a, ref_b, reason) with a reason in Chinese.
    """
    out: list[tuple[str, str, str]] = []
    if len(names) < 2:
        return out
    refs = [r for r, _, _ in names]
    chars = [n for _, n, _ in names]
    pys = [pinyin_key(n) for n in chars]
    phones = [p for _, _, p in names]
    name_sim = _similar_names(chars, pys, threshold)
    pairs: set[tuple[int, int]] = set(name_sim)
    by_phone: dict[str, list[int]] = {}
    for i, phone in enumerate(phones):
        if phone:
            by_phone.setdefault(phone, []).append(i)
    for group in by_phone.values():
        pairs.update((a, b) for k, a in enumerate(group) for b in group[k + 1:])
    for i, j in sorted(pairs):
        same_phone = bool(phones[i]) and phones[i] == phones[j]
        if name_sim.get((i, j), 0.0) >= threshold:
            phone_sim = fuzz.ratio(phones[i], phones[j]) if phones[i] and phones[j] else 100.0
            if phone_sim >= 90:
                how = "相同" if same_phone else ("相近" if phones[i] and phones[j] else "未填")
                out.append((refs[i], refs[j], f"姓名相近（{chars[i]} / {chars[j]}），电话{how}"))
                continue
        if same_phone:
            out.append((refs[i], refs[j], f"电话相同（{phones[i]}）"))
    return out
