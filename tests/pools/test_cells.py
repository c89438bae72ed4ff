"""Cell parsers: every happy path and every refusal, and the downloadable templates against them."""
from __future__ import annotations

from datetime import datetime
from functools import partial

import pytest

from core.vocab import Force, Urgency
from matching.slots import WeeklySlot
from pools.cells import (
    CellValueError,
    parse_bool,
    parse_channel,
    parse_choice,
    parse_code,
    parse_codes,
    parse_float,
    parse_force,
    parse_grid_list,
    parse_int,
    parse_kind,
    parse_phone,
    parse_service,
    parse_services,
    parse_slots_cell,
    parse_text,
    parse_urgency,
    parse_window_cell,
    split_multi,
)
from pools.geometry import boundary_from_text
from pools.tabular import IMPORT_COLUMNS, TEMPLATES_DIR, check_columns, read_table

FORCES, URGENCIES = tuple(Force), tuple(Urgency)

# ------------------------------------------------------------------------------------ split_multi


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("陪诊;买菜", ["陪诊", "买菜"]),
        ("陪诊；买菜", ["陪诊", "买菜"]),
        ("陪诊、买菜、智能手机", ["陪诊", "买菜", "智能手机"]),
        ("陪诊\n买菜", ["陪诊", "买菜"]),
        (" 陪诊 ;; ；买菜 ;", ["陪诊", "买菜"]),
        ("买菜;陪诊;买菜", ["买菜", "陪诊"]),
        ("家电维修, 水管维修", ["家电维修, 水管维修"]),
        ("", []),
        ("  ", []),
    ],
)

def test_split_multi_splits_on_semicolons_and_enumeration_commas_but_never_on_commas(text, items):
    assert split_multi(text) == items


# ------------------------------------------------------------------------------------------ text


def test_parse_text_strips_and_gives_none_for_empty():
    assert parse_text("  退休教师 ") == "退休教师"
    assert parse_text("") is None


def test_parse_text_refuses_text_beyond_the_maximum_length():
    assert parse_text("一二三", max_length=3) == "一二三"
    with pytest.raises(CellValueError, match="最多 3 个字"):
        parse_text("一二三四", max_length=3)


# ------------------------------------------------------------------------------------------- codes


def test_parse_code_reads_full_width_letters_and_digits_as_ascii():
    assert parse_code(" Ｇ００１ ") == "G001"
    assert parse_code("") is None


@pytest.mark.parametrize("text", ["G 001", "G001,G002", "G*", "A/01", "G" * 65])
def test_parse_code_refuses_spaces_separators_stars_and_long_codes(text):
    with pytest.raises(CellValueError):
        parse_code(text)


def test_parse_codes_gives_distinct_codes_in_order():
    assert parse_codes("G002；G001、G002") == ["G002", "G001"]
    assert parse_codes("") == []


def test_parse_codes_explains_that_commas_do_not_separate():
    with pytest.raises(CellValueError, match="分号分隔"):
        parse_codes("G001,G002")


@pytest.mark.parametrize("text", ["*", " * ", "全部", "＊"])
def test_parse_grid_list_reads_a_star_as_every_grid(text):
    assert parse_grid_list(text) is None


def test_parse_grid_list_gives_the_listed_codes():
    assert parse_grid_list("G001;G002、G003") == ["G001", "G002", "G003"]


def test_parse_grid_list_refuses_an_empty_cell_because_none_means_every_grid():
    with pytest.raises(CellValueError, match=r"\*"):
        parse_grid_list("")


def test_parse_grid_list_refuses_a_star_among_codes():
    with pytest.raises(CellValueError, match="不能与具体网格编码同时填写"):
        parse_grid_list("*;G001")


# ------------------------------------------------------------------------------------------ bools


@pytest.mark.parametrize("text", ["yes", "YES", "y", "true", "TRUE", "1", "是", "ｙｅｓ"])
def test_parse_bool_reads_yes_words_as_true(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["no", "N", "false", "False", "0", "否"])
def test_parse_bool_reads_no_words_as_false(text):
    assert parse_bool(text) is False


