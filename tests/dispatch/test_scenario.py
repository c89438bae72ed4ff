"""A coordinator's week, end to end through the command line: import the files in
tests/data/scenario, ``flask match``, ``flask export assignments``, and read the CSV.

The map is five grids in a row, S01–S02–S03–S04–S05. The pools:

- R01 social-security desk, every grid; R02 legal-aid desk, S01 and S02 only;
- V01 plumber's shop and V02 locksmith / appliance repair shop, both in S01 (market);
- V03 escort volunteer free only Wednesday 14:00-18:00, V04 escort volunteer free only mornings,
  both in S03 (volunteer);
- V05 counsellor in S02 (social); V06 social-work agency in S05 (social, volunteer, weekday office
  hours); V07 student volunteer in S02 (weekends); V08 housekeeping firm in S04 (market).

Every need names its service, so nothing here depends on the classifier.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Need, Proposal

KINDS = ("grids", "resources", "volunteers", "needs")
EXPORT_HEADER = ["need_ref", "provider_ref", "provider_kind", "score", "tier", "explanation"]
CJK = re.compile(r"[\u4e00-\u9fff]")

# What a coordinator would do with each need that somebody can serve.
EXPECTED = {
    "N01": ("V01", "volunteer"),  # leaking pipe in S01: the plumber, not the locksmith in the same grid
    "N02": ("V03", "volunteer"),  # escort on Wednesday 14:00-17:00: the volunteer free that afternoon
    "N03": ("R01", "resource"),  # social-security card in S05: the desk covering every grid
    "N04": ("V05", "volunteer"),  # a child's low mood in S02: the counsellor
}
NOBODY_FREE = "N05"  # help on Sunday at 22:00: no volunteer is free then
NOBODY_SKILLED = "N06"  # piano tuning: no provider has the trade


def invoke(runner: Any, *args: str) -> Any:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result


def import_all(runner: Any, folder: Path) -> list[str]:
    return [invoke(runner, "import", kind, str(folder / f"{kind}.csv")).output for kind in KINDS]


def read_export(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == EXPORT_HEADER
        return list(reader)


@pytest.fixture
def scenario(runner, data_dir, tmp_path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    imported = import_all(runner, data_dir / "scenario")
    matched = invoke(runner, "match").output
    out = tmp_path / "out.csv"
    exported = invoke(runner, "export", "assignments", str(out)).output
    rows = read_export(out)
    return {"imported": imported, "matched": matched, "exported": exported, "rows": rows, "out": out,
            "by_need": {row["need_ref"]: row for row in rows}}


def need(session: Any, ref: str) -> Need:
    session.expire_all()
    return session.scalars(select(Need).where(Need.ref == ref)).one()


def test_the_scenario_files_import_without_a_rejected_row(scenario):
    counts = [re.search(r"新增 (\d+).*有误 (\d+)", output).groups() for output in scenario["imported"]]

    assert counts == [("5", "0"), ("2", "0"), ("8", "0"), ("6", "0")]


@pytest.mark.parametrize("need_ref", sorted(EXPECTED))
def test_each_need_gets_the_provider_a_coordinator_would_send(scenario, need_ref):
    row = scenario["by_need"].get(need_ref)

    assert row is not None, f"{need_ref} was not matched: {scenario['matched']}"
    assert (row["provider_ref"], row["provider_kind"]) == EXPECTED[need_ref], row


def test_the_leaking_pipe_goes_to_the_plumber_for_his_trade(scenario):
    assert re.search("技能：(水管维修|漏水|马桶疏通)", scenario["by_need"]["N01"]["explanation"])


def test_the_afternoon_escort_is_not_given_to_the_volunteer_free_only_in_the_mornings(scenario):
    row = scenario["by_need"]["N02"]

    assert row["provider_ref"] != "V04"
    assert "周三下午" in row["explanation"]


def test_a_need_nobody_is_free_for_is_unmatched_with_a_reason_and_not_exported(scenario, session):
    unmatched = need(session, NOBODY_FREE)

    assert NOBODY_FREE not in scenario["by_need"]
    assert unmatched.status == "unmatched"
    assert CJK.search(unmatched.unmatched_reason)
    assert f"未匹配 #{unmatched.id}：{unmatched.unmatched_reason}" in scenario["matched"]


def test_a_need_no_provider_has_the_trade_for_is_not_forced_on_another_trade(scenario, session):
    assert NOBODY_SKILLED not in scenario["by_need"], scenario["by_need"].get(NOBODY_SKILLED)
    assert need(session, NOBODY_SKILLED).status == "unmatched"


def test_the_export_has_one_row_per_matched_need_and_nothing_else(scenario, session):
    session.expire_all()
    proposed = set(session.scalars(select(Need.ref).where(Need.status == "proposed")))
    refs = [row["need_ref"] for row in scenario["rows"]]

    assert sorted(refs) == sorted(proposed)
    assert len(refs) == len(set(refs))
    assert f"已导出 {len(refs)} 条" in scenario["exported"]
    assert set(EXPECTED) <= set(refs)


def test_the_exported_scores_tiers_and_explanations_are_those_stored(scenario, session):
    session.expire_all()
    for row in scenario["rows"]:
        [stored] = session.scalars(select(Proposal).join(Need).where(Need.ref == row["need_ref"]))
        assert float(row["score"]) == pytest.approx(stored.score, abs=1e-4)
        assert 0.0 < float(row["score"]) <= 1.0
        assert int(row["tier"]) == stored.tier in (1, 2, 3)
        assert row["explanation"] == stored.explanation and CJK.search(row["explanation"])


def test_matching_again_leaves_the_assignments_as_they_were(runner, scenario, tmp_path):
    again = tmp_path / "again.csv"

    invoke(runner, "match")
    invoke(runner, "export", "assignments", str(again))

    assert read_export(again) == scenario["rows"]


def test_matching_one_grid_matches_only_its_needs(runner, data_dir, session):
    import_all(runner, data_dir / "scenario")

    output = invoke(runner, "match", "--grid", "S01").output

    assert "范围 grid:S01：需求 1 条，匹配 1 条" in output
    assert need(session, "N01").status == "proposed"
    assert need(session, "N02").status == "submitted"


def test_matching_a_party_grid_matches_only_its_grids_needs(runner, data_dir, session):
    import_all(runner, data_dir / "scenario")

    output = invoke(runner, "match", "--party-grid", "DJ01").output

    assert "需求 2 条" in output  # N01 in S01 and N04 in S02
    assert {need(session, ref).status for ref in ("N01", "N04")} == {"proposed"}
    assert need(session, "N03").status == "submitted"


def test_matching_an_unknown_grid_exits_1_naming_it_and_changes_nothing(runner, data_dir, session):
    import_all(runner, data_dir / "scenario")

    result = runner.invoke(args=["match", "--grid", "S99"])

    assert result.exit_code == 1
    assert "S99" in result.output
    session.expire_all()
    assert set(session.scalars(select(Need.status))) == {"submitted"}
