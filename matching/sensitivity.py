"""Which needs speak of what a resident would least want passed around (敏感需求): health and disability, minors,
money and debts, family quarrels. A staff member reading such a need leaves a record (``access.audit``). Read by
plain words, kept deliberately wide: a false alarm costs one audit row, a miss costs a resident's privacy."""
from __future__ import annotations

SENSITIVE_WORDS: dict[str, tuple[str, ...]] = {
    "health": ("病", "医院", "复查", "住院", "手术", "透析", "化疗", "癌", "药", "康复", "残疾", "残障", "瘫", "失智",
               "痴呆", "抑郁", "精神", "心理", "怀孕", "孕", "艾滋", "吸毒", "戒毒", "失明", "失聪", "轮椅"),
    "minor": ("孩子", "小孩", "儿童", "未成年", "学生", "婴儿", "宝宝", "孤儿", "留守", "辍学", "幼儿"),
    "finance": ("欠", "债", "贷款", "借钱", "低保", "困难补助", "救助金", "工资", "拖欠", "赔偿", "失业", "社保断缴"),
    "family": ("家暴", "离婚", "吵架", "打架", "纠纷", "矛盾", "赡养", "抚养", "遗产", "继承", "分居", "虐待"),
}


def sensitive_topics(text: str) -> frozenset[str]:
    """The sensitive topics ``text`` touches (empty: none)."""
    return frozenset(topic for topic, words in SENSITIVE_WORDS.items() if any(w in text for w in words))