def test_parse_bool_leaves_an_empty_cell_to_the_caller():
    assert parse_bool("") is None
    assert parse_bool("  ") is None


@pytest.mark.parametrize("text", ["对", "maybe", "2", "是的"])
def test_parse_bool_refuses_other_words_listing_the_accepted_ones(text):
    with pytest.raises(CellValueError, match="是/否"):
        parse_bool(text)


# ------------------------------------------------------------------------------------------- ints


@pytest.mark.parametrize(
    ("text", "value"), [("3", 3), (" 12 ", 12), ("3.0", 3), ("３", 3), ("-2", -2), ("+4", 4)]
)
def test_parse_int_reads_whole_numbers(text, value):
    assert parse_int(text) == value


def test_parse_int_leaves_an_empty_cell_to_the_caller():
    assert parse_int("") is None


@pytest.mark.parametrize("text", ["3.5", "three", "1_000", "1,000", "3个"])
def test_parse_int_refuses_what_is_not_a_whole_number(text):
    with pytest.raises(CellValueError, match="应为整数"):
        parse_int(text)


def test_parse_int_enforces_its_bounds():
    assert parse_int("1", minimum=1, maximum=5) == 1
    assert parse_int("5", minimum=1, maximum=5) == 5
    with pytest.raises(CellValueError, match="不能小于 1"):
        parse_int("0", minimum=1)
    with pytest.raises(CellValueError, match="不能大于 5"):
        parse_int("6", maximum=5)


# --------------------------------------------------------------------------------------- services


@pytest.mark.parametrize(
    ("text", "code"),
    [("public", "public"), ("Public", "public"), ("公共服务", "public"), ("社会", "social"), ("志愿服务", "volunteer")],
)
def test_parse_service_reads_codes_and_chinese_labels(text, code):
    assert parse_service(text) == code


def test_parse_service_refuses_an_unknown_service_listing_the_allowed_ones():
    with pytest.raises(CellValueError, match="public/social/market/volunteer 或 公共服务/社会服务/市场服务/志愿服务"):
        parse_service("商业服务")


def test_parse_service_leaves_an_empty_cell_to_the_caller():
    assert parse_service("") is None


def test_parse_services_gives_distinct_codes_whatever_the_spelling():
    assert parse_services("社会服务；volunteer、social") == ["social", "volunteer"]
    assert parse_services("") == []


def test_parse_services_refuses_a_list_with_one_unknown_service():
    with pytest.raises(CellValueError, match="家政"):
        parse_services("social;家政")


# ---------------------------------------------------------------------------------------- choices


def test_parse_choice_reads_a_code_in_any_case_or_its_chinese_label():
    labels = {"low": "不急", "high": "较急"}

    assert parse_choice("HIGH", ("low", "high"), labels) == "high"
    assert parse_choice("不急", ("low", "high"), labels) == "low"
    assert parse_choice("", ("low", "high"), labels) is None


def test_parse_choice_refuses_a_word_outside_the_choices_listing_codes_and_labels():
    with pytest.raises(CellValueError, match="low/high 或 不急/较急"):
        parse_choice("medium", ("low", "high"), {"low": "不急", "high": "较急"})


@pytest.mark.parametrize(
    ("text", "kind"),
    [("person", "person"), ("个人", "person"), ("组织", "organization"), ("机构", "organization"),
     ("organization", "organization"), ("Organisation", "organization")],
)
def test_parse_kind_reads_person_and_organisation_words(text, kind):
    assert parse_kind(text) == kind


def test_parse_kind_refuses_another_kind():
    with pytest.raises(CellValueError, match="person/organization 或 个人/组织"):
        parse_kind("单位个人")


@pytest.mark.parametrize(
    ("text", "force"),
    [("professional", "professional"), ("专业力量", "professional"), ("专业", "professional"),
     ("自治力量", "selfgov"), ("共建", "cobuilding"), ("GOVERNANCE", "governance")],
)
def test_parse_force_reads_codes_labels_and_labels_without_the_suffix(text, force):
    assert parse_force(text) == force


