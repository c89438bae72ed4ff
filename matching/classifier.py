"""Which service should deliver a need? A text classifier over character n-grams.

The four services (public, social, market, volunteer; see :mod:`matching.taxonomy`) are the
default labels, learnt from the shipped corpus ``matching/corpus/needs_zh.csv``. Nothing here is
tied to them: a subdistrict can train the same pipeline on its own tickets to route them to
departments (:func:`train` takes any label set).

Chinese has no spaces, so the features are character n-grams. There is no word segmenter, which
keeps the model free of a dictionary that would miss residents' slang and typos. Two presets of
:func:`build_pipeline` exist because short colloquial needs and long formal letters behave
differently; :func:`train` picks one by the median text length (see :data:`PRESETS`):

- ``short`` (needs typed on a phone or told to a grid worker, median ~30 characters): char_wb
  1-2-grams with sublinear tf, so a word said twice in a short message does not dominate it.
- ``long`` (formal letters such as the hotline's, median ~230 characters): char 1-2-grams with raw
  tf; here repetition is evidence, and sublinear tf lost 0.01-0.02 macro-F1 in cross-validation.

Both use a class-balanced LinearSVC (a rare department must not be drowned by common ones) with
C=2.0 inside CalibratedClassifierCV (sigmoid, 5 folds), so a prediction comes with probabilities
and a need whose top probability is under :data:`TRIAGE_CONFIDENCE` can go to a person. Those
were the best of the values tried on both data sets (C from 0.3 to 5, 3 or 5 calibration folds);
1-3- and 2-4-grams scored lower on both, since a few hundred to a thousand texts are too few for
longer n-grams. The figures are in benchmarks/bench_classifier.py.

Model files are joblib pickles: load only files this project wrote.
"""
from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import logging
import math
import os
import statistics
import tempfile
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

log = logging.getLogger(__name__)

# A need whose top probability is below this goes to a person for triage (人工分拣).
TRIAGE_CONFIDENCE = 0.55

# Folds CalibratedClassifierCV uses to fit the sigmoid; each class needs at least this many examples.
CALIBRATION_FOLDS = 5
DEFAULT_EVALUATION_FOLDS = 5
# Median text length (characters) from which the "long" preset is used.
LONG_TEXT_MEDIAN_CHARS = 120
SVM_MAX_ITER = 10_000
RANDOM_STATE = 0
# Bump when TrainedClassifier or the training procedure changes, so persisted models are retrained
# (a change of a preset's hyper-parameters is noticed without it: see load_or_train_default).
FORMAT_VERSION = 1

CORPUS_PATH = Path(__file__).resolve().parent / "corpus" / "needs_zh.csv"
MODEL_FILENAME = "model.joblib"

# How many row numbers an error message lists before it says "and N more".
MAX_ROWS_IN_MESSAGE = 20


@dataclass(frozen=True)
class Preset:
    """Hyper-parameters of one pipeline. Chosen with 5-fold CV (benchmarks/bench_classifier.py)."""

    name: str
    analyzer: str  # "char" or "char_wb"
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    svm_c: float


PRESETS: dict[str, Preset] = {
    "short": Preset("short", analyzer="char_wb", ngram_range=(1, 2), sublinear_tf=True, svm_c=2.0),
    "long": Preset("long", analyzer="char", ngram_range=(1, 2), sublinear_tf=False, svm_c=2.0),
}


class TrainingDataError(ValueError):
    """The labelled data cannot train or evaluate a model; the message says why, in Chinese and English."""


