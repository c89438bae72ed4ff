"""Reading a need the way residents write it: folded verb–object words, synonyms, segmentation,
and who the need is for kept apart from what it asks for."""
from __future__ import annotations

import pytest

from matching.lexicon import (
    RECIPIENT_TAGS,
    SKILL_TAGS,
    called_tags,
    canonical_tag,
    fold,
    read,
    recipient_group,
    skill_text,
)
from matching.taxonomy import ALL_SKILLS


def test_every_tag_of_the_taxonomy_is_a_skill_of_the_table_or_names_whom_a_provider_serves():
    assert set(ALL_SKILLS) <= SKILL_TAGS | set(RECIPIENT_TAGS)
    assert {"助老", "长者服务", "青少年服务"} <= set(RECIPIENT_TAGS)


@pytest.mark.parametrize("said, word", [
    ("理个发", "理发"), ("剪个头", "剪头"), ("剪剪头发", "剪头发"), ("洗个澡", "洗澡"), ("洗了个澡", "洗澡"),
    ("量量血压", "量血压"), ("量了量血压", "量血压"), ("修一下水龙头", "修水龙头"), ("换个锁", "换锁"),
    ("测一下血糖", "测血糖"),
])
def test_a_measure_word_or_a_doubled_verb_is_folded_back_into_the_word(said, word):
    assert fold(f"想请人{said}，谢谢") == f"想请人{word}，谢谢"


def test_folding_leaves_a_verb_alone_when_no_skill_word_follows():
    assert fold("修个什么都行") == "修个什么都行"


@pytest.mark.parametrize("text, tag", [
    ("理个发", "理发"), ("剪个头", "理发"), ("帮我爸剪剪头发", "理发"), ("老人想洗个澡", "助浴"),
    ("社区医生能上门量量血压吗", "测血压"), ("修一下水龙头", "水管维修"), ("想找人陪看病", "陪诊"),
    ("近日出现微波炉不热了的情况", "家电维修"), ("电视机坏了", "家电维修"),
])
def test_everyday_wording_reaches_its_skill(text, tag):
    assert tag in called_tags(text)


def test_each_skill_keeps_the_words_the_resident_wrote_for_it():
    assert read("帮我妈剪个头").triggers == {"理发": ("剪个头",)}


@pytest.mark.parametrize("text, groups, tags", [
    ("给卧床的老人剪指甲", {"elderly", "disabled"}, ("剪指甲",)),
    ("帮孩子辅导数学作业", {"children"}, ("辅导作业",)),
    ("老人家里没人，想有人陪着说说话", {"elderly"}, ("陪伴聊天",)),
])
def test_who_a_need_is_for_is_a_recipient_not_a_skill(text, groups, tags):
    reading = read(text)

    assert reading.recipients == groups and reading.tags == tags


def test_the_words_naming_the_recipient_are_left_out_of_what_the_skill_features_read():
    assert skill_text("给卧床的老人剪指甲") == "给的剪指甲 剪指甲"


def test_a_single_character_word_counts_only_as_a_word_of_its_own():
    assert "消防" not in called_tags("过年放烟花")
    assert "消防" in called_tags("楼道里有烟味")


def test_a_providers_tag_is_read_as_the_table_names_its_skill_and_a_group_tag_is_no_skill():
    assert canonical_tag("血压监测") == "测血压" and canonical_tag("修水管") == "水管维修"
    assert canonical_tag("木工") == "木工"  # unknown tags stay as they are
    assert recipient_group("助老") == "elderly" and recipient_group("理发") is None


def test_a_text_without_such_words_is_left_as_it_is():
    assert skill_text("你好") == "你好"


def test_the_called_tags_follow_the_text():
    assert skill_text("楼道灯坏了") == "楼道灯坏了 路灯"
