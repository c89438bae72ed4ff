"""The four-service classifier: quality on the shipped corpus, its errors, and its model files."""
from __future__ import annotations

import csv
import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from core.vocab import Service
from matching import classifier
from matching.classifier import (
    TRIAGE_CONFIDENCE,
    ModelFileError,
    TrainedClassifier,
    TrainingDataError,
    evaluate,
    load,
    load_or_train_default,
    read_labelled_csv,
    save,
    train,
)

SERVICES = tuple(Service)


REQUIRED_HELD_OUT_MACRO_F1 = 0.90
HELD_OUT_SHARE = 0.25

TOY_TEXTS = [
    "路灯坏了", "路灯不亮", "马路的路灯黑了", "路灯一闪一闪", "小区门口路灯坏", "路灯很暗", "路灯灭了", "巷子没路灯",
    "空调漏水", "空调不制冷", "空调要加氟", "空调外机响", "空调坏了", "空调滴水", "空调有异味", "空调遥控坏",
    "想学跳舞", "报名舞蹈班", "广场舞队招人", "学跳舞去哪", "跳舞的活动", "舞蹈课报名", "一起跳舞", "跳舞比赛",
]
TOY_LABELS = ["street"] * 8 + ["aircon"] * 8 + ["dance"] * 8


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    return read_labelled_csv(classifier.CORPUS_PATH)


@pytest.fixture(scope="module")
def split(corpus):
    texts, labels = corpus
    return train_test_split(texts, labels, test_size=HELD_OUT_SHARE, stratify=labels, random_state=0)


@pytest.fixture(scope="module")
def held_out_model(split) -> TrainedClassifier:
    train_texts, _, train_labels, _ = split
    return train(train_texts, train_labels)


@pytest.fixture(scope="module")
def model(corpus) -> TrainedClassifier:
    return train(*corpus)


@pytest.fixture(scope="module")
def toy_model() -> TrainedClassifier:
    return train(TOY_TEXTS, TOY_LABELS)


# --- the corpus and the quality it gives -------------------------------------------------------
def test_the_corpus_holds_at_least_900_distinct_needs_balanced_over_the_four_services(corpus):
    texts, labels = corpus
    counts = Counter(labels)
    assert len(texts) >= 900
    assert set(counts) == set(SERVICES)
    assert min(counts.values()) >= 225
    assert len(set(texts)) == len(texts)


def test_the_corpus_has_both_very_short_and_long_needs(corpus):
    lengths = [len(t) for t in corpus[0]]
    assert min(lengths) <= 6
    assert sum(n >= 100 for n in lengths) >= 50


def test_the_shipped_corpus_is_exactly_what_its_build_script_writes(corpus):
    """needs_zh.csv is edited through build_corpus.py, never by hand, so the two cannot drift."""
    script = classifier.CORPUS_PATH.with_name("build_corpus.py")
    spec = importlib.util.spec_from_file_location("build_corpus_under_test", script)
    builder = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = builder
    try:
        spec.loader.exec_module(builder)
        rows = builder.build()
    finally:
        del sys.modules[spec.name]
    assert [text for text, _ in rows] == corpus[0]
    assert [service for _, service in rows] == corpus[1]


def test_a_held_out_quarter_of_the_corpus_reaches_macro_f1_of_0_90(held_out_model, split):
    _, test_texts, _, test_labels = split
    predicted = [p.label for p in held_out_model.predict_many(test_texts)]
    assert f1_score(test_labels, predicted, average="macro") >= REQUIRED_HELD_OUT_MACRO_F1


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("楼道路灯坏了好几天了", "public"),
        ("家里水管爆了找个师傅", "market"),
        ("想找个心理咨询师聊聊", "social"),
        ("帮独居老人去医院拿药", "volunteer"),
    ],
)
def test_obvious_needs_go_to_the_service_that_delivers_them(model, text, service):
    prediction = model.predict(text)
    assert prediction.label == service
    assert not prediction.needs_triage


