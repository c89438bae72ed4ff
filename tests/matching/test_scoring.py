"""Candidates, explainable scores and instant proposals."""
from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from matching import scoring
from matching.candidates import NeedBatch, Pairs, overlap_minutes
from matching.index import ProviderIndex
from matching.scoring import (
    FEATURES,
    MIN_SCORE,
    RELIABILITY_PRIOR,
    TIER_SCORES,
    WEIGHTS,
    propose,
    skill_value,
    tier3_min_skill,
)
from matching.slots import overlap_minutes as slot_overlap_minutes
from matching.slots import parse_slots
from matching.textvec import CellBlocks, CharNgramTfidf, cell_pair_cosines, gather_rows
from matching.types import GridMap, NeedView, ProviderView

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
from benchmarks.synthetic import make_subdistrict  # noqa: E402

WEDNESDAY_MORNING = (datetime(2026, 12, 9, 9, 0), datetime(2026, 12, 9, 11, 0))
# A line of grids G1-G2-G3 (G1 and G3 are not neighbours) and a lone grid G9.
LINE = GridMap(neighbors={"G1": frozenset({"G2"}), "G2": frozenset({"G1", "G3"}),
                           "G3": frozenset({"G2"}), "G9": frozenset()})


def volunteer(id: int, **kw) -> ProviderView:  # type: ignore[no-untyped-def]
    data = dict(kind="volunteer", id=id, ref=f"V{id}", name=f"志愿者{id}",
                services=frozenset({"volunteer"}), skills=("陪诊", "买菜"),
                description="退休教师，热心助老", home_grid="G1", capacity=2, load=0)
    return ProviderView(**{**data, **kw})  # type: ignore[arg-type]


def resource(id: int, **kw) -> ProviderView:  # type: ignore[no-untyped-def]
    data = dict(kind="resource", id=id, ref=f"R{id}", name=f"社保窗口{id}", services=frozenset({"public"}),
                skills=("社保", "医保"), description="社保医保业务办理", capacity=5)
    return ProviderView(**{**data, **kw})  # type: ignore[arg-type]


def need(id: int = 1, **kw) -> NeedView:  # type: ignore[no-untyped-def]
    data = dict(id=id, ref=f"N{id}", text="我妈周三上午要去医院复查，想找人陪诊", grid="G1",
                service="volunteer")
    return NeedView(**{**data, **kw})  # type: ignore[arg-type]


def proposed(n: NeedView, providers: list[ProviderView],  # type: ignore[no-untyped-def]
             grid_map: GridMap = LINE, **kw):
    return propose(n, ProviderIndex.build(providers), grid_map, **kw)


def keys(proposals) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [p.provider_key for p in proposals]


# -- eligibility --------------------------------------------------------------------------------
def test_a_volunteer_is_proposed_only_for_a_service_it_offers():
    providers = [volunteer(1), volunteer(2, services=frozenset({"market"}))]
    assert keys(proposed(need(), providers)) == [("volunteer", 1)]


def test_a_resource_is_proposed_only_for_the_grids_it_covers():
    providers = [resource(1, grids_covered=frozenset({"G1"})), resource(2, grids_covered=frozenset({"G2"})),
                 resource(3)]  # None: covers every grid
    got = keys(proposed(need(text="办理社保卡", service="public"), providers))
    assert got == [("resource", 1), ("resource", 3)]


def test_a_provider_without_capacity_left_is_never_proposed():
    providers = [volunteer(1, capacity=2, load=2), volunteer(2, capacity=1, load=0)]
    assert keys(proposed(need(), providers)) == [("volunteer", 2)]


def test_a_provider_whose_slots_miss_the_window_is_not_proposed():
    providers = [volunteer(1, slots=parse_slots(["wed 08:00-12:00"])),
                 volunteer(2, slots=parse_slots(["wed 14:00-18:00"])),
                 volunteer(3)]  # any time
    got = keys(proposed(need(window=WEDNESDAY_MORNING), providers))
    assert got == [("volunteer", 1), ("volunteer", 3)]


def test_a_flexible_need_may_go_to_any_slots():
    providers = [volunteer(2, slots=parse_slots(["wed 14:00-18:00"]))]
    [p] = proposed(need(window=None), providers)
    assert p.features["availability"] == 1.0


def test_a_need_with_no_eligible_provider_gets_no_proposal_and_no_error():
    assert proposed(need(service="social", text="想找人做钢琴调音"), [volunteer(1)]) == []
    assert proposed(need(grid="G404"), []) == []


