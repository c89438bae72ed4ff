from pools.fuzzy import Candidate, fuzzy_search, probable_duplicates

PEOPLE = [Candidate(1, "张小明", ("陪诊", "买菜")), Candidate(2, "李华", ("水管维修",)), Candidate(3, "王芳", ("开锁",))]


def test_a_homophone_in_a_name_finds_the_person():
    assert [h.id for h in fuzzy_search("张晓明", PEOPLE)][:1] == [1]


def test_a_wrong_character_in_a_two_character_skill_still_finds_it():
    hits = fuzzy_search("陪珍", PEOPLE)
    assert hits and hits[0].id == 1 and hits[0].matched == "陪诊"


def test_an_unrelated_query_finds_nobody():
    assert fuzzy_search("钢琴调音", PEOPLE) == []


def test_near_identical_names_with_near_identical_phones_are_reported_as_duplicates():
    rows = [("V1", "张晓明", "13800138000"), ("V2", "张小明", "13800138001"), ("V3", "李华", "13900000000")]
    pairs = probable_duplicates(rows)
    assert [(a, b) for a, b, _ in pairs] == [("V1", "V2")]


def test_the_same_name_with_a_different_phone_is_not_a_duplicate():
    rows = [("V1", "王伟", "13800138000"), ("V2", "王伟", "15912345678")]
    assert probable_duplicates(rows) == []


def test_duplicates_found_a_block_at_a_time_are_those_found_all_at_once(monkeypatch):
    from pools import fuzzy
    rows = [(f"V{i}", name, phone) for i, (name, phone) in enumerate([
        ("张晓明", "13800138000"), ("张小明", "13800138000"), ("李芳", "13900139000"), ("李 芳", "13900139001"),
        ("王强", ""), ("王强", ""), ("赵敏", "13700137000"), ("钱多多", "13700137000"), ("孙悟空", "13600136000"),
    ])]
    all_at_once = fuzzy.probable_duplicates(rows)

    monkeypatch.setattr(fuzzy, "DUPLICATE_BLOCK_ROWS", 2)

    assert fuzzy.probable_duplicates(rows) == all_at_once and len(all_at_once) == 3