@pytest.mark.parametrize(
    ("text", "service"),
    [
        # None of these is in the corpus; each names a trade or a service word of another kind.
        ("楼上漏水把我家天花板泡了，找他们协商没结果，想请人来调解一下", "social"),
        ("楼上漏水，邻居联系不上，先找个师傅把我家的水管修好", "market"),
        ("社区医生能上门量量血压吗", "public"),
        ("装修师傅收了钱干一半跑了，想投诉", "public"),
    ],
)
def test_a_borderline_need_goes_to_who_delivers_it_not_to_the_trade_it_names(model, text, service):
    assert model.predict(text).label == service


def test_probabilities_cover_every_label_and_sum_to_one(model):
    prediction = model.predict("公园里的健身器材坏了")
    assert set(prediction.probabilities) == set(SERVICES)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
    assert all(0.0 <= p <= 1.0 for p in prediction.probabilities.values())


def test_the_label_is_the_most_probable_one_and_confidence_is_its_probability(model):
    prediction = model.predict("电梯又坏了")
    assert prediction.confidence == max(prediction.probabilities.values())
    assert prediction.probabilities[prediction.label] == prediction.confidence


def test_predict_many_gives_the_same_answers_as_predict_one_by_one(model):
    texts = ["社保卡丢了怎么补办", "想请个月嫂", "孩子想报四点半课堂"]
    assert [p.label for p in model.predict_many(texts)] == [model.predict(t).label for t in texts]
    assert model.predict_many([]) == []



def test_the_fast_probabilities_are_exactly_scikit_learns(model, corpus):
    # predict_many computes the calibrated SVM's probabilities from its arrays (scikit-learn's own
    # call costs ~22 ms a text); they must be scikit-learn's to the last bit.
    texts = corpus[0][::7]
    features = model.pipeline[:-1].transform(texts)
    assert model._sigmoid_folds is not None
    assert np.array_equal(classifier._calibrated_proba(features, model._sigmoid_folds),
                          model.pipeline[-1].predict_proba(features))
    by_sklearn = model.pipeline[-1].predict_proba(features[:20])
    assert [p.probabilities for p in model.predict_many(texts[:20])] == \
        [dict(zip(model.labels, map(float, row))) for row in by_sklearn]

def test_a_blank_need_has_no_evidence_and_goes_to_triage(model):
    prediction = model.predict("   ")
    assert prediction.needs_triage
    assert prediction.confidence < TRIAGE_CONFIDENCE
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)


def test_the_model_records_sorted_labels_size_and_a_version_from_time_and_data(model, corpus):
    assert model.labels == tuple(sorted(SERVICES))
    assert model.n_samples == len(corpus[0])
    assert model.preset == "short"
    assert re.fullmatch(r"\d{14}-[0-9a-f]{8}", model.version)
    assert model.version.endswith(model.data_hash[:8])


def test_the_same_data_gives_the_same_data_hash_and_other_data_another(toy_model):
    again = train(TOY_TEXTS, TOY_LABELS)
    assert again.data_hash == toy_model.data_hash
    assert classifier.training_data_hash(TOY_TEXTS[:-1] + ["去哪里学舞蹈"], TOY_LABELS) != toy_model.data_hash
    assert classifier.training_data_hash(TOY_TEXTS, TOY_LABELS[::-1]) != toy_model.data_hash


# --- any label set ---------------------------------------------------------------------------
def test_a_three_label_toy_set_trains_and_predicts_its_own_labels(toy_model):
    assert toy_model.labels == ("aircon", "dance", "street")
    assert toy_model.predict("我家空调又坏了").label == "aircon"
    assert toy_model.predict("门口路灯不亮").label == "street"
    assert set(toy_model.predict("跳舞").probabilities) == {"aircon", "dance", "street"}


