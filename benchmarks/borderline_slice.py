"""The borderline slice of the needs corpus: how the classifier does on it before and after it joined.

Prints tables; never asserts.

The slice is BORDERLINE in matching/corpus/build_corpus.py: hand-written needs whose topic words
point to one service and whose deliverer is another. Three kinds: a quarrel that names a trade
(neighbour or family mediation is social, a labour dispute or a consumer complaint is public), a
trade that names a quarrel in passing (market), and health and community needs in everyday words
(public or volunteer). The builder writes them last in needs_zh.csv and lets none of them repeat
another line, so they can be picked out of the corpus exactly.

(a) before: matching.classifier.train on the corpus WITHOUT the slice, tested on the slice.
(b) after: 5-fold stratified CV (shuffled, seed 0, the folds of matching.classifier.evaluate) over
    the whole corpus WITH the slice, each fold fitted with matching.classifier.train; the table
    counts the slice's lines only, each predicted by a model that never saw it.
(c) the whole corpus without and with the slice: 5-fold macro-F1 from matching.classifier.evaluate
    (the protocol of bench_classifier.py) and the held-out quarter of tests/matching/test_classifier.py.
    Those two test on the slice too once it is in the corpus, so they also measure a harder test set.
    What the slice does to the other needs alone: the same folds of the other needs (seeds 0-4),
    each training fold fitted without and with the whole slice added; errors on the other needs.
(d) the sentences from the bug report, with the label each should get: label and confidence of a
    model trained without the slice and of one trained on the whole corpus.

    python benchmarks/borderline_slice.py
"""
from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support  # noqa: E402
from sklearn.model_selection import StratifiedKFold, train_test_split  # noqa: E402

from matching import classifier  # noqa: E402

FOLDS = 5
SEED = 0
HELD_OUT_SHARE = 0.25  # as in tests/matching/test_classifier.py
PAIRED_SEEDS = range(5)  # fold seeds of the paired comparison in (c)
SERVICES = ("public", "social", "market", "volunteer")

# Sentences from the bug report, not in the corpus, with the label the taxonomy gives them.
CHECKS = (
    ("楼上装修吵得睡不着，跟他们说了好几次都没用，想请社区出面调解", "social"),
    ("楼上漏水把我家天花板泡了，找他们协商没结果，想请人来调解一下", "social"),
    ("楼上漏水，邻居联系不上，先找个师傅把我家的水管修好", "market"),
    ("社区医生能上门量量血压吗", "public"),
    # A consumer complaint about a business: the market regulator (12315) has the mandate.
    ("装修师傅收了钱干一半跑了，想投诉", "public"),
)


def load_corpus_builder():
    """matching/corpus/build_corpus.py is a script, not a package module; load it by path."""
    path = classifier.CORPUS_PATH.with_name("build_corpus.py")
    spec = importlib.util.spec_from_file_location("build_corpus", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def slice_table(title: str, truth: list[str], predicted: list[str], kinds: list[str]) -> None:
    """Accuracy, macro-F1, per-class scores, the confusion matrix and accuracy per kind."""
    accuracy = accuracy_score(truth, predicted)
    macro_f1 = f1_score(truth, predicted, labels=SERVICES, average="macro", zero_division=0)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=SERVICES, zero_division=0
    )
    print(f"\n{title}")
    print(f"  {len(truth)} lines   accuracy {accuracy:.3f}   macro-F1 {macro_f1:.3f}")
    print(f"  {'label':10s} {'precision':>9s} {'recall':>9s} {'f1':>9s} {'support':>8s}")
    for label, p, r, f, s in zip(SERVICES, precision, recall, f1, support):
        print(f"  {label:10s} {p:9.3f} {r:9.3f} {f:9.3f} {s:8d}")
    print("  confusion matrix (rows = true, columns = predicted)")
    print(f"  {'':10s}" + "".join(f"{label:>10s}" for label in SERVICES))
    for label, row in zip(SERVICES, confusion_matrix(truth, predicted, labels=SERVICES)):
        print(f"  {label:10s}" + "".join(f"{n:10d}" for n in row))
    print(f"  {'kind':24s} {'lines':>6s} {'correct':>8s} {'accuracy':>9s}")
    for kind in dict.fromkeys(kinds):
        pairs = [(t, p) for t, p, k in zip(truth, predicted, kinds) if k == kind]
        correct = sum(t == p for t, p in pairs)
        print(f"  {kind:24s} {len(pairs):6d} {correct:8d} {correct / len(pairs):9.3f}")


def cross_validated_predictions(texts: list[str], labels: list[str]) -> list[str]:
    """Each text predicted by matching.classifier.train fitted on the other folds (evaluate's folds)."""
    predicted = [""] * len(texts)
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for train_index, test_index in splitter.split(texts, labels):
        model = classifier.train([texts[i] for i in train_index], [labels[i] for i in train_index])
        for i, prediction in zip(test_index, model.predict_many([texts[i] for i in test_index])):
            predicted[i] = prediction.label
    return predicted


def paired_effect_on_other_needs(base_texts, base_labels, slice_texts, slice_labels, seed):
    """Macro-F1 and errors on the other needs, from the same folds fitted without and with the slice."""
    without = [""] * len(base_texts)
    with_slice = [""] * len(base_texts)
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for train_index, test_index in splitter.split(base_texts, base_labels):
        train_texts = [base_texts[i] for i in train_index]
        train_labels = [base_labels[i] for i in train_index]
        test_texts = [base_texts[i] for i in test_index]
        for target, model in (
            (without, classifier.train(train_texts, train_labels)),
            (with_slice, classifier.train(train_texts + slice_texts, train_labels + slice_labels)),
        ):
            for i, prediction in zip(test_index, model.predict_many(test_texts)):
                target[i] = prediction.label
    return tuple(
        (float(f1_score(base_labels, predicted, average="macro")),
         sum(p != lb for p, lb in zip(predicted, base_labels)))
        for predicted in (without, with_slice)
    )


