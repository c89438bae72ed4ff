"""How residents say what they need, and who it is for.

A resident writes "理个发", "剪个头", "水龙头坏了", not "理发" or "水管维修"; and "给卧床的老人剪指甲"
asks for 剪指甲 for an old person, not for elder care. Reading a need (:func:`read`):

1. **Fold** the everyday forms of verb–object words back into the word: a measure word or an aspect
   particle between verb and object (理个发, 洗了个澡, 修一下水龙头) and a doubled verb (量量血压,
   剪剪头发, 量了量血压) become 理发, 洗澡, 修水龙头, 量血压, 剪头发.
2. **Segment** with jieba (rjieba, the jieba-rs segmenter), every word of the tables a user word, so
   a skill word is never cut in two and never matched inside a longer word it is not part of.
3. **Look up** each segmented word in the synonym table (``data/skill_words.csv``: ``tag,word``):
   the skill tags the need calls for, each with the words that called it; a table word of two
   characters or more inside a longer word of the general dictionary counts too (电视 in 电视机).
   Providers' own tags go through the same table (:func:`canonical_tag`), so "血压监测" on one side
   and "量量血压" on the other meet at one tag; a provider's tag names other skills too
   (``data/broader_skills.csv``): its broader skill (邻里调解 is 调解, 水管维修 is part of 装修), or one
   its holder has by the same mandate (城管 enforcing 占道经营 enforce the noise rules too, 噪音扰民).
   **Slips of the input method**: a resident typing pinyin picks a homophone (电题 for 电梯, 水笼头
   for 水龙头). A span whose pinyin is a table word's, spelled otherwise, calls that word's tags when
   it is no word of its own (电题 is none; 心里 is one, and says 心里, not 心理) or is three
   syllables or more (水笼头), keeps at least half of the word's characters, and starts and ends
   where the segmenter cuts: :func:`_homophone_hits`.
4. **Recipients** (``data/recipients.csv``): words saying who the need is for (老人, 孩子, 残疾人)
   give a group and never call a skill; providers' tags naming a group (助老, 青少年服务) say whom
   they serve, and are not skills either. The scorer weighs that as a feature of its own.
5. **The request and its story.** A need often tells a story before it asks ("楼上漏水，邻居联系
   不上，先找师傅把我家的水管修好"). The request starts at its first marker (想, 请, 找人, 需要, 能不能...)
   that a skill word follows; when the request names a skill, the skills the story mentions are not
   asked for (:class:`Reading`). Plain help (搬运, 代跑腿) is asked for but is no skill: any willing
   neighbour can give it.
"""
from __future__ import annotations

import csv
import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

import rjieba
from pypinyin import lazy_pinyin

DATA = Path(__file__).resolve().parent / "data"
# A segmenter word of the tables outweighs the general dictionary's words around it.
USER_WORD_FREQUENCY = 1_000_000
# Verbs whose objects people split off or whose verb they double (理个发, 量量血压).
SEPARABLE_VERBS = "理剪洗量测修换开通打扫擦搬陪买送做看补装拿取跑读教剃按推扛晒缝配办交缴查"
# What goes between such a verb and its object, longest first; the verb itself stands for doubling.
FILLERS = ("了一个", "了个", "一个", "一下", "一下子", "点儿", "个", "份", "下", "了", "点", "一")


# Help anyone able gives (carrying, an errand): asking for it is asking for no skill.
PLAIN_HELP_TAGS = frozenset({"代跑腿", "搬运"})
# A request starts at one of these (需: 需要, 急需); the clauses before it tell the story (楼上漏水，
# 邻居不在家，先找师傅把水管修好). 请 but not 申请 or 邀请; 找 only with whom (找人, 找个), not 找他们 (the other side).
_ASK_MARKER = re.compile("想|(?<![申邀])请|找人|找个|找位|找一个|找师傅|需|希望|麻烦|能不能|能否|可不可以|"
                         "有没有人|帮忙|求助")
_CLAUSE = re.compile(r"[^，。！？；,.!?;、\s~～]+")