def test_a_trade_is_not_sent_to_a_provider_of_another_trade_however_near():
    piano = need(text="家里的老钢琴很久没弹了，想找人做钢琴调音", service="market")
    cleaner = volunteer(1, services=frozenset({"market"}), skills=("保洁", "搬家"), description="家庭保洁与搬家")
    tuner = volunteer(2, services=frozenset({"market"}), skills=("钢琴调音",), home_grid="G2")
    assert proposed(piano, [cleaner]) == []
    assert keys(proposed(piano, [cleaner, tuner])) == [("volunteer", 2)]


def test_unfit_neighbours_do_not_hide_the_fit_provider_across_the_subdistrict():
    # Three free, proven cleaners in the need's grid are eligible, unfit, and score above anything
    # tier 3 could reach but for the tuner's skill; the tuner lives two grids away.
    piano = need(text="家里的老钢琴很久没弹了，想找人做钢琴调音", service="market")
    cleaners = [volunteer(k, services=frozenset({"market"}), skills=("保洁",), description="家庭保洁",
                          reliability=1.0) for k in (1, 2, 3)]
    tuner = volunteer(4, services=frozenset({"market"}), skills=("钢琴调音",), home_grid="G3")
    got = proposed(piano, [*cleaners, tuner], limit=2)
    assert keys(got) == [("volunteer", 4)] and got[0].tier == 3



def test_a_complaint_goes_to_the_desk_whose_mandate_covers_it_in_the_residents_words():
    enforcement = resource(1, name="城管执法巡查队", skills=("违建", "占道经营", "环境卫生"), description="查处占道经营")
    planning = resource(2, name="规划土地监察队", skills=("违建",), description="查处违法建筑")
    desks = [enforcement, planning, resource(3)]
    noise = need(text="楼下烧烤店每晚噪音很大，吵得睡不着", service="public")
    shed = need(text="小区里有人私自搭建彩钢房", service="public")
    assert keys(proposed(noise, desks)) == [("resource", 1)]
    assert set(keys(proposed(shed, desks))) == {("resource", 1), ("resource", 2)}


def test_a_small_renovation_goes_to_the_tradesman_whose_trade_it_is_part_of():
    floor = need(text="客厅想重新铺地板，找个师傅", service="market")
    plumber = volunteer(1, services=frozenset({"market"}), skills=("水管维修",), description="水电师傅")
    cleaner = volunteer(2, services=frozenset({"market"}), skills=("保洁",), description="家庭保洁")
    [p] = proposed(floor, [plumber, cleaner])
    assert p.provider_key == ("volunteer", 1) and p.features["skill"] == 1.0

def test_a_trade_may_go_to_a_provider_whose_description_is_close_enough_without_a_tag():
    leak = need(text="厨房水管漏水，想找师傅上门修", service="market")
    # "五金" is no word of the need's, nor a tag its words call for: only the description fits.
    plumber = volunteer(1, services=frozenset({"market"}), skills=("五金",), description="上门修水管、处理厨房漏水")
    [p] = proposed(leak, [plumber])
    assert p.features["skill"] == 0.0 and p.features["text"] >= scoring.MIN_TEXT_FIT


def test_plain_help_from_a_neighbour_needs_no_matching_skill():
    assert "volunteer" not in scoring.FIT_REQUIRED_SERVICES
    [p] = proposed(need(text="家里需要帮忙搬一下东西"), [volunteer(1)])
    assert p.features["skill"] == 0.0


# -- tiers and ranking --------------------------------------------------------------------------
def test_same_grid_ranks_above_neighbouring_grid_above_the_rest_of_the_subdistrict():
    providers = [volunteer(1, home_grid="G3"), volunteer(2, home_grid="G2"), volunteer(3, home_grid="G1")]
    got = proposed(need(), providers)
    assert keys(got) == [("volunteer", 3), ("volunteer", 2), ("volunteer", 1)]
    assert [p.tier for p in got] == [1, 2, 3]
    assert [p.features["tier"] for p in got] == [TIER_SCORES[1], TIER_SCORES[2], TIER_SCORES[3]]


def test_tier_three_stays_inside_the_needs_subdistrict():
    two_subdistricts = replace(LINE, subdistricts={"G1": "S1", "G2": "S1", "G3": "S2", "G9": "S2"})
    providers = [volunteer(1, home_grid="G3"), volunteer(2, home_grid="G2")]
    assert keys(proposed(need(), providers, two_subdistricts)) == [("volunteer", 2)]
    assert keys(proposed(need(), providers)) == [("volunteer", 2), ("volunteer", 1)]