def test_evaluation_reports_scores_and_a_confusion_matrix_over_all_labels():
    evaluation = evaluate(TOY_TEXTS, TOY_LABELS, folds=3, seed=0)
    assert evaluation.labels == ("aircon", "dance", "street")
    assert len(evaluation.confusion) == 3 and all(len(row) == 3 for row in evaluation.confusion)
    assert sum(map(sum, evaluation.confusion)) == len(TOY_TEXTS)
    assert [evaluation.per_class[lb].support for lb in evaluation.labels] == [8, 8, 8]
    assert 0.0 <= evaluation.macro_f1 <= 1.0 and 0.0 <= evaluation.accuracy <= 1.0
    table = evaluation.format_table()
    assert "macro-F1" in table and "confusion matrix" in table
    assert all(label in table for label in evaluation.labels)


def test_training_with_evaluation_folds_attaches_the_cross_validation():
    model = train(TOY_TEXTS, TOY_LABELS, evaluation_folds=3)
    assert model.evaluation is not None
    assert model.evaluation.n_samples == len(TOY_TEXTS)


def test_the_long_preset_is_chosen_for_long_formal_letters():
    assert classifier.choose_preset(["路灯坏了"] * 3) == "short"
    assert classifier.choose_preset(["这" * classifier.LONG_TEXT_MEDIAN_CHARS] * 3) == "long"


# --- refused data ----------------------------------------------------------------------------
def test_training_on_a_single_class_is_refused():
    with pytest.raises(TrainingDataError, match="至少需要 2 个类别"):
        train(TOY_TEXTS, ["public"] * len(TOY_TEXTS))


def test_empty_texts_are_refused_naming_their_rows():
    texts = list(TOY_TEXTS)
    texts[1] = ""
    texts[3] = "  "
    with pytest.raises(TrainingDataError) as caught:
        train(texts, TOY_LABELS)
    assert "第 2、4 条" in str(caught.value)
    assert "row(s) 2, 4" in str(caught.value)


def test_texts_and_labels_of_different_lengths_are_refused():
    with pytest.raises(TrainingDataError, match="数量不一致"):
        train(["路灯坏了", "空调坏了"], ["public"])


def test_a_class_with_too_few_examples_for_cross_validation_is_refused():
    texts = TOY_TEXTS[:8] + ["空调坏了", "空调漏水"]
    with pytest.raises(TrainingDataError, match=r"b（2 条）"):
        train(texts, ["a"] * 8 + ["b", "b"])


def test_evaluation_needs_enough_examples_per_class_for_its_folds():
    with pytest.raises(TrainingDataError, match="too few examples"):
        evaluate(TOY_TEXTS, TOY_LABELS, folds=10)


# --- CSV files -------------------------------------------------------------------------------
def write_csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


