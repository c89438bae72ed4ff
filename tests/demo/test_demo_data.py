"""The demo subdistrict: sizes, a coherent map, valid pools, determinism, planted duplicates."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.vocab import Force, Service, Urgency, VolunteerKind
from demo.data import DEMO_WEEK_START, EXTRA_SKILLS, DemoData, build_demo
from matching.slots import parse_slots, parse_window
from matching.taxonomy import ALL_SKILLS, SKILLS_BY_SERVICE
from pools.tabular import IMPORT_COLUMNS

FORCES, SERVICES, URGENCIES, VOLUNTEER_KINDS = tuple(Force), tuple(Service), tuple(Urgency), tuple(VolunteerKind)

REPO_ROOT = Path(__file__).resolve().parents[2]
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
KNOWN_SKILLS = set(ALL_SKILLS) | set(EXTRA_SKILLS)


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return build_demo()


def digest(data: DemoData) -> str:
    text = json.dumps(dataclasses.asdict(data), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def by_code(rows: list[dict]) -> dict[str, dict]:
    return {row["code"]: row for row in rows}


def one_char_apart(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1


# --- sizes -------------------------------------------------------------------------------------

def test_the_subdistrict_has_the_reported_numbers_of_communities_grids_and_party_grids(demo):
    counts = demo.counts()
    assert (counts["communities"], counts["grids"], counts["party_grids"]) == (13, 158, 34)


def test_the_pools_have_a_realistic_size_for_one_subdistrict(demo):
    counts = demo.counts()
    assert 30 <= counts["resources"] <= 60
    assert 2500 <= counts["volunteers"] <= 4000
    assert 300 <= counts["needs"] <= 600


def test_counts_match_the_lists(demo):
    assert demo.counts() == {name: len(getattr(demo, name)) for name in demo.counts()}


# --- columns -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["grids", "resources", "volunteers", "needs"])
def test_rows_carry_exactly_the_import_columns(demo, kind):
    spec = IMPORT_COLUMNS[kind]
    expected = set(spec.required) | set(spec.optional)
    assert all(set(row) == expected for row in getattr(demo, kind))


def test_communities_and_party_grids_carry_their_fields(demo):
    assert all(set(c) == {"code", "name"} for c in demo.communities)
    assert all(set(p) == {"code", "name", "branch", "community"} for p in demo.party_grids)


def test_rows_load_through_the_input_schemas_of_the_service(demo):
    from pools.schemas import GridIn, NeedIn, ResourceIn, VolunteerIn

    for schema, rows in ((GridIn(), demo.grids), (ResourceIn(), demo.resources),
                         (VolunteerIn(), demo.volunteers), (NeedIn(), demo.needs)):
        schema.load(rows, many=True)  # raises on the first invalid field


# --- the map -----------------------------------------------------------------------------------

def test_codes_follow_the_house_style(demo):
    assert [c["code"] for c in demo.communities] == [f"C{i:02d}" for i in range(1, 14)]
    assert [p["code"] for p in demo.party_grids] == [f"PG{i:02d}" for i in range(1, 35)]
    assert [g["code"] for g in demo.grids] == [f"G{i:03d}" for i in range(1, 159)]


def test_names_are_community_names_with_a_number(demo):
    communities = by_code(demo.communities)
    assert all(c["name"].endswith("社区") for c in demo.communities)
    for grid in demo.grids:
        assert re.fullmatch(re.escape(communities[grid["community"]]["name"]) + r"第\d+网格", grid["name"])
    for party in demo.party_grids:
        name = communities[party["community"]]["name"]
        assert re.fullmatch(re.escape(name) + r"第\d+党建网格", party["name"])
        assert re.fullmatch(re.escape(name) + r"第\d+网格党支部", party["branch"])


def test_every_community_holds_between_8_and_16_grids_and_sizes_are_uneven(demo):
    sizes = Counter(g["community"] for g in demo.grids)
    assert set(sizes) == {c["code"] for c in demo.communities}
    assert all(8 <= n <= 16 for n in sizes.values())
    assert len(set(sizes.values())) >= 3


def test_every_grids_party_grid_and_community_exist(demo):
    communities = by_code(demo.communities)
    parties = by_code(demo.party_grids)
    assert all(g["community"] in communities and g["party_grid"] in parties for g in demo.grids)
    assert all(p["community"] in communities for p in demo.party_grids)


def test_a_party_grid_holds_3_to_7_grids_all_of_its_own_community(demo):
    parties = by_code(demo.party_grids)
    members = defaultdict(list)
    for grid in demo.grids:
        members[grid["party_grid"]].append(grid)
    assert set(members) == set(parties)
    for code, grids in members.items():
        assert 3 <= len(grids) <= 7
        assert {g["community"] for g in grids} == {parties[code]["community"]}


def test_neighbours_exist_are_symmetric_and_never_the_grid_itself(demo):
    grids = by_code(demo.grids)
    for code, grid in grids.items():
        assert code not in grid["neighbors"]
        assert len(set(grid["neighbors"])) == len(grid["neighbors"])
        for other in grid["neighbors"]:
            assert other in grids
            assert code in grids[other]["neighbors"]


def test_every_grid_has_two_to_six_neighbours(demo):
    assert all(2 <= len(g["neighbors"]) <= 6 for g in demo.grids)


def test_neighbours_are_mostly_within_the_community_with_a_few_border_crossings(demo):
    community = {g["code"]: g["community"] for g in demo.grids}
    links = {tuple(sorted((g["code"], n))) for g in demo.grids for n in g["neighbors"]}
    crossing = sum(community[a] != community[b] for a, b in links)
    assert 0 < crossing < 0.25 * len(links)


def connected(nodes: set[str], edges: dict[str, list[str]]) -> bool:
    start = min(nodes)
    seen, todo = {start}, [start]
    while todo:
        for other in edges[todo.pop()]:
            if other in nodes and other not in seen:
                seen.add(other)
                todo.append(other)
    return seen == nodes


def test_each_community_is_one_connected_block_and_the_whole_map_is_connected(demo):
    edges = {g["code"]: g["neighbors"] for g in demo.grids}
    assert connected(set(edges), edges)
    for community in demo.communities:
        assert connected({g["code"] for g in demo.grids if g["community"] == community["code"]}, edges)


# --- references, phones, vocabularies ----------------------------------------------------------

@pytest.mark.parametrize("kind,pattern", [
    ("resources", r"R\d{4}"), ("volunteers", r"V\d{5}"), ("needs", r"N\d{4}"),
])
def test_refs_are_unique_and_well_formed(demo, kind, pattern):
    refs = [row["ref"] for row in getattr(demo, kind)]
    assert len(set(refs)) == len(refs)
    assert all(re.fullmatch(pattern, ref) for ref in refs)


def test_volunteer_phones_are_unique_mainland_mobiles(demo):
    phones = [v["phone"] for v in demo.volunteers]
    assert len(set(phones)) == len(phones)
    assert all(MOBILE_RE.match(p) for p in phones)


def test_need_contacts_show_a_masked_phone(demo):
    assert all(re.search(r"1[3-9]\d\*{4}\d{4}$", n["contact"]) for n in demo.needs)


def test_services_forces_kinds_and_urgencies_are_in_the_taxonomy(demo):
    assert all(r["service"] in SERVICES for r in demo.resources)
    assert all(n["service"] in SERVICES and n["urgency"] in URGENCIES for n in demo.needs)
    for v in demo.volunteers:
        assert v["kind"] in VOLUNTEER_KINDS and v["force"] in FORCES
        assert v["services"] and set(v["services"]) <= set(SERVICES)
        assert len(set(v["services"])) == len(v["services"])


def test_every_volunteer_serves_an_existing_grid(demo):
    grids = {g["code"] for g in demo.grids}
    assert all(v["grid"] in grids for v in demo.volunteers)
    assert all(n["grid"] in grids for n in demo.needs)


def test_resources_cover_every_grid_or_known_grids(demo):
    grids = {g["code"] for g in demo.grids}
    for resource in demo.resources:
        assert resource["grids"] == ["*"] or (resource["grids"] and set(resource["grids"]) <= grids)
    assert any(r["grids"] == ["*"] for r in demo.resources)
    assert any(r["grids"] != ["*"] for r in demo.resources)


def test_resources_are_mostly_public_with_some_social(demo):
    services = Counter(r["service"] for r in demo.resources)
    assert services["public"] > len(demo.resources) / 2
    assert services["social"] >= 3


# --- slots and windows -------------------------------------------------------------------------

def test_every_slot_string_parses(demo):
    for resource in demo.resources:
        assert parse_slots(resource["hours"])
    for volunteer in demo.volunteers:
        parse_slots(volunteer["availability"])  # raises on a bad slot


def test_about_one_volunteer_in_seven_is_available_any_time(demo):
    share = sum(not v["availability"] for v in demo.volunteers) / len(demo.volunteers)
    assert 0.08 <= share <= 0.25


def test_windows_parse_and_fall_in_the_two_weeks_after_the_demo_start(demo):
    first = datetime.combine(DEMO_WEEK_START, datetime.min.time()) + timedelta(days=1)
    last = first + timedelta(days=14)
    windows = [parse_window(n["window"]) for n in demo.needs]
    for window in filter(None, windows):
        assert first <= window[0] < window[1] <= last
    flexible = windows.count(None) / len(windows)
    assert 0.35 <= flexible <= 0.65


# --- coherence ---------------------------------------------------------------------------------

def test_every_skill_is_a_known_tag(demo):
    for row in [*demo.resources, *demo.volunteers]:
        assert set(row["skills"]) <= KNOWN_SKILLS, row["skills"]


def test_every_offered_service_is_backed_by_a_skill_of_that_service(demo):
    for volunteer in demo.volunteers:
        for service in volunteer["services"]:
            assert set(volunteer["skills"]) & set(SKILLS_BY_SERVICE[service]), volunteer
    for resource in demo.resources:
        assert set(resource["skills"]) & set(SKILLS_BY_SERVICE[resource["service"]]), resource


def test_volunteers_carry_one_to_four_distinct_skills(demo):
    for volunteer in demo.volunteers:
        assert 1 <= len(volunteer["skills"]) <= 4
        assert len(set(volunteer["skills"])) == len(volunteer["skills"])


def test_capacities_are_in_range_for_each_kind(demo):
    assert all(3 <= r["capacity"] <= 30 for r in demo.resources)
    for volunteer in demo.volunteers:
        low, high = (1, 3) if volunteer["kind"] == "person" else (3, 15)
        assert low <= volunteer["capacity"] <= high


def test_about_one_in_ten_entries_is_an_organisation(demo):
    share = sum(v["kind"] == "organization" for v in demo.volunteers) / len(demo.volunteers)
    assert 0.07 <= share <= 0.13


def test_about_thirty_percent_of_persons_are_party_members_and_no_organisation_is(demo):
    persons = [v for v in demo.volunteers if v["kind"] == "person"]
    share = sum(v["party_member"] for v in persons) / len(persons)
    assert 0.22 <= share <= 0.38
    assert not any(v["party_member"] for v in demo.volunteers if v["kind"] == "organization")


def test_forces_fit_the_providers(demo):
    for volunteer in demo.volunteers:
        if volunteer["force"] == "governance":
            assert "public" in volunteer["services"]
        if "market" in volunteer["services"]:
            assert volunteer["force"] == "cobuilding"
    law_firms = [v for v in demo.volunteers if v["name"].endswith("律师事务所")]
    assert law_firms and all(v["force"] == "professional" and v["services"] == ["social"] for v in law_firms)
    assert all(v["force"] == "cobuilding" for v in demo.volunteers if "物业" in v["name"])


def test_person_names_are_chinese_names_of_two_or_three_characters(demo):
    names = [v["name"] for v in demo.volunteers if v["kind"] == "person"]
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", n) for n in names)
    assert Counter(n[0] for n in names).most_common(1)[0][1] < 0.1 * len(names)


def test_organisation_names_are_unique(demo):
    names = [v["name"] for v in demo.volunteers if v["kind"] == "organization"]
    assert len(set(names)) == len(names)


# --- needs -------------------------------------------------------------------------------------

def test_needs_are_spread_over_the_four_services_as_planned(demo):
    shares = {s: n / len(demo.needs) for s, n in Counter(n["service"] for n in demo.needs).items()}
    expected = {"public": 0.3, "volunteer": 0.3, "market": 0.2, "social": 0.2}
    assert shares.keys() == expected.keys()
    assert all(abs(shares[s] - expected[s]) <= 0.03 for s in SERVICES)


def test_urgency_is_mostly_normal_with_a_few_urgent_needs(demo):
    urgencies = Counter(n["urgency"] for n in demo.needs)
    assert urgencies["normal"] > len(demo.needs) / 2
    assert 0 < urgencies["urgent"] < 0.08 * len(demo.needs)
    assert urgencies["low"] > 0 and urgencies["high"] > 0


def test_need_texts_are_varied_short_and_long(demo):
    texts = [n["text"] for n in demo.needs]
    assert len(set(texts)) >= 0.95 * len(texts)
    assert any(len(t) < 20 for t in texts)
    assert any(len(t) > 80 for t in texts)
    assert all(2 <= len(t) <= 2000 for t in texts)


# --- planted duplicates ------------------------------------------------------------------------

def test_planted_duplicates_are_the_same_person_with_a_small_slip(demo):
    volunteers = {v["ref"]: v for v in demo.volunteers}
    assert len(demo.planted_duplicates) == 5
    for first, second in demo.planted_duplicates:
        a, b = volunteers[first], volunteers[second]
        assert a["kind"] == b["kind"] == "person"
        assert a["grid"] == b["grid"] and sorted(a["skills"]) == sorted(b["skills"])
        assert a["name"] == b["name"] or one_char_apart(a["name"], b["name"])
        assert one_char_apart(a["phone"], b["phone"])
    assert any(volunteers[a]["name"] != volunteers[b]["name"] for a, b in demo.planted_duplicates)


# --- determinism -------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_subdistrict(demo):
    assert build_demo() == demo


def test_another_seed_gives_another_subdistrict(demo):
    other = build_demo(7)
    assert other != demo
    assert other.volunteers != demo.volunteers and other.needs != demo.needs


def test_the_result_does_not_depend_on_string_hashing_of_the_process(demo):
    script = (
        "import dataclasses, hashlib, json; from demo.data import build_demo; "
        "text = json.dumps(dataclasses.asdict(build_demo()), ensure_ascii=False, sort_keys=True); "
        "print(hashlib.sha256(text.encode()).hexdigest())"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip() == digest(demo)