@dataclass(frozen=True, slots=True)
class Reading:
    """What a need's text says: the skill tags it calls for (first mention first), the words that
    called each, and the groups of people it is for. When the request itself names a skill, the tags
    are those of the request: "跟楼上漏水的事已经调解好了，现在想找人把墙面刷一刷" asks for 装修, and
    漏水 and 调解 are its story."""
    folded: str
    # What the skill feature reads: the request when it names a skill, else the whole text; either
    # without the words that only say whom the need is for.
    core: str
    whole: str  # the whole text without those words, for the text feature
    mentioned: tuple[str, ...]  # the tags of the whole text, story too
    tags: tuple[str, ...]
    triggers: dict[str, tuple[str, ...]]
    recipients: frozenset[str]
    asks_skill: bool = False  # a skill other than plain help: a provider merely free is no match
    open_request: bool = False  # the request names no skill; the story's skills do not make it ask one


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
BROADER: dict[str, tuple[str, ...]] = {}
for _row in _rows("broader_skills.csv"):
    BROADER[_row["tag"]] = (*BROADER.get(_row["tag"], ()), _row["broader"])
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
# Where a fold may start: a separable verb followed by a filler or by itself (most texts have none).
_FOLD_START = re.compile(f"([{SEPARABLE_VERBS}])(?=\\1|{'|'.join(FILLERS)})")


def fold(text: str) -> str:
    """Separated and doubled verb–object words folded back (理个发 → 理发, 量量血压 → 量血压)."""
    return _folded(text)[0]


def _folded(text: str) -> tuple[str, dict[str, str]]:
    """The folded text, and for each folded word the words the resident wrote (理发 → 理个发)."""
    out: list[str] = []
    said: dict[str, str] = {}
    done = 0
    for hit in _FOLD_START.finditer(text):
        i = hit.start()
        if i < done:
            continue
        verb = text[i]
        folded = _fold_at(text, i, verb, _OBJECTS[verb]) if verb in _OBJECTS else None
        if folded is not None:
            word, end = folded
            said.setdefault(word, text[i:end])
            out += (text[done:i], word)
            done = end
    return ("".join(out) + text[done:] if out else text), said


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


def _syllables(text: str) -> list[str]:
    """Toneless pinyin, one item per character (a character that is no hanzi stands for itself)."""
    # pypinyin reads each item of a list on its own, so a character's sound never depends on its
    # neighbours: looked up once per process, not converted again in every text (a third of a
    # 5,000-need batch's reading went to pypinyin).
    return [_sound(ch) for ch in text]


@lru_cache(maxsize=65_536)
def _sound(ch: str) -> str:
    return lazy_pinyin([ch])[0]


def _hanzi(word: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in word)


# Table words of two hanzi or more by their pinyin: what a homophone slip of them sounds like.
_BY_SOUND: dict[tuple[str, ...], tuple[str, ...]] = {}
for _word in sorted(WORD_TAGS):
    if len(_word) >= 2 and _hanzi(_word):
        _key = tuple(_syllables(_word))
        _BY_SOUND[_key] = (*_BY_SOUND.get(_key, ()), _word)
_SOUND_LENGTHS: tuple[int, ...] = tuple(sorted({len(k) for k in _BY_SOUND}))
# A slip of this many syllables or more is taken even when the segmenter knows it as a word
# (水笼头): homophones that long are slips, not other words.
LONG_SLIP_SYLLABLES = 3


def _homophone_hits(folded: str, bounds: set[int],
                    taken: list[tuple[int, int]]) -> list[tuple[str, str, str, int]]:
    """(tag, table word, what the resident typed, where) of each homophone slip of a table word in
    ``folded``: spans starting and ending where the segmenter cut (``bounds``; 钟点工 holds no 电工),
    outside the spans ``taken`` by words of the table written right."""
    if not any(_hanzi(ch) for ch in folded):
        return []
    sounds = _syllables(folded)
    hits: list[tuple[str, str, str, int]] = []
    for at in sorted(bounds):
        for length in _SOUND_LENGTHS:
            if at + length not in bounds:
                continue
            words = _BY_SOUND.get(tuple(sounds[at: at + length]))
            if words is None:
                continue
            typed = folded[at: at + length]
            if typed in WORD_TAGS or not _hanzi(typed) or any(a < at + length and at < b for a, b in taken):
                continue
            if length < LONG_SLIP_SYLLABLES and _segmenter().cut(typed, hmm=False) == [typed]:
                continue  # a word of its own (心里, 实践): what the resident meant
            # A slip changes some characters of the word, not all (住裕安花园 holds no 助浴).
            kept = [w for w in words if 2 * sum(a == b for a, b in zip(w, typed)) >= length]
            hits += [(tag, word, typed, at) for word in kept for tag in WORD_TAGS[word]]
    return hits