ROWS = [["text", "service"], ["路灯坏了", "public"], ["想请个月嫂", "market"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_labelled_csv_reads_the_same_in_utf8_with_or_without_bom_and_in_gbk(tmp_path, encoding):
    path = write_csv(tmp_path / "needs.csv", ROWS, encoding)
    assert read_labelled_csv(path) == (["路灯坏了", "想请个月嫂"], ["public", "market"])


def test_a_csv_without_the_label_column_is_refused_naming_it(tmp_path):
    path = write_csv(tmp_path / "needs.csv", [["text", "category"], ["路灯坏了", "public"]], "utf-8")
    with pytest.raises(TrainingDataError, match="缺少列：service"):
        read_labelled_csv(path)


def test_several_text_columns_are_joined_with_a_space(tmp_path):
    rows = [["id", "subject", "detail", "department"], ["1", "路灯坏了", "在东门口", "城乡建设"]]
    path = write_csv(tmp_path / "letters.csv", rows, "utf-8")
    texts, labels = read_labelled_csv(path, text_column="subject,detail", label_column="department")
    assert texts == ["路灯坏了 在东门口"] and labels == ["城乡建设"]


def test_a_csv_row_with_empty_text_is_refused_naming_its_line(tmp_path):
    path = write_csv(tmp_path / "needs.csv", [*ROWS, ["", "public"]], "utf-8")
    with pytest.raises(TrainingDataError, match="第 4 行"):
        read_labelled_csv(path)


# --- model files -----------------------------------------------------------------------------
def test_save_then_load_keeps_the_version_and_the_predictions(toy_model, tmp_path):
    path = tmp_path / "model.joblib"
    save(toy_model, path)
    loaded = load(path)
    assert loaded.version == toy_model.version
    assert loaded.labels == toy_model.labels
    texts = ["空调不制冷", "路灯坏", "跳舞"]
    assert loaded.predict_many(texts) == toy_model.predict_many(texts)


def test_a_failed_training_leaves_the_saved_model_untouched(toy_model, tmp_path):
    path = tmp_path / "model.joblib"
    save(toy_model, path)
    before = path.read_bytes()
    with pytest.raises(TrainingDataError):
        save(train(TOY_TEXTS, ["street"] * len(TOY_TEXTS)), path)
    assert path.read_bytes() == before
    assert load(path).version == toy_model.version


def test_a_failed_save_leaves_the_saved_model_untouched_and_no_temporary_file(
    toy_model, tmp_path, monkeypatch
):
    path = tmp_path / "model.joblib"
    save(toy_model, path)
    before = path.read_bytes()

    def half_written(value, fh, *args, **kwargs):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", half_written)
    with pytest.raises(OSError, match="disk full"):
        save(toy_model, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.joblib"]


def test_loading_a_file_that_is_not_a_model_raises_model_file_error(tmp_path):
    damaged = tmp_path / "damaged.joblib"
    damaged.write_bytes(b"not a pickle at all")
    other = tmp_path / "other.joblib"
    joblib.dump({"labels": ["a"]}, other)
    for path in (damaged, other):
        with pytest.raises(ModelFileError):
            load(path)


@pytest.fixture
def toy_corpus(tmp_path, monkeypatch) -> Path:
    """A small stand-in for the shipped corpus, so these tests train in a blink."""
    rows = [["text", "service"], *zip(TOY_TEXTS, TOY_LABELS)]
    path = write_csv(tmp_path / "needs_zh.csv", rows, "utf-8")
    monkeypatch.setattr(classifier, "CORPUS_PATH", path)
    return path


def test_the_default_model_lives_beside_the_shipped_corpus():
    assert classifier.CORPUS_PATH.is_file()
    assert classifier.default_model_path().parent == classifier.CORPUS_PATH.parent


def test_the_default_model_is_trained_once_then_loaded_from_its_file(toy_corpus, tmp_path):
    path = tmp_path / "model.joblib"
    first = load_or_train_default(path)
    written = path.stat().st_mtime_ns
    second = load_or_train_default(path)
    assert path.stat().st_mtime_ns == written
    assert second.version == first.version
    assert first.data_hash == classifier.training_data_hash(TOY_TEXTS, TOY_LABELS)


def test_a_default_model_of_an_older_corpus_or_a_damaged_file_is_retrained(toy_corpus, tmp_path, model):
    path = tmp_path / "model.joblib"
    save(dataclasses.replace(model, source="corpus"), path)
    assert load_or_train_default(path).labels == ("aircon", "dance", "street")
    path.write_bytes(b"garbage")
    assert load_or_train_default(path).labels == ("aircon", "dance", "street")
    assert load(path).labels == ("aircon", "dance", "street")


def test_a_model_trained_on_a_subdistricts_own_data_is_kept_where_the_default_would_be(toy_corpus, tmp_path,
                                                                                       model):
    path = tmp_path / "model.joblib"
    save(model, path)  # trained by train() on other data: source "custom"
    assert load_or_train_default(path).version == model.version


def test_a_default_model_trained_with_other_hyper_parameters_is_retrained(toy_corpus, tmp_path, monkeypatch):
    path = tmp_path / "model.joblib"
    first = load_or_train_default(path)
    changed = dataclasses.replace(classifier.PRESETS["short"], svm_c=0.1)
    monkeypatch.setitem(classifier.PRESETS, "short", changed)
    retrained = load_or_train_default(path)
    assert retrained.settings == changed
    assert load(path).settings == changed
    assert first.settings != changed


def test_the_classifier_imports_neither_flask_nor_sqlalchemy():
    code = "import sys, matching.classifier; print(sorted({'flask', 'sqlalchemy'} & set(sys.modules)))"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
