"""The grid council's minutes (网格议事会纪要): an item's decision and who takes it, recorded once per need
and meeting, readable and downloadable afterwards; and the migration that keeps them."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError
from sqlalchemy import inspect, select

from core.database import make_engine
from core.errors import InvalidData, NotFound
from models import CouncilDecision
from tests.factories import make_account, make_map
from tests.workflow.test_sla import fail_match, submit
from workflow.minutes import DecisionIn, meetings, minutes_csv, minutes_of, record_decision
from workflow.service import apply_action

T0 = datetime(2026, 12, 1, 9, 0)
MEETING = date(2026, 12, 10)


@pytest.fixture
def council(session: Any) -> dict[str, Any]:
    """PG1 (G1, G2): a need sent to the council whose text holds a phone; PG2 (G3): a need of its own."""
    make_map(session)
    secretary = make_account(session, "reviewer", "branch-pg1", scope_type="party_grid", scope_codes=["PG1"])
    light = submit(session, "N-LIGHT", at=T0, service="public", text="楼道灯坏了好几天，电话13812345678")
    fail_match(session, light, at=T0, reason="本网格及相邻网格暂无电工")
    apply_action(session, light, "escalate", None, now=T0)
    elsewhere = submit(session, "N-LOCK", at=T0, grid="G3", service="market", text="钥匙丢了需要开锁")
    session.flush()
    return {"secretary": secretary, "light": light, "elsewhere": elsewhere}


def test_a_decision_on_a_need_is_recorded_with_a_masked_snapshot_of_the_item(session, council):
    row = record_decision(session, "PG1", meeting_date=MEETING, need=council["light"].id,
                          decision="请物业维修班明天上门修灯", taker="物业维修班", due=date(2026, 12, 12),
                          recorded_by=council["secretary"], now=T0)

    assert (row.decision, row.taker, row.due, row.meeting_date) == ("请物业维修班明天上门修灯", "物业维修班",
                                                                  date(2026, 12, 12), MEETING)
    assert row.item == "楼道灯坏了好几天，电话138****5678（本网格及相邻网格暂无电工）"
    assert row.party_grid.code == "PG1" and row.recorded_by_id == council["secretary"].id


def test_recording_the_same_need_at_the_same_meeting_again_updates_it(session, council):
    first = record_decision(session, "PG1", meeting_date=MEETING, need=council["light"].id, decision="先联系家属",
                            taker="网格员小王", recorded_by=council["secretary"], now=T0)

    again = record_decision(session, "PG1", meeting_date=MEETING, need=council["light"].id, decision="请物业上门",
                            taker="物业维修班", recorded_by=council["secretary"], now=T0)
    later = record_decision(session, "PG1", meeting_date=date(2026, 12, 24), need=council["light"].id,
                            decision="已修好，结案", taker="网格员小王", recorded_by=council["secretary"], now=T0)

    assert again.id == first.id and (again.decision, again.taker) == ("请物业上门", "物业维修班")
    assert later.id != first.id  # another meeting, another item
    rows = session.scalars(select(CouncilDecision).order_by(CouncilDecision.id)).all()
    assert [(r.meeting_date, r.decision) for r in rows] == [(MEETING, "请物业上门"), (date(2026, 12, 24), "已修好，结案")]


def test_two_recordings_of_one_item_at_once_leave_one_row_with_the_later_words(session, council, monkeypatch):
    import workflow.minutes as minutes
    first = record_decision(session, "PG1", meeting_date=MEETING, need=council["light"].id, decision="先联系家属",
                            taker="网格员小王", recorded_by=council["secretary"], now=T0)
    looked = []

    def not_seen_yet(*args: Any) -> Any:  # the other recording committed between our look and our insert
        looked.append(args)
        return None if len(looked) == 1 else real(*args)
    real = minutes._existing
    monkeypatch.setattr(minutes, "_existing", not_seen_yet)

    again = record_decision(session, "PG1", meeting_date=MEETING, need=council["light"].id, decision="请物业上门",
                            taker="物业维修班", recorded_by=council["secretary"], now=T0)

    assert len(looked) == 2 and again.id == first.id
    rows = session.scalars(select(CouncilDecision)).all()
    assert [(r.decision, r.taker) for r in rows] == [("请物业上门", "物业维修班")]


def test_items_about_no_need_are_each_recorded(session, council):
    for subject in ("楼道堆物整治", "电动车充电桩选址"):
        record_decision(session, "PG1", meeting_date=MEETING, item=subject, decision="下次再议", taker="居委会",
                        recorded_by=council["secretary"], now=T0)

    assert [i["item"] for i in minutes_of(session, "PG1", MEETING)["items"]] == ["楼道堆物整治", "电动车充电桩选址"]


def test_a_need_of_another_party_grid_is_refused(session, council):
    with pytest.raises(InvalidData) as refused:
        record_decision(session, "PG1", meeting_date=MEETING, need=council["elsewhere"].id, decision="x", taker="y",
                        recorded_by=council["secretary"])

    assert "need" in refused.value.fields
    assert session.scalars(select(CouncilDecision)).all() == []


def test_an_unknown_party_grid_is_not_found(session, council):
    with pytest.raises(NotFound):
        record_decision(session, "PG404", meeting_date=MEETING, item="x", decision="x", taker="y",
                        recorded_by=council["secretary"])
    with pytest.raises(NotFound):
        minutes_of(session, "PG404", MEETING)


def test_the_minutes_list_the_meetings_items_in_the_order_first_recorded(session, council):
    record_decision(session, "PG1", meeting_date=MEETING, item="楼道堆物整治", decision="本周末清理", taker="楼栋长",
                    recorded_by=council["secretary"], now=T0)
    record_decision(session, "PG1", meeting_date=MEETING, need=council["light"].id, decision="上门修灯", taker="物业",
                    recorded_by=council["secretary"], now=T0)
    record_decision(session, "PG1", meeting_date=MEETING, item="楼道堆物整治", decision="另一项", taker="居委会",
                    recorded_by=council["secretary"], now=T0)

    result = minutes_of(session, "PG1", MEETING)

    assert result["party_grid"]["code"] == "PG1" and result["meeting_date"] == "2026-12-10"
    assert [g["code"] for g in result["party_grid"]["grids"]] == ["G1", "G2"]
    assert [(i["ref"], i["decision"]) for i in result["items"]] == [("", "本周末清理"), ("N-LIGHT", "上门修灯"),
                                                                   ("", "另一项")]
    assert result["items"][1]["recorded_by"] == "branch-pg1"
    assert result["items"][1]["recorded_at"] == "2026-12-01T17:00+08:00"
    assert minutes_of(session, "PG1", date(2026, 12, 11))["items"] == []
    assert meetings(session, ["PG1", "PG2"]) == {"PG1": [(MEETING, 3)]}


def test_the_minutes_download_is_spreadsheet_safe(session, council):
    record_decision(session, "PG1", meeting_date=MEETING, item="=HYPERLINK(\"http://x\")", decision="不予采纳",
                    taker="@居委会", recorded_by=council["secretary"], now=T0)

    lines = minutes_csv(minutes_of(session, "PG1", MEETING)).decode("utf-8-sig").splitlines()

    assert lines[0] == "党建网格,会议日期,序号,需求编号,网格,议题,议定事项,承办人（单位）,完成时限,记录人,记录时间"
    assert lines[1].startswith("PG1 PG1,2026-12-10,1,,,\"'=HYPERLINK(\"\"http://x\"\")\",不予采纳,'@居委会,")


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"decision": "  ", "taker": "物业"}, "decision", "请写下议定事项"),
    ({"decision": "上门", "taker": ""}, "taker", "请写明由谁（个人或单位）承办"),
    ({"decision": "上门", "taker": "物" * 101}, "taker", "承办人或承办单位不能超过 100 字"),
    ({"decision": "上门", "taker": "物业", "due": "2026-12-09"}, "due", "完成时限不能早于会议日期"),
    ({"decision": "上门", "taker": "物业", "due": "12/31"}, "due", "日期格式应为 YYYY-MM-DD"),
    ({"need": None, "decision": "上门", "taker": "物业"}, "item", "请写明议题"),
])
def test_what_an_item_of_the_minutes_must_carry(body, field, message):
    payload = {"meeting_date": "2026-12-10", "need": 1, **body}

    with pytest.raises(ValidationError) as refused:
        DecisionIn().load(payload)

    assert refused.value.normalized_messages()[field] == [message]


def test_an_item_is_loaded_with_its_text_trimmed():
    loaded = DecisionIn().load({"meeting_date": "2026-12-10", "item": " 楼道堆物 ", "decision": " 清理 ",
                                "taker": " 楼栋长 ", "due": None})

    assert loaded == {"meeting_date": MEETING, "need": None, "item": "楼道堆物", "decision": "清理", "taker": "楼栋长",
                      "due": None}


def test_the_migration_adds_the_minutes_table_and_takes_it_away_again(tmp_path: Path):
    from migrations.runner import downgrade, upgrade
    engine = make_engine(f"sqlite:///{tmp_path / 'minutes.db'}")
    try:
        with engine.begin() as conn:
            upgrade(connection=conn, revision="0007")
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("council_decisions")}
        assert columns == {"id", "party_grid_id", "meeting_date", "need_id", "item", "decision", "taker", "due",
                           "recorded_by_id", "recorded_at"}

        with engine.begin() as conn:
            downgrade(connection=conn, revision="0006")
        with engine.connect() as conn:
            assert "council_decisions" not in inspect(conn).get_table_names()
    finally:
        engine.dispose()