def warm() -> None:
    """Load the segmenter now (a tenth of a second, once per process) rather than in the first read."""
    _segmenter()


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
    cut = _segmenter().cut(folded, hmm=False)
    offsets = list(accumulate(map(len, cut), initial=0))
    hits: list[tuple[str, str, int]] = []  # (tag, the table word, where it starts), in reading order
    taken: list[tuple[int, int]] = []  # where table words stand, written right
    recipients: set[str] = set()
    for word, at in zip(cut, offsets):
        called = WORD_TAGS.get(word)
        if called is not None:
            hits += [(tag, word, at) for tag in called]
            taken.append((at, at + len(word)))
        elif len(word) > 2:  # a table word inside a longer word of the general dictionary (电视机)
            for inner in _INNER_WORD.finditer(word):
                hits += [(tag, inner.group(), at + inner.start()) for tag in WORD_TAGS[inner.group()]]
                taken.append((at + inner.start(), at + inner.end()))
        group = RECIPIENT_WORDS.get(word)
        if group is not None:
            recipients.add(group)
    slips = _homophone_hits(folded, set(offsets), taken)
    if slips:
        for _tag, word, typed, _at in slips:
            said.setdefault(word, typed)
        hits = sorted([*hits, *((tag, word, at) for tag, word, _typed, at in slips)], key=lambda h: h[2])
    last_at: dict[str, int] = {}  # tag -> where the last word calling it starts
    triggers: dict[str, list[str]] = {}
    for tag, word, at in hits:
        last_at[tag] = at
        heard = triggers.setdefault(tag, [])
        if said.get(word, word) not in heard:
            heard.append(said.get(word, word))
    markers = _ask_markers(folded)
    # The request runs from its first marker on, if a skill is named after it ("想找人修空调，周六
    # 在家，麻烦了"); a marker after the last skill word (麻烦了) starts no request for one.
    last_word = max(last_at.values(), default=-1)
    ask = next((m for m in markers if m <= last_word), None)
    asked = [t for t in triggers if last_at[t] >= ask] if ask is not None else []
    # Without the words naming whom the need is for (cut never splits one: each is a user word).
    whole = "".join([w for w in cut if w not in RECIPIENT_WORDS]) if recipients else folded
    if ask is not None and asked:  # the request names its skill: the rest is the story around it
        tags = asked
        first = bisect_left(offsets, ask)  # the first word starting at or after the marker
        core = "".join([w for w in cut[first:] if w not in RECIPIENT_WORDS]) if recipients else \
            folded[offsets[first]:]
    else:
        tags, core = list(triggers), whole
    # A request naming no skill ("想找人帮忙推她过去") asks for none, whatever the story mentions.
    open_request = bool(markers) and not asked
    skills_asked = set() if open_request else set(tags) - PLAIN_HELP_TAGS
    return Reading(folded=folded, core=core, whole=whole, mentioned=tuple(triggers), tags=tuple(tags),
                   triggers={t: tuple(triggers[t]) for t in tags}, recipients=frozenset(recipients),
                   asks_skill=bool(skills_asked), open_request=open_request)


def _ask_markers(folded: str) -> list[int]:
    """Where a request may begin: the first marker (想, 请, 找人, 能不能...) of each clause holding one."""
    found = []
    for clause in _CLAUSE.finditer(folded):
        marker = _ASK_MARKER.search(clause.group())
        if marker is not None:
            found.append(clause.start() + marker.start())
    return found


def called_tags(text: str) -> list[str]:
    """The skill tags a need's words call for, in order of first mention."""
    return list(read(text).tags)


@lru_cache(maxsize=262_144)
def skill_text(text: str) -> str:
    """What the skill feature reads: the request's words (see :class:`Reading`), the words that only
    name whom the need is for taken out, and the skill tags it calls for appended."""
    reading = read(text)
    return f"{reading.core} {' '.join(reading.tags)}" if reading.tags else reading.core


def matter_text(text: str) -> str:
    """What the text feature reads: the whole text the same way, with every tag it calls for."""
    reading = read(text)
    return f"{reading.whole} {' '.join(reading.mentioned)}" if reading.mentioned else reading.whole


def canonical_tag(tag: str) -> str:
    """A provider's tag as the table names its skill ("血压监测" → "测血压"); other tags as they are."""
    tags = WORD_TAGS.get(tag.lower(), ())
    return tags[0] if len(tags) == 1 else tag


def implied_tags(tag: str) -> tuple[str, ...]:
    """The broader skills a provider's tag names too (``data/broader_skills.csv``: 邻里调解 is 调解)."""
    return BROADER.get(canonical_tag(tag), ())


def recipient_group(tag: str) -> str | None:
    """The group of people a provider's tag says it serves (助老 → elderly), or None for a skill."""
    return RECIPIENT_TAGS.get(tag.lower())


def recipients(text: str) -> frozenset[str]:
    return read(text).recipients