class ModelFileError(ValueError):
    """A model file cannot be used (damaged, not a model, or written by another library version)."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float  # probability of ``label``
    probabilities: dict[str, float] = field(hash=False)

    @property
    def needs_triage(self) -> bool:
        return self.confidence < TRIAGE_CONFIDENCE


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    labels: tuple[str, ...]
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScore] = field(hash=False)
    confusion: tuple[tuple[int, ...], ...]  # rows: true label, columns: predicted, in ``labels`` order
    folds: int
    seed: int
    n_samples: int
    preset: str | None  # None when a custom pipeline was evaluated

    def format_table(self) -> str:
        """A plain-text report: headline figures, per-class scores and the confusion matrix."""
        lines = [
            f"{self.folds} 折分层交叉验证 / {self.folds}-fold stratified CV, "
            f"{self.n_samples} 条 samples, seed {self.seed}, preset {self.preset or 'custom'}",
            f"准确率 accuracy {self.accuracy:.3f}    宏平均 macro-F1 {self.macro_f1:.3f}",
            "",
        ]
        label_width = max(_display_width(label) for label in (*self.labels, "label"))
        header = _pad("label", label_width) + "".join(
            _pad(name, 11, right=True) for name in ("precision", "recall", "f1", "support")
        )
        lines.append(header)
        for label in self.labels:
            score = self.per_class[label]
            lines.append(
                _pad(label, label_width)
                + "".join(_pad(f"{v:.3f}", 11, right=True) for v in (score.precision, score.recall, score.f1))
                + _pad(str(score.support), 11, right=True)
            )
        lines += ["", "混淆矩阵 confusion matrix (行 rows = 真实 true, 列 columns = 预测 predicted)"]
        widths = [
            max(_display_width(label), *(len(str(row[j])) for row in self.confusion)) + 2
            for j, label in enumerate(self.labels)
        ]
        header_cells = (_pad(label, w, right=True) for label, w in zip(self.labels, widths))
        lines.append(_pad("", label_width) + "".join(header_cells))
        for label, row in zip(self.labels, self.confusion):
            cells = (_pad(str(n), w, right=True) for n, w in zip(row, widths))
            lines.append(_pad(label, label_width) + "".join(cells))
        return "\n".join(lines)


@dataclass(frozen=True)
class TrainedClassifier:
    pipeline: Pipeline = field(repr=False, compare=False)
    labels: tuple[str, ...]  # sorted
    version: str  # "YYYYmmddHHMMSS-<first 8 hex of data_hash>", time in UTC
    trained_at: datetime
    n_samples: int
    data_hash: str  # sha256 of the training texts and labels, see training_data_hash
    preset: str
    settings: Preset | None = None  # the preset's hyper-parameters when trained
    sklearn_version: str = sklearn.__version__
    format_version: int = FORMAT_VERSION
    evaluation: Evaluation | None = None
    # "corpus": trained on the shipped corpus, retrained when it changes; "custom": a subdistrict's
    # own data, kept as it is.
    source: str = "custom"

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    @functools.cached_property
    def _content_columns(self) -> np.ndarray:
        vocabulary = self.pipeline[0].vocabulary_
        return np.array(sorted(i for term, i in vocabulary.items() if term.strip()), dtype=np.int64)

    def predict_many(self, texts: Iterable[str]) -> list[Prediction]:
        """Predictions in input order. A blank text has no evidence, so every label gets the same
        probability; with two or more labels that is under TRIAGE_CONFIDENCE and a person decides."""
        batch = [_as_text(t) for t in texts]
        classes = [str(c) for c in self.pipeline.classes_]
        uniform = np.full(len(classes), 1.0 / len(classes))
        rows = [uniform] * len(batch)
        if not batch:
            return []
        with _unchecked():
            features = self._featurizer.transform(batch)
        # A text sharing no n-gram with the training data ("嗯", "xyz") carries no evidence either:
        # without this the model answers with its bias, confidently. Whitespace n-grams (the padding
        # of char_wb) are in every text, so they do not count as evidence.
        known = features[:, self._content_columns].getnnz(axis=1)
        informative = [i for i in range(len(batch)) if batch[i].strip() and known[i] > 0]
        if informative:
            chosen = features[informative]
            folds = self._sigmoid_folds
            if folds is not None:
                proba = _calibrated_proba(chosen, folds)
            else:
                with _unchecked():
                    proba = self.pipeline[-1].predict_proba(chosen)
            for i, row in zip(informative, proba):
                rows[i] = row
        return [_prediction(classes, row) for row in rows]

    @functools.cached_property
    def _featurizer(self) -> Any:
        """The pipeline but its last step (slicing a Pipeline builds a new one each time)."""
        return self.pipeline[:-1]

    @functools.cached_property
    def _sigmoid_folds(self) -> list[SigmoidFold] | None:
        """The calibrated SVM's folds as plain arrays, when it is the usual kind (a linear model per
        fold, sigmoid calibration, three classes or more); None otherwise (sklearn answers then).

        scikit-learn's ``predict_proba`` validates its input again in every fold and calibrator,
        about 22 ms for one text of four classes and five folds; the same arithmetic on the arrays
        takes a fraction of a millisecond (a need's submission classifies one text)."""
        model = self.pipeline[-1]
        if not isinstance(model, CalibratedClassifierCV) or len(model.classes_) < 3:
            return None
        folds = []
        for fold in model.calibrated_classifiers_:
            estimator = fold.estimator
            if fold.method != "sigmoid" or not hasattr(estimator, "coef_") or \
                    not all(hasattr(c, "a_") and hasattr(c, "b_") for c in fold.calibrators):
                return None
            columns = np.searchsorted(model.classes_, estimator.classes_)
            folds.append(SigmoidFold(coef=np.asarray(estimator.coef_, dtype=np.float64),
                                     intercept=np.asarray(estimator.intercept_, dtype=np.float64),
                                     a=np.array([c.a_ for c in fold.calibrators], dtype=np.float64),
                                     b=np.array([c.b_ for c in fold.calibrators], dtype=np.float64),
                                     columns=columns, n_classes=len(model.classes_)))
        return folds


@dataclass(frozen=True)
class SigmoidFold:
    """One fold of a calibrated linear SVM: decision = X coef' + intercept, then per class
    p = 1 / (1 + exp(a decision + b)), normalised over the classes."""
    coef: np.ndarray  # (classes the fold saw, features)
    intercept: np.ndarray
    a: np.ndarray
    b: np.ndarray
    columns: np.ndarray  # each of the fold's classes' column among all classes
    n_classes: int


def _unchecked() -> Any:
    """scikit-learn without its per-call validation of parameters and finiteness (about half of one text's
    prediction): the model and its input are ours, checked once at training."""
    return sklearn.config_context(assume_finite=True, skip_parameter_validation=True)


def _calibrated_proba(features: Any, folds: list[SigmoidFold]) -> np.ndarray:
    """What ``CalibratedClassifierCV.predict_proba`` answers (scikit-learn 1.x, sigmoid, three
    classes or more), computed in the same order of operations: the mean over folds of each
    fold's normalised sigmoids of its decision values."""
    n = features.shape[0]
    mean = np.zeros((n, folds[0].n_classes))
    for fold in folds:
        decision = features @ fold.coef.T + fold.intercept
        proba = np.zeros((n, fold.n_classes))
        proba[:, fold.columns] = expit(-(fold.a * decision + fold.b))
        denominator = proba.sum(axis=1)[:, np.newaxis]
        proba = np.divide(proba, denominator, out=np.full_like(proba, 1 / fold.n_classes),
                          where=denominator != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        mean += proba
    mean /= len(folds)
    return mean


# --- building and training -------------------------------------------------------------------
def build_pipeline(preset: str = "short") -> Pipeline:
    """An unfitted pipeline: TF-IDF over character n-grams, then a calibrated linear SVM."""
    try:
        p = PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}") from None
    vectoriser = TfidfVectorizer(analyzer=p.analyzer, ngram_range=p.ngram_range, sublinear_tf=p.sublinear_tf)
    svm = LinearSVC(C=p.svm_c, class_weight="balanced", max_iter=SVM_MAX_ITER, random_state=RANDOM_STATE)
    return Pipeline([
        ("tfidf", vectoriser),
        ("svm", CalibratedClassifierCV(svm, cv=CALIBRATION_FOLDS, method="sigmoid")),
    ])


def choose_preset(texts: Sequence[str]) -> str:
    """"long" for formal letters (median at least LONG_TEXT_MEDIAN_CHARS characters), else "short"."""
    if not texts:
        return "short"
    median = statistics.median(len(t) for t in texts)
    return "long" if median >= LONG_TEXT_MEDIAN_CHARS else "short"


def training_data_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    """sha256 of the labelled data, in order; the same data always gives the same hash."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels):
        digest.update(label.encode("utf-8"))
        digest.update(b"\x1f")
        digest.update(text.encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    preset: str | None = None,
    evaluation_folds: int | None = None,
    source: str = "custom",
) -> TrainedClassifier:
    """Fit the pipeline on all the data.

    ``preset`` None chooses by text length. With ``evaluation_folds`` the model also carries a
    stratified cross-validation of the same pipeline on the same data (slower: k more fits).
    Raises TrainingDataError before fitting anything when the data cannot train a model.
    """
    texts, labels = _validated(texts, labels, min_per_class=CALIBRATION_FOLDS, folds=CALIBRATION_FOLDS)
    chosen = preset or choose_preset(texts)
    evaluation = (
        evaluate(texts, labels, folds=evaluation_folds, preset=chosen) if evaluation_folds else None
    )
    pipeline = build_pipeline(chosen)
    pipeline.fit(texts, labels)
    data_hash = training_data_hash(texts, labels)
    trained_at = datetime.now(timezone.utc)
    return TrainedClassifier(
        pipeline=pipeline,
        labels=tuple(sorted(set(labels))),
        version=f"{trained_at:%Y%m%d%H%M%S}-{data_hash[:8]}",
        trained_at=trained_at,
        n_samples=len(texts),
        data_hash=data_hash,
        preset=chosen,
        settings=PRESETS[chosen],
        evaluation=evaluation,
        source=source,
    )


def evaluate(
    texts: Sequence[str],
    labels: Sequence[str],
    folds: int = DEFAULT_EVALUATION_FOLDS,
    seed: int = 0,
    *,
    preset: str | None = None,
    pipeline: BaseEstimator | None = None,
) -> Evaluation:
    """Stratified, shuffled k-fold cross-validation; each text is predicted by a model that never saw it.

    ``pipeline`` evaluates another (unfitted) estimator on the very same folds, e.g. a baseline.
    """
    if folds < 2:
        raise ValueError("folds must be at least 2")
    texts, labels = _validated(texts, labels, min_per_class=min_examples_for_evaluation(folds), folds=folds)
    if pipeline is not None:
        chosen: str | None = None
        estimator = pipeline
    else:
        chosen = preset or choose_preset(texts)
        estimator = build_pipeline(chosen)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(estimator, texts, labels, cv=splitter)
    order = sorted(set(labels))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=order, zero_division=0
    )
    matrix = confusion_matrix(labels, predicted, labels=order)
    return Evaluation(
        labels=tuple(order),
        accuracy=float(accuracy_score(labels, predicted)),
        macro_f1=float(np.mean(f1)),
        per_class={
            label: ClassScore(float(p), float(r), float(f), int(s))
            for label, p, r, f, s in zip(order, precision, recall, f1, support)
        },
        confusion=tuple(tuple(int(n) for n in row) for row in matrix),
        folds=folds,
        seed=seed,
        n_samples=len(texts),
        preset=chosen,
    )


def min_examples_for_evaluation(folds: int) -> int:
    """Fewest examples a class needs so that every training fold can still be calibrated."""
    n = folds
    while n - math.ceil(n / folds) < CALIBRATION_FOLDS:
        n += 1
    return n


# --- files -----------------------------------------------------------------------------------
def save(model: TrainedClassifier, path: str | os.PathLike[str]) -> None:
    """Write the model atomically: a temporary file in the same folder, then os.replace.

    A crash or an error while writing leaves the previous file as it was.
    """
    if not isinstance(model, TrainedClassifier):
        raise TypeError(f"expected a TrainedClassifier, got {type(model).__name__}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            joblib.dump(model, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def load(path: str | os.PathLike[str]) -> TrainedClassifier:
    """Read a model written by :func:`save`. Raises ModelFileError when it cannot be used."""
    source = Path(path)
    with warnings.catch_warnings():
        # A pickle from another scikit-learn version may predict wrongly; refuse it instead.
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            model = joblib.load(source)
        except FileNotFoundError:
            raise
        except InconsistentVersionWarning as exc:
            raise ModelFileError(
                f"模型文件 {source} 由另一版本的 scikit-learn 生成，请重新训练 / "
                f"model file {source} was written by another scikit-learn version, retrain it: {exc}"
            ) from exc
        except Exception as exc:
            raise ModelFileError(
                f"模型文件 {source} 已损坏或无法读取 / model file {source} is damaged or unreadable: {exc}"
            ) from exc
    if not isinstance(model, TrainedClassifier):
        raise ModelFileError(f"{source} 不是分类模型文件 / {source} does not hold a TrainedClassifier")
    if model.format_version != FORMAT_VERSION:
        raise ModelFileError(
            f"模型文件 {source} 的格式已过期，请重新训练 / model file {source} has format "
            f"{model.format_version}, expected {FORMAT_VERSION}: retrain it"
        )
    return model


def read_labelled_csv(
    path: str | os.PathLike[str], text_column: str = "text", label_column: str = "service"
) -> tuple[list[str], list[str]]:
    """Texts and labels of a CSV in UTF-8, UTF-8 with BOM or GBK.

    ``text_column`` may name several columns separated by commas ("subject,detail"); their values
    are joined with a space. Raises TrainingDataError for missing columns and empty cells.
    """
    source = Path(path)
    content = _decode(source.read_bytes(), source)
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if header is None:
        raise TrainingDataError(f"文件 {source.name} 是空的 / {source.name} is empty")
    names = [name.strip() for name in header]
    text_columns = [c.strip() for c in text_column.split(",") if c.strip()]
    missing = [c for c in (*text_columns, label_column) if c not in names]
    if missing:
        raise TrainingDataError(
            f"文件 {source.name} 缺少列：{'、'.join(missing)}（现有列：{'、'.join(names)}） / "
            f"{source.name} is missing column(s) {', '.join(missing)}; it has {', '.join(names)}"
        )
    text_at = [names.index(c) for c in text_columns]
    label_at = names.index(label_column)
    texts, labels, empty_lines = [], [], []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        text = " ".join(_cell(cells, i) for i in text_at).strip()
        label = _cell(cells, label_at)
        if not text or not label:
            empty_lines.append(reader.line_num)
        texts.append(text)
        labels.append(label)
    if empty_lines:
        raise TrainingDataError(
            f"文件 {source.name} 第 {_list_rows(empty_lines, '、')} 行的文本或标签为空 / "
            f"empty text or label in {source.name} on line(s) {_list_rows(empty_lines, ', ')}"
        )
    return texts, labels


def default_model_path() -> Path:
    """Where the model of the shipped corpus is kept (not committed; see load_or_train_default)."""
    return CORPUS_PATH.with_name(MODEL_FILENAME)


def load_or_train_default(path: str | os.PathLike[str] | None = None) -> TrainedClassifier:
    """The four-service model: the file at ``path`` if it holds a subdistrict's own model, or one
    trained on the shipped corpus as it is now with today's hyper-parameters; else a model freshly
    trained on the corpus (a second or two) and saved there."""
    target = Path(path) if path is not None else default_model_path()
    texts, labels = read_labelled_csv(CORPUS_PATH)
    wanted = training_data_hash(texts, labels)
    if target.exists():
        try:
            model = load(target)
        except ModelFileError as exc:
            log.warning("retraining the default classifier: %s", exc)
        else:
            if model.source != "corpus" and model.settings == PRESETS.get(model.preset):
                return model
            if model.data_hash == wanted and model.settings == PRESETS.get(model.preset):
                return model
            log.info("retraining the default classifier: the corpus or the hyper-parameters changed")
    model = train(texts, labels, source="corpus")
    try:
        save(model, target)
    except OSError as exc:
        # A read-only deployment still gets a working model, it just trains at every start.
        log.warning("could not save the default classifier to %s: %s", target, exc)
    return model


# --- helpers ---------------------------------------------------------------------------------
def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def _prediction(classes: list[str], row: np.ndarray) -> Prediction:
    best = int(np.argmax(row))
    probabilities = {label: float(p) for label, p in zip(classes, row)}
    label = classes[best]
    return Prediction(label=label, confidence=probabilities[label], probabilities=probabilities)


def _validated(
    texts: Sequence[str], labels: Sequence[str], *, min_per_class: int, folds: int
) -> tuple[list[str], list[str]]:
    """Texts and labels as clean strings, or TrainingDataError naming the first problem found."""
    texts = [_as_text(t) for t in texts]
    labels = [_as_text(label).strip() for label in labels]
    if len(texts) != len(labels):
        raise TrainingDataError(
            f"文本与标签数量不一致：{len(texts)} 条文本，{len(labels)} 个标签 / "
            f"texts and labels differ in length: {len(texts)} texts, {len(labels)} labels"
        )
    empty_texts = [i for i, t in enumerate(texts, start=1) if not t.strip()]
    if empty_texts:
        raise TrainingDataError(
            f"第 {_list_rows(empty_texts, '、')} 条的文本为空（从 1 数起） / "
            f"empty text in row(s) {_list_rows(empty_texts, ', ')} (counting from 1)"
        )
    empty_labels = [i for i, label in enumerate(labels, start=1) if not label]
    if empty_labels:
        raise TrainingDataError(
            f"第 {_list_rows(empty_labels, '、')} 条的标签为空（从 1 数起） / "
            f"empty label in row(s) {_list_rows(empty_labels, ', ')} (counting from 1)"
        )
    counts = Counter(labels)
    if len(counts) < 2:
        found = "、".join(counts) or "无 none"
        raise TrainingDataError(
            f"至少需要 2 个类别，当前只有 {len(counts)} 个（{found}） / "
            f"at least 2 classes are needed, got {len(counts)} ({found})"
        )
    small = sorted((label, n) for label, n in counts.items() if n < min_per_class)
    if small:
        listed_zh = "、".join(f"{label}（{n} 条）" for label, n in small)
        listed_en = ", ".join(f"{label} ({n})" for label, n in small)
        raise TrainingDataError(
            f"样本太少：{listed_zh}，每个类别至少需要 {min_per_class} 条才能做 {folds} 折交叉验证 / "
            f"too few examples for {folds}-fold cross-validation: {listed_en}; "
            f"each class needs at least {min_per_class}"
        )
    return texts, labels


def _list_rows(rows: list[int], separator: str) -> str:
    shown = separator.join(str(r) for r in rows[:MAX_ROWS_IN_MESSAGE])
    hidden = len(rows) - MAX_ROWS_IN_MESSAGE
    return f"{shown}{separator}… (+{hidden})" if hidden > 0 else shown


def _decode(raw: bytes, source: Path) -> str:
    # utf-8-sig also reads plain UTF-8; gb18030 is a superset of GBK and GB2312.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TrainingDataError(
        f"无法识别文件 {source.name} 的编码，请另存为 UTF-8 / cannot decode {source.name}: save it as UTF-8"
    )


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def _display_width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _display_width(text))
    return gap + text if right else text + gap