def test_every_force_and_urgency_code_reads_as_itself():
    assert [parse_force(code) for code in FORCES] == list(FORCES)
    assert [parse_urgency(code) for code in URGENCIES] == list(URGENCIES)


@pytest.mark.parametrize(
    ("text", "urgency"), [("紧急", "urgent"), ("一般", "normal"), ("不急", "low"), ("较急", "high")]
)
def test_parse_urgency_reads_chinese_labels(text, urgency):
    assert parse_urgency(text) == urgency


def test_parse_urgency_and_force_refuse_unknown_words():
    with pytest.raises(CellValueError):
        parse_urgency("特急")
    with pytest.raises(CellValueError):
        parse_force("群众力量")


# ------------------------------------------------------------------------------------------ phones


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("0755-12345678", "0755-12345678"),
        ("075512345678", "0755-12345678"),
        ("(0755)12345678", "0755-12345678"),
        ("0755 1234567", "0755-1234567"),
        ("010-62345678", "010-62345678"),
        ("02087654321", "020-87654321"),
        ("+86 755 12345678", "0755-12345678"),
        ("400-123-4567", "400-123-4567"),
        ("8001234567", "800-123-4567"),
    ],
)
def test_parse_phone_gives_one_canonical_form(text, phone):
    assert parse_phone(text) == phone


@pytest.mark.parametrize(
    "text",
    [
        "12800138000",  # no mobile starts 12
        "1380013800",  # ten digits
        "138001380001",  # twelve digits
        "+1 415 555 0100",  # not mainland China
        "0755-1234",  # local part too short
        "0755-02345678",  # a local number never starts with 0
        "0755-123456789",  # local part too long
        "010-2345678",  # Beijing numbers have eight digits
        "tel 13800138000",
        "13800138000 转 801",
    ],
)
def test_parse_phone_refuses_what_is_not_a_mainland_number(text):
    with pytest.raises(CellValueError, match="电话号码应为"):
        parse_phone(text)


def test_parse_phone_leaves_an_empty_cell_to_the_caller():
    assert parse_phone("") is None


# ------------------------------------------------------------------------------------------- slots


def test_parse_slots_cell_reads_several_slots_in_english():
    slots = parse_slots_cell("mon-fri 09:00-12:00; sat 14:00-17:00")

    assert slots == (*(WeeklySlot(d, 540, 720) for d in range(5)), WeeklySlot(5, 840, 1020))


def test_parse_slots_cell_reads_chinese_weekdays_ranges_and_full_width_colons():
    assert parse_slots_cell("周一至周五 09:00-12:00") == parse_slots_cell("mon-fri 09:00-12:00")
    assert parse_slots_cell("星期六到星期日９：００～１２：００") == parse_slots_cell("sat-sun 09:00-12:00")
    assert parse_slots_cell("周日 9:00-11:00、周天 9:00-11:00") == (WeeklySlot(6, 540, 660),)


def test_parse_slots_cell_gives_no_slots_for_an_empty_cell_meaning_any_time():
    assert parse_slots_cell("") == ()


@pytest.mark.parametrize(("text", "reason"), [("weekdays 9-5", "时段格式"), ("mon 17:00-09:00", "开始时间须早于"),
                                              ("周一 25:00-26:00", "时间无效")])
def test_parse_slots_cell_refuses_a_bad_slot_quoting_what_was_written(text, reason):
    with pytest.raises(CellValueError, match=reason) as caught:
        parse_slots_cell(f"sat 09:00-12:00;{text}")

    assert text in caught.value.reason


# ------------------------------------------------------------------------------------------ window


MORNING_OF_9_DEC = (datetime(2026, 12, 9, 9), datetime(2026, 12, 9, 12))


def test_parse_window_cell_reads_an_iso_interval():
    assert parse_window_cell("2026-12-09T09:00/2026-12-09T12:00") == MORNING_OF_9_DEC


def test_parse_window_cell_reads_a_space_separated_interval_with_a_full_width_slash():
    assert parse_window_cell("2026-12-09 09:00／2026-12-09 12:00") == MORNING_OF_9_DEC


def test_parse_window_cell_gives_none_for_an_empty_cell_meaning_flexible():
    assert parse_window_cell("") is None


