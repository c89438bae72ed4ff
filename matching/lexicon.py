"""How residents say what they need, and who it is for.

A resident writes "理个发", "剪个头", "水龙头坏了", not "理发" or "水管维修"; and "给卧床的老人剪指甲"
asks for 剪指甲 for an old person, not for elder care. Reading a need (:func:`read`):

1. **Fold** the everyday forms of verb–object words back into the word: a measure word or an aspect
   particle between verb and object (理个发, 洗了个澡, 修一下水龙头) and a doubled verb (量量血压,
   剪剪头发, 量了量血压) become 理发, 洗澡, 修水龙头, 量血压, 剪头发.
2. **Segment** with jieba (rjieba, the jieba-rs segmenter), every word of the tables a user word, so
   a skill word is never cut in two and never matched inside a longer word it is not part of.
3. **Look up** each word, and each run of up to four words ("漏到楼下"), in the synonym table
   (``data/skill_words.csv``: ``tag,word``): the skill tags the need calls for, each with the words
   that called it. Providers' own tags go through the same table (:func:`canonical_tag`), so
   "血压监测" on one side and "量量血压" on the other meet at one tag.
4. **Recipients** (``data/recipients.csv``): words saying who the need is for (老人, 孩子, 残疾人)
   give a group and never call a skill; providers' tags naming a group (助老, 青少年服务) say whom
   they serve, and are not skills either. The scorer weighs that as a feature of its own.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import rjieba

DATA = Path(__file__).resolve().parent / "data"
# A segmenter word of the tables outweighs the general dictionary's words around it.
USER_WORD_FREQUENCY = 1_000_000
# Runs of segmented words looked up as one ("漏到楼下" is 漏 / 到 / 楼下).
MAX_RUN = 4
# Verbs whose objects people split off or whose verb they double (理个发, 量量血压).
SEPARABLE_VERBS = "理剪洗量测修换开通打扫擦搬陪买送做看补装拿取跑读教剃按推扛晒缝配办交缴查"
# What goes between such a verb and its object, longest first; the verb itself stands for doubling.
FILLERS = ("了一个", "了个", "一个", "一下", "一下子", "点儿", "个", "下", "了", "点", "一")
_DOUBLED = object()  # marks "the verb again" among the fillers


@dataclass(frozen=True)
class Reading:
    """What a need's text says: the skill tags it calls for (first mention first), the words that
    called each, and the groups of people it is for."""
    folded: str
    tags: tuple[str, ...]
    triggers: dict[str, tuple[str, ...]]
    recipients: frozenset[str]


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _load() -> tuple[dict[str, tuple[str, ...]], dict[str, str], dict[str, str]]:
    word_tags: dict[str, list[str]] = {}
    for row in _rows("skill_words.csv"):
        tags = word_tags.setdefault(row["word"].lower(), [])
        if row["tag"] not in tags:
            tags.append(row["tag"])
    recipient_words: dict[str, str] = {}
    recipient_tags: dict[str, str] = {}
    for row in _rows("recipients.csv"):
        (recipient_tags if row["kind"] == "tag" else recipient_words)[row["word"].lower()] = row["group"]
    return {w: tuple(t) for w, t in word_tags.items()}, recipient_words, recipient_tags


WORD_TAGS, RECIPIENT_WORDS, RECIPIENT_TAGS = _load()
SKILL_TAGS: frozenset[str] = frozenset(t for tags in WORD_TAGS.values() for t in tags)
RECIPIENT_GROUPS: tuple[str, ...] = tuple(sorted(set(RECIPIENT_WORDS.values()) | set(RECIPIENT_TAGS.values())))
RECIPIENT_LABELS_ZH: dict[str, str] = {"elderly": "老人", "children": "孩子", "disabled": "行动不便者"}


def _separable_objects() -> dict[str, tuple[str, ...]]:
    """Verb -> the objects it takes in the table (longest first)."""
    objects: dict[str, set[str]] = {}
    for word in WORD_TAGS:
        if 2 <= len(word) <= 4 and word[0] in SEPARABLE_VERBS:
            objects.setdefault(word[0], set()).add(word[1:])
    return {v: tuple(sorted(objs, key=len, reverse=True)) for v, objs in objects.items()}


_OBJECTS = _separable_objects()
# Table words of two characters or more, longest first: found inside a longer segmented word too.
# (One character alone, 烟 or 臭, says something only as a word of its own.)
_INNER_WORD = re.compile("|".join(re.escape(w) for w in sorted((w for w in WORD_TAGS if len(w) >= 2),
                                                                key=len, reverse=True)))


def fold(text: str) -> str:
    """Separated and doubled verb–object words folded back (理个发 → 理发, 量量血压 → 量血压)."""
    return _folded(text)[0]


def _folded(text: str) -> tuple[str, dict[str, str]]:
    """The folded text, and for each folded word the words the resident wrote (理发 → 理个发)."""
    out: list[str] = []
    said: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        verb = text[i]
        objects = _OBJECTS.get(verb)
        folded = _fold_at(text, i, verb, objects) if objects else None
        if folded is None:
            out.append(verb)
            i += 1
        else:
            word, end = folded
            said.setdefault(word, text[i:end])
            out.append(word)
            i = end
    return "".join(out), said


def _fold_at(text: str, i: int, verb: str, objects: tuple[str, ...]) -> tuple[str, int] | None:
    """The folded word starting at ``i`` and where it ends, if the verb there is split or doubled."""
    for filler in (*FILLERS, verb, "了" + verb, "一" + verb):
        start = i + 1 + len(filler)
        if not text.startswith(filler, i + 1):
            continue
        for obj in objects:
            if text.startswith(obj, start):
                return verb + obj, start + len(obj)
    return None


@lru_cache(maxsize=1)
def _segmenter() -> rjieba.Jieba:
    jieba = rjieba.Jieba()
    for word in (*WORD_TAGS, *RECIPIENT_WORDS):
        jieba.add_word(word, USER_WORD_FREQUENCY, None)
    return jieba


@lru_cache(maxsize=262_144)
def read(text: str) -> Reading:
    """What ``text`` calls for and whom it is for (see the module doc)."""
    folded, said = _folded(text.lower())
    words = [w for w in _segmenter().cut(folded, hmm=False) if w.strip()]
    triggers: dict[str, list[str]] = {}
    recipients: set[str] = set()

    def found(tag: str, word: str) -> None:
        heard = triggers.setdefault(tag, [])
        if said.get(word, word) not in heard:
            heard.append(said.get(word, word))

    for start in range(len(words)):
        run = ""
        for k, word in enumerate(words[start:start + MAX_RUN]):
            run += word
            for tag in WORD_TAGS.get(run, ()):
                found(tag, run)
            if run in RECIPIENT_WORDS:
                recipients.add(RECIPIENT_WORDS[run])
            if k == 0 and run not in WORD_TAGS:
                # A table word inside a longer word of the general dictionary (电视 in 电视机).
                for inner in _INNER_WORD.findall(run):
                    for tag in WORD_TAGS[inner]:
                        found(tag, inner)
    return Reading(folded=folded, tags=tuple(triggers), triggers={t: tuple(w) for t, w in triggers.items()},
                   recipients=frozenset(recipients))


def called_tags(text: str) -> list[str]:
    """The skill tags a need's words call for, in order of first mention."""
    return list(read(text).tags)


@lru_cache(maxsize=262_144)
def skill_text(text: str) -> str:
    """What the skill and text features read: the folded text, the words that only name whom the need
    is for taken out, and the skill tags it calls for appended."""
    reading = read(text)
    words = [w for w in _segmenter().cut(reading.folded, hmm=False) if w not in RECIPIENT_WORDS]
    core = "".join(words)
    return f"{core} {' '.join(reading.tags)}" if reading.tags else core


def canonical_tag(tag: str) -> str:
    """A provider's tag as the table names its skill ("血压监测" → "测血压"); other tags as they are."""
    tags = WORD_TAGS.get(tag.lower(), ())
    return tags[0] if len(tags) == 1 else tag


def recipient_group(tag: str) -> str | None:
    """The group of people a provider's tag says it serves (助老 → elderly), or None for a skill."""
    return RECIPIENT_TAGS.get(tag.lower())


def recipients(text: str) -> frozenset[str]:
    return read(text).recipients