def test_tier_three_offers_only_providers_holding_a_matching_skill():
    # Without a skill in common a provider two grids away cannot reach the minimum score.
    assert tier3_min_skill() > 0
    providers = [volunteer(1, home_grid="G3", skills=("理发",)), volunteer(2, home_grid="G3")]
    assert keys(proposed(need(), providers)) == [("volunteer", 2)]


def test_the_less_loaded_provider_ranks_higher():
    providers = [volunteer(1, capacity=2, load=1), volunteer(2, capacity=2, load=0)]
    got = proposed(need(), providers)
    assert keys(got) == [("volunteer", 2), ("volunteer", 1)]
    assert got[0].features["load"] == 1.0 and got[1].features["load"] == 0.5


def test_a_proven_provider_ranks_above_a_newcomer_and_a_newcomer_above_an_unreliable_one():
    providers = [volunteer(1, reliability=0.5), volunteer(2), volunteer(3, reliability=1.0)]
    got = proposed(need(), providers)
    assert keys(got) == [("volunteer", 3), ("volunteer", 2), ("volunteer", 1)]
    assert got[1].features["reliability"] == RELIABILITY_PRIOR


def test_equal_scores_are_ranked_by_provider_key():
    got = proposed(need(), [volunteer(7), volunteer(3)])
    assert got[0].score == got[1].score
    assert keys(got) == [("volunteer", 3), ("volunteer", 7)]


def test_propose_returns_at_most_limit_best_first_and_none_below_the_minimum():
    sub = make_subdistrict(50, 600, seed=3, n_grids=16)
    index = ProviderIndex.build(sub.providers)
    for n in sub.needs[:20]:
        got = propose(n, index, sub.grid_map, limit=4)
        assert len(got) <= 4
        assert [p.score for p in got] == sorted((p.score for p in got), reverse=True)
        assert all(p.score >= MIN_SCORE for p in got)


# -- scores -------------------------------------------------------------------------------------
def test_weights_sum_to_one_and_every_feature_has_one():
    assert set(WEIGHTS) == set(FEATURES)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_every_score_lies_in_the_unit_interval_and_equals_the_sum_of_its_contributions():
    sub = make_subdistrict(60, 500, seed=4, n_grids=16)
    index = ProviderIndex.build(sub.providers)
    proposals = [p for n in sub.needs for p in propose(n, index, sub.grid_map, min_score=0.0)]
    assert len(proposals) > 100
    for p in proposals:
        assert 0.0 <= p.score <= 1.0
        assert all(0.0 <= v <= 1.0 for v in p.features.values())
        assert p.contributions == {k: WEIGHTS[k] * v for k, v in p.features.items()}
        assert sum(p.contributions.values()) == pytest.approx(p.score, abs=1e-9)


def test_skill_is_zero_for_half_a_tag_and_one_for_the_whole_tag():
    assert skill_value(50.0) == 0.0
    assert skill_value(100.0) == 1.0
    [whole] = proposed(need(text="想找人陪诊"), [volunteer(1, skills=("陪诊",))])
    [half] = proposed(need(text="想找人陪一下"), [volunteer(1, skills=("陪诊",))])
    assert whole.features["skill"] == 1.0
    assert half.features["skill"] == 0.0


def test_availability_is_the_share_of_the_window_covered():
    # Window 09:00-11:00; the slot covers 10:00-11:00.
    [p] = proposed(need(window=WEDNESDAY_MORNING), [volunteer(1, slots=parse_slots(["wed 10:00-12:00"]))])
    assert p.features["availability"] == pytest.approx(0.5)


def test_the_explanation_names_the_tier_the_skill_the_time_and_the_load():
    [p] = proposed(need(window=WEDNESDAY_MORNING), [volunteer(1, slots=parse_slots(["wed 08:00-12:00"]))])
    # The words of the need that asked for the skill follow it.
    assert p.explanation == "同网格 · 技能：陪诊（“医院”“复查”） · 周三上午有空 · 当前任务 0/2"


def test_the_explanation_of_a_resource_a_flexible_need_and_a_provider_with_history():
    [p] = proposed(need(text="想办理社保卡", service="public"),
                   [resource(1, load=1, reliability=0.9, grids_covered=frozenset({"G1"}))])
    assert p.explanation == "覆盖本网格 · 技能：社保（“社保卡”） · 时间灵活 · 当前任务 1/5 · 完成率 90%"


def test_the_explanation_without_a_matching_skill_names_the_service_and_any_time():
    [p] = proposed(need(text="家里需要帮忙", window=WEDNESDAY_MORNING), [volunteer(1)])
    assert p.explanation == "同网格 · 提供志愿服务 · 随时可约 · 当前任务 0/2"