@pytest.mark.parametrize("text", ["2026-12-09", "tomorrow/later", "2026-12-09T12:00/2026-12-09T09:00"])
def test_parse_window_cell_refuses_what_is_not_an_interval(text):
    with pytest.raises(CellValueError, match="时间窗"):
        parse_window_cell(text)


def test_cell_value_error_is_a_value_error_with_its_reason():
    error = CellValueError("应为整数")

    assert isinstance(error, ValueError)
    assert error.reason == "应为整数"


# --------------------------------------------------------------------------------------- templates

TEXT = parse_text
PARSERS_BY_KIND = {
    "grids": {
        "code": parse_code, "name": TEXT, "community": TEXT, "party_grid": parse_code,
        "neighbors": parse_codes, "boundary": boundary_from_text,
    },
    "resources": {
        "ref": parse_code, "name": TEXT, "department": TEXT, "service": parse_service,
        "grids": parse_grid_list,
        "capacity": partial(parse_int, minimum=1), "skills": split_multi, "description": TEXT,
        "hours": parse_slots_cell,
    },
    "volunteers": {
        "ref": parse_code, "name": TEXT, "kind": parse_kind, "phone": parse_phone, "grid": parse_code,
        "skills": split_multi, "services": parse_services, "availability": parse_slots_cell,
        "capacity": partial(parse_int, minimum=1), "force": parse_force, "party_member": parse_bool,
        "description": TEXT,
    },
    "needs": {
        "ref": parse_code, "text": TEXT, "grid": parse_code, "urgency": parse_urgency,
        "window": parse_window_cell, "contact": parse_phone, "service": parse_service, "channel": parse_channel,
    },
    "buildings": {
        "code": parse_code, "name": TEXT, "address": TEXT, "aliases": split_multi, "grid": parse_code,
        "head": parse_code, "households": partial(parse_int, minimum=0), "lng": parse_float, "lat": parse_float,
    },
}
ALWAYS_FILLED = {"code", "ref", "name", "text", "grid", "kind", "service", "grids", "capacity"}


def read_template(kind: str):
    path = TEMPLATES_DIR / f"{kind}.csv"
    return read_table(path.read_bytes(), path.name)


@pytest.mark.parametrize("kind", sorted(IMPORT_COLUMNS))
def test_each_template_has_exactly_the_columns_of_its_kind_and_a_bom(kind):
    spec = IMPORT_COLUMNS[kind]
    table = read_template(kind)

    assert (TEMPLATES_DIR / f"{kind}.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert table.columns == [*spec.required, *spec.optional]
    assert check_columns(table, spec.required, spec.optional) == []
    assert 2 <= len(table.rows) <= 3


@pytest.mark.parametrize("kind", sorted(IMPORT_COLUMNS))
def test_every_template_cell_parses_with_the_parser_of_its_column(kind):
    parsers = PARSERS_BY_KIND[kind]
    table = read_template(kind)
    assert set(parsers) == set(table.columns)

    for row in table.rows:
        for column, parser in parsers.items():
            parser(row.values[column])  # raises CellValueError on a bad example
            if column in ALWAYS_FILLED and not (kind == "needs" and column == "service"):
                assert row.values[column], f"{kind} row {row.number} leaves {column} empty"


def test_templates_refer_only_to_grids_of_the_grid_template_and_neighbours_are_mutual():
    grids = {row.values["code"]: parse_codes(row.values["neighbors"]) for row in read_template("grids").rows}

    for code, neighbours in grids.items():
        assert set(neighbours) <= set(grids)
        assert all(code in grids[n] for n in neighbours)
    for kind in ("volunteers", "needs"):
        assert {row.values["grid"] for row in read_template(kind).rows} <= set(grids)
    for row in read_template("resources").rows:
        covered = parse_grid_list(row.values["grids"])
        assert covered is None or set(covered) <= set(grids)


def test_templates_use_distinct_refs():
    for kind in ("resources", "volunteers", "needs"):
        refs = [row.values["ref"] for row in read_template(kind).rows]
        assert len(refs) == len(set(refs))
