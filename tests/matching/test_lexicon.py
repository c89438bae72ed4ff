from matching.lexicon import SKILL_KEYWORDS, called_tags, skill_text
from matching.taxonomy import ALL_SKILLS


def test_every_tag_of_the_taxonomy_has_residents_words():
    assert set(ALL_SKILLS) <= set(SKILL_KEYWORDS)


def test_a_residents_words_call_for_the_trade_they_need():
    assert called_tags("近日出现微波炉不热了的情况") == ["家电维修"]
    assert "开锁" in called_tags("门锁坏了关不上，想换个智能锁")
    assert "陪诊" in called_tags("周三下午想找人陪同去医院复查")


def test_a_text_without_such_words_is_left_as_it_is():
    assert skill_text("你好") == "你好"


def test_the_called_tags_follow_the_text():
    assert skill_text("楼道灯坏了") == "楼道灯坏了 路灯"