def test_instant_proposals_score_pairs_as_the_batch_does():
    from matching.engine import candidate_graph

    sub = make_subdistrict(200, 900, seed=6, n_grids=36)
    index = ProviderIndex.build(sub.providers)
    graph = candidate_graph(sub.needs, index, sub.grid_map)
    scored = graph.scored
    batch_scores = {(scored.batch.needs[i].id, index.providers[p].key): s
                    for i, p, s in zip(scored.need.tolist(), scored.provider.tolist(), scored.score.tolist())}
    checked = 0
    for n in sub.needs[:60]:
        for p in propose(n, index, sub.grid_map, limit=5):
            key = (n.id, p.provider_key)
            if key in batch_scores:
                assert p.score == batch_scores[key]
                checked += 1
    assert checked > 100


# -- the vectorised pieces against plain definitions ---------------------------------------------
def test_vectorised_overlap_equals_slots_overlap_minutes():
    rng = random.Random(0)
    patterns = [parse_slots(p) for p in (["mon-fri 09:00-12:00"], ["wed 08:00-12:00", "wed 14:00-18:00"],
                                         ["sat-sun 10:00-16:00"], ["sun 22:00-24:00", "mon 00:00-02:00"])]
    providers = [volunteer(i, slots=rng.choice(patterns)) for i in range(1, 9)] + [volunteer(9)]
    needs = []
    for i in range(40):
        start = datetime(2026, 12, 7) + timedelta(minutes=rng.randrange(0, 9 * 24 * 60, 15))
        needs.append(need(i, window=(start, start + timedelta(minutes=rng.choice((30, 120, 600, 3000))))))
    needs.append(need(99))  # flexible
    index = ProviderIndex.build(providers)
    batch = NeedBatch.of(needs)
    rows = np.repeat(np.arange(len(needs)), index.size)
    prov = np.tile(np.arange(index.size), len(needs))
    got = overlap_minutes(batch, index, Pairs(need=rows, provider=prov, tier=rows * 0, offset=rows[:0]))
    for k, (i, p) in enumerate(zip(rows.tolist(), prov.tolist())):
        expected = slot_overlap_minutes(index.providers[p].slots, needs[i].window)
        assert got[k] == (-1 if expected is None else expected)


def test_char_ngram_tfidf_equals_scikit_learn():
    rng = random.Random(1)
    words = ["老人", "社区", "医院", "陪诊", "水管", "漏水", "Wi-Fi", "HELLO", "x", "，", "。"]
    docs = ["", "  ", "A  b\tC\u3000d"]
    docs += [" ".join(rng.choices(words, k=rng.randint(0, 6))) for _ in range(300)]
    queries = ["陪诊老人 hello", "zzz", "", "社区医院"] + docs[:20]
    ours = CharNgramTfidf()
    mine = ours.fit_transform(docs)
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3))
    theirs = reference.fit_transform(docs)
    assert mine.shape == theirs.shape
    np.testing.assert_allclose((mine @ mine.T).toarray(), (theirs @ theirs.T).toarray(), atol=1e-5)
    np.testing.assert_allclose((ours.transform(queries) @ mine.T).toarray(),
                               (reference.transform(queries) @ theirs.T).toarray(), atol=1e-5)


def test_unseen_ngrams_count_in_a_texts_norm():
    vectoriser = CharNgramTfidf()
    providers = vectoriser.fit_transform(["保洁 家庭保洁", "水管维修 上门修水管"])
    piano, pipe = "想找人做钢琴调音，家里", "家里水管漏了"
    plain = (vectoriser.transform([piano, pipe]) @ providers.T).toarray()
    counted = (vectoriser.transform([piano, pipe], count_unseen=True) @ providers.T).toarray()
    assert plain[0, 0] > 0.3  # sharing only "家" looks like a match when the rest is ignored
    assert counted[0, 0] < 0.2
    assert counted[1, 1] > counted[1, 0] and counted[1, 1] > 2 * counted[0, 0]


