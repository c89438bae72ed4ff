"""The hard-case set (tests/data/hard_cases/) through the CLI as a user runs it: ``import`` the four
files, ``match``, ``export assignments``; at least 95% of the needs get the key's provider (or none).

benchmarks/bench_hard_cases.py prints the same figure per kind, beside two baselines, with every miss.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
from benchmarks.bench_hard_cases import import_cases, match_and_export, read_key, score  # noqa: E402

REQUIRED_ACCURACY = 0.95


def test_the_hard_cases_go_where_a_careful_coordinator_would_send_them(runner: Any, tmp_path: Path) -> None:
    import_cases(runner)

    result = score(match_and_export(runner, tmp_path))

    assert sum(result.cases.values()) == len(read_key()) >= 120
    assert result.accuracy >= REQUIRED_ACCURACY, result.misses


def test_every_need_the_key_leaves_to_nobody_gets_no_filler(runner: Any, tmp_path: Path) -> None:
    import_cases(runner)

    chosen = match_and_export(runner, tmp_path)

    nobody = [ref for ref, row in read_key().items() if row["expected_provider_ref"] == "none"]
    assert len(nobody) >= 10 and not [ref for ref in nobody if ref in chosen]
