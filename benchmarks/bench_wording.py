"""Do residents' everyday words find a provider who fits? Prints a table; never asserts.

The demo subdistrict's pools (built as the simulation builds them: ``simulation.runner.build_world``)
against two sets of need texts, each classified by the project's classifier and given its instant
proposals (``matching.scoring.propose``: what a council's list, a decline or a no-show would offer),
one need at a time, in a grid drawn at random, without a window:

- ``templates``: the demo's need templates (``demo.data``), the texts the simulated month draws,
  ``--per-template`` drawn texts of each, with their greetings, slips and pleas;
- ``corpus``: the 1,378 labelled needs of the classifier's corpus (``matching/corpus/needs_zh.csv``).

A need "has no fit" when nobody is proposed: no provider of its service (nor, with a strong skill
match, of another) shows skill fit and reaches the minimum score. The rows list the templates (or
corpus lines) that have none, with the skills their words call, so a missing word shows at once.

    python benchmarks/bench_wording.py                    # 20 texts per template
    python benchmarks/bench_wording.py --per-template 5   # quicker
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from app import create_app  # noqa: E402
from core.database import get_db  # noqa: E402
from demo import data as demo  # noqa: E402
from dispatch.classifier import classify_many, needs_triage  # noqa: E402
from dispatch.views import grid_map, load_providers  # noqa: E402
from matching.classifier import CORPUS_PATH  # noqa: E402
from matching.index import ProviderIndex  # noqa: E402
from matching.lexicon import read  # noqa: E402
from matching.scoring import propose  # noqa: E402
from matching.types import GridMap, NeedView  # noqa: E402
from simulation.runner import AppRecipe, build_world, places  # noqa: E402

SEED = 1
SHOWN = 2  # example texts shown per failing template


def template_texts(rng: random.Random, where: list, per_template: int) -> list[tuple[str, str, str]]:
    """(source, service, text) for every template of the demo, ``per_template`` drawn texts each
    (formal letters half as many: they vary less)."""
    out = []
    for kind, table in (("C", demo.COLLOQUIAL_TEMPLATES), ("F", demo.FORMAL_TEMPLATES)):
        for service, templates in table.items():
            for k, (template, _hint) in enumerate(templates):
                for _ in range(per_template if kind == "C" else max(per_template // 2, 3)):
                    place = rng.choice(where)
                    stem = place.community.removesuffix("社区")
                    pools = {**demo.NEED_POOLS, "community": (place.community,),
                             "xiaoqu": (*(stem + s for s in demo.ESTATE_SUFFIXES), *demo.OTHER_ESTATES)}
                    text = demo.fill(rng, template, pools)
                    out.append((f"{service}/{kind}{k}", service, demo.colloquial(rng, text, pools) if kind == "C" else text))
    return out


def without_fit(rows: list[tuple[str, str, str]], index: ProviderIndex, grids: GridMap,
                rng: random.Random) -> tuple[Counter[str], Counter[str], dict[str, list[str]]]:
    codes = sorted(grids.neighbors)
    predictions = classify_many([text for _, _, text in rows])
    total: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for k, ((source, _service, text), (label, confidence)) in enumerate(zip(rows, predictions)):
        need = NeedView(id=k + 1, ref=f"W{k}", text=text, grid=rng.choice(codes), service=label,
                        tentative=needs_triage(confidence))
        total[source] += 1
        if not propose(need, index, grids, limit=1):
            failed[source] += 1
            examples.setdefault(source, []).append(f"[{label}] {'、'.join(read(text).tags) or '—'} {text[:50]}")
    return total, failed, examples


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-template", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sanku-bench-wording-") as work:
        url = f"sqlite:///{Path(work) / 'world.db'}"
        recipe = AppRecipe(create_app, {"SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
                                        "CLASSIFIER_PATH": str(Path(work) / "classifier.joblib")})
        build_world(url, recipe)
        with recipe.factory({**recipe.config, "DATABASE_URL": url}).app_context(), \
                get_db().unit_of_work() as session:
            index, grids, where = ProviderIndex.build(load_providers(session)), grid_map(session), places(session)
            rng = random.Random(SEED)
            with CORPUS_PATH.open(encoding="utf-8", newline="") as fh:
                corpus = [("corpus/" + row["service"], row["service"], row["text"]) for row in csv.DictReader(fh)]
            sets = {"templates": template_texts(rng, where, args.per_template), "corpus": corpus}
            print(f"{'texts':<10} {'needs':>6} {'no fit':>7} {'share':>7}")
            details = {}
            for name, rows in sets.items():
                total, failed, examples = without_fit(rows, index, grids, rng)
                print(f"{name:<10} {sum(total.values()):>6} {sum(failed.values()):>7} "
                      f"{sum(failed.values()) / max(sum(total.values()), 1):>7.3f}")
                details[name] = (total, failed, examples)
            for name, (total, failed, examples) in details.items():
                if not failed:
                    continue
                print(f"\n{name}: without a fit provider")
                for source, n in failed.most_common():
                    print(f"  {source:<16} {n:>3}/{total[source]:<3}")
                    for line in examples[source][:SHOWN]:
                        print(f"      {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
