"""``flask --app app export assignments FILE.csv``: a spreadsheet-safe CSV (BOM, CRLF, no live formulas)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from models import Proposal
from tests.factories import make_map, make_need, make_volunteer


@pytest.fixture
def formula_assignment(session: Any) -> None:
    """A need ``@SUM(A1)`` proposed to a volunteer ``=1+1``, with an explanation that is a formula."""
    make_map(session)
    volunteer = make_volunteer(session, ref="=1+1")
    need = make_need(session, ref="@SUM(A1)")
    need.proposals.append(Proposal(volunteer_id=volunteer.id, rank=1, score=0.9, tier=1, status="proposed",
                                   explanation='=HYPERLINK("http://evil.example","点我")'))
    session.commit()


def export(runner: Any, path: Path) -> bytes:
    result = runner.invoke(args=["export", "assignments", str(path)])
    assert result.exit_code == 0, (result.output, result.exception)
    return path.read_bytes()


def test_exported_cells_excel_would_run_as_formulas_are_defused(runner, tmp_path, formula_assignment):
    data = export(runner, tmp_path / "out.csv")

    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert rows[1] == ["'@SUM(A1)", "'=1+1", "volunteer", "0.9000", "1", '\'=HYPERLINK("http://evil.example","点我")']


def test_the_export_is_utf8_with_a_bom_and_crlf_line_ends(runner, tmp_path, formula_assignment):
    data = export(runner, tmp_path / "out.csv")

    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == 2 and b"\n" not in data.replace(b"\r\n", b"")