def held_out_macro_f1(texts: list[str], labels: list[str]) -> float:
    train_texts, test_texts, train_labels, test_labels = train_test_split(
        texts, labels, test_size=HELD_OUT_SHARE, stratify=labels, random_state=0
    )
    model = classifier.train(train_texts, train_labels)
    predicted = [p.label for p in model.predict_many(test_texts)]
    return float(f1_score(test_labels, predicted, average="macro"))


def main() -> int:
    texts, labels = classifier.read_labelled_csv(classifier.CORPUS_PATH)
    borderline = load_corpus_builder().borderline()
    slice_labels = {text: service for text, service, _ in borderline}
    kind_of = {text: kind for text, _, kind in borderline}
    missing = [text for text in slice_labels if text not in set(texts)]
    if missing:
        print(f"needs_zh.csv lacks {len(missing)} borderline lines; run matching/corpus/build_corpus.py")
        return 1
    in_slice = [text in slice_labels for text in texts]
    base_texts = [t for t, s in zip(texts, in_slice) if not s]
    base_labels = [lb for lb, s in zip(labels, in_slice) if not s]
    slice_texts = [t for t, s in zip(texts, in_slice) if s]
    slice_truth = [lb for lb, s in zip(labels, in_slice) if s]
    slice_kinds = [kind_of[t] for t in slice_texts]

    counts = Counter(zip(slice_kinds, slice_truth))
    print(f"corpus {len(texts)} needs, of them {len(slice_texts)} in the borderline slice")
    print(f"  {'kind':24s}" + "".join(f"{label:>10s}" for label in SERVICES) + f"{'total':>8s}")
    for kind in dict.fromkeys(slice_kinds):
        row = [counts[(kind, label)] for label in SERVICES]
        print(f"  {kind:24s}" + "".join(f"{n:10d}" for n in row) + f"{sum(row):8d}")

    before_model = classifier.train(base_texts, base_labels)
    before = [p.label for p in before_model.predict_many(slice_texts)]
    slice_table(f"(a) before: trained on the {len(base_texts)} other needs, tested on the slice",
                slice_truth, before, slice_kinds)

    everything = cross_validated_predictions(texts, labels)
    after = [p for p, s in zip(everything, in_slice) if s]
    slice_table(f"(b) after: {FOLDS}-fold stratified CV over all {len(texts)} needs (seed {SEED}), "
                f"slice lines only", slice_truth, after, slice_kinds)
    wrong = [(t, lb, p) for t, lb, p in zip(slice_texts, slice_truth, after) if lb != p]
    print(f"  slice lines still wrong after ({len(wrong)}):")
    for text, label, guess in wrong:
        print(f"    {label:>9s} -> {guess:9s} {text}")

    print(f"\n(c) whole corpus, {FOLDS}-fold stratified CV (seed {SEED}) and the tests' held-out quarter")
    print(f"  {'corpus':28s} {'needs':>6s} {'CV accuracy':>12s} {'CV macro-F1':>12s} {'held-out F1':>12s}")
    for name, corpus_texts, corpus_labels in (
        ("without the slice", base_texts, base_labels),
        ("with the slice", texts, labels),
    ):
        evaluation = classifier.evaluate(corpus_texts, corpus_labels, folds=FOLDS, seed=SEED)
        print(f"  {name:28s} {len(corpus_texts):6d} {evaluation.accuracy:12.3f} {evaluation.macro_f1:12.3f} "
              f"{held_out_macro_f1(corpus_texts, corpus_labels):12.3f}")
    without_slice = [p for p, s in zip(everything, in_slice) if not s]
    print(f"  with the slice, the {len(base_texts)} other needs only (folds of (b)): "
          f"macro-F1 {f1_score(base_labels, without_slice, average='macro'):.3f}; "
          f"all needs via train() on those folds: {f1_score(labels, everything, average='macro'):.3f}")

    print(f"  the {len(base_texts)} other needs on the same folds, each training fold fitted without / with "
          f"the {len(slice_texts)} slice lines added")
    print(f"  {'seed':>6s} {'macro-F1 without':>17s} {'with':>7s} {'errors without':>15s} {'with':>5s}")
    totals = [0.0, 0.0, 0, 0]
    for seed in PAIRED_SEEDS:
        (f1_without, errors_without), (f1_with, errors_with) = paired_effect_on_other_needs(
            base_texts, base_labels, slice_texts, slice_truth, seed
        )
        print(f"  {seed:6d} {f1_without:17.3f} {f1_with:7.3f} {errors_without:15d} {errors_with:5d}")
        for k, value in enumerate((f1_without, f1_with, errors_without, errors_with)):
            totals[k] += value
    n = len(PAIRED_SEEDS)
    print(f"  {'mean':>6s} {totals[0] / n:17.4f} {totals[1] / n:7.4f} {totals[2] / n:15.1f} {totals[3] / n:5.1f}")

    after_model = classifier.train(texts, labels)
    print("\n(d) sentences from the bug report (none of them is in the corpus)")
    print(f"  {'expected':9s} {'before':>15s} {'after':>15s}  text")
    for text, expected in CHECKS:
        old, new = before_model.predict(text), after_model.predict(text)
        mark = "" if new.label == expected else "  <- wrong"
        print(f"  {expected:9s} {old.label:>9s} {old.confidence:5.2f} {new.label:>9s} {new.confidence:5.2f}  "
              f"{text}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