def test_cell_cosines_equal_plain_dot_products():
    rng = np.random.default_rng(2)
    providers = sparse.random(30, 12, density=0.4, random_state=3, format="csr", dtype=np.float32)
    needs = sparse.random(5, 12, density=0.5, random_state=4, format="csr", dtype=np.float32)
    from matching.index import CellTable
    members = rng.permutation(30)[:24]
    table = CellTable(ptr=np.array([0, 5, 5, 13, 24]), members=members)
    blocks = CellBlocks.of(table, gather_rows(providers, table.members), providers.shape[1])
    visit_need = np.array([0, 0, 1, 3, 4, 4, 2])
    visit_cell = np.array([0, 3, 2, 1, 0, 2, 3])
    sizes = table.size(visit_cell)
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    got = cell_pair_cosines(needs, blocks, visit_need, visit_cell, offset, int(sizes.sum()))
    dense_n, dense_p = needs.toarray(), providers.toarray()
    expected = [dense_n[v] @ dense_p[m] for v, c in zip(visit_need, visit_cell)
                for m in members[table.ptr[c]: table.ptr[c + 1]]]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_a_batch_scores_the_same_pairs_the_same_whatever_the_chunk_of_its_pair_cosines(monkeypatch):
    from matching.engine import candidate_graph

    sub = make_subdistrict(300, 900, seed=7, n_grids=36)
    index = ProviderIndex.build(sub.providers)

    def scored() -> tuple[np.ndarray, ...]:
        s = candidate_graph(sub.needs, index, sub.grid_map).scored
        return s.need, s.provider, s.tier, s.features, s.score

    whole = scored()
    monkeypatch.setattr(scoring, "PAIR_CHUNK", 7)  # many chunks, the last one short
    chunked = scored()
    assert whole[0].size > 1000 and int(whole[2].max()) == 3  # tier 3 pairs, scored one by one
    for a, b in zip(whole, chunked):
        np.testing.assert_array_equal(a, b)


def test_matching_imports_neither_flask_nor_sqlalchemy():
    code = ("import sys, matching, matching.scoring, matching.engine, matching.index, "
            "matching.candidates, matching.textvec, matching.pricing\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy')]\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_module_constants_are_named_and_coherent():
    assert MIN_SCORE == scoring.MIN_SCORE
    assert set(scoring.URGENCY_PRIORITY) == {"low", "normal", "high", "urgent"}
    assert scoring.URGENCY_PRIORITY["urgent"] > scoring.URGENCY_PRIORITY["normal"]
    assert TIER_SCORES[1] > TIER_SCORES[2] > TIER_SCORES[3]


def _across_one_service_at_a_time(n: NeedView, index: ProviderIndex, grid_map: GridMap, limit: int) -> list:  # type: ignore[type-arg]
    """What propose_across_services gave when it scored each other service in a pass of its own."""
    best = {}
    for alt in scoring.alternatives(n):
        for m in scoring._propose_within(alt, index, grid_map, limit, MIN_SCORE):
            if scoring.strong(m) and (m.provider_key not in best or m.score > best[m.provider_key].score):
                best[m.provider_key] = scoring.confirmed(m, n)
    return sorted(best.values(), key=lambda m: (-m.score, m.provider_key))[:limit]


def test_the_other_services_scored_in_one_pass_propose_what_one_pass_each_did():
    sub = make_subdistrict(120, 900, seed=7, n_grids=16)
    index = ProviderIndex.build(sub.providers)
    found = 0
    for n in sub.needs:
        got = scoring.propose_across_services(n, index, sub.grid_map, limit=5)
        assert got == _across_one_service_at_a_time(n, index, sub.grid_map, 5), n.id
        found += bool(got)
    assert found > 10  # the comparison saw proposals, not only empty lists


def test_a_texts_analysis_kept_by_the_index_gives_the_proposals_a_fresh_index_gives():
    sub = make_subdistrict(40, 600, seed=8, n_grids=16)
    index = ProviderIndex.build(sub.providers)
    first = sub.needs[0]
    propose(first, index, sub.grid_map)
    assert first.text in index.text_memo
    # The same words from another grid, at another time: only what the words give is reused.
    other_grid = next(g for g in sub.grid_map.neighbors if g != first.grid)
    again = replace(first, id=999, grid=other_grid, window=None)
    fresh_index = ProviderIndex.build(sub.providers)
    assert propose(again, index, sub.grid_map) == propose(again, fresh_index, sub.grid_map)
    assert propose(first, index, sub.grid_map) == propose(first, fresh_index, sub.grid_map)


def test_a_full_desk_keeps_its_cells_but_is_not_proposed_until_it_has_room_again():
    desk, other = resource(1, capacity=1), resource(2, capacity=3, name="社保窗口二")
    index = ProviderIndex.build([desk, other])
    asking = need(service="public", text="想咨询一下医保报销怎么办理")
    assert ("resource", 1) in keys(propose(asking, index, LINE))

    full = index.with_loads({("resource", 1): (1, 1, None)})

    assert full.cells is index.cells  # nothing built again for a desk that filled up
    assert keys(propose(asking, full, LINE)) == [("resource", 2)]
    freed = full.with_loads({("resource", 1): (1, 0, None)})
    assert ("resource", 1) in keys(propose(asking, freed, LINE))
