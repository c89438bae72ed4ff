"""Spreadsheet-safe exports: cells Excel would run as formulas get a leading ', nothing else changes."""
from __future__ import annotations

import codecs
import csv
import io

import pytest

from core.exports import cell_text, defuse_cell, format_csv, write_csv


@pytest.mark.parametrize("value", [
    "=1+1",
    '=HYPERLINK("http://evil.example","点我")',
    "@SUM(A1)",
    "+SUM(A1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "-1e3",
    "+86-138-x",
])
def test_a_value_excel_would_run_as_a_formula_gets_a_leading_quote(value):
    assert defuse_cell(value) == "'" + value


@pytest.mark.parametrize("value", [
    "张晓明",
    "海滨社区第1网格",
    "同网格 · 技能：陪诊 · 周三下午有空 · 当前任务 0/2",
    "V001",
    "a=b",
    "'=1+1",
    "",
])
def test_ordinary_and_chinese_text_is_untouched(value):
    assert defuse_cell(value) == value


@pytest.mark.parametrize("value", ["0", "3", "4.0", "66.67%", "-3.5", "-5", "+5", "+86 138 0013 8000", "-(1.5)"])
def test_plain_numbers_and_signed_numbers_stay_as_typed(value):
    assert defuse_cell(value) == value


def test_any_cell_value_becomes_defused_text_and_none_an_empty_cell():
    assert [cell_text(v) for v in (None, 3, -2.5, 0.9, "=1+1")] == ["", "3", "-2.5", "0.9", "'=1+1"]


def test_a_csv_is_utf8_with_a_bom_and_crlf_and_keeps_commas_quotes_and_line_breaks_inside_cells():
    data = format_csv([["名称", "说明"], ["=1+1", '他说"好", 明天\n再来']])

    assert data.startswith(codecs.BOM_UTF8)
    assert data.endswith(b"\r\n") and data.count(b"\r\n") == 2
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))) == [
        ["名称", "说明"], ["'=1+1", '他说"好", 明天\n再来']]


def test_a_csv_written_to_a_file_is_the_same_as_the_one_formatted(tmp_path):
    rows = [["ref", "name"], ["V1", "@SUM(A1)"], ["V2", "张小明"]]
    path = tmp_path / "out.csv"

    write_csv(path, iter(rows))

    assert path.read_bytes() == format_csv(rows)
