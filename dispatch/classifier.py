"""The classifier as the app uses it: one trained model per process, loaded (or trained on the
shipped corpus) on first use, and replaced only by a successful training."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import setting
from core.metrics import CLASSIFIER_CONFIDENCE

if TYPE_CHECKING:
    from matching.classifier import TrainedClassifier

# scikit-learn is imported on first use, so commands that never classify start fast.

_lock = threading.Lock()
# path -> (file modification time when loaded, model); a model trained by the CLI in another
# process replaces the file, and the next call here sees the new time and reloads.
_models: dict[str, tuple[float | None, "TrainedClassifier"]] = {}


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def current_model(path: str | None = None) -> "TrainedClassifier":
    from matching import classifier as engine
    path = path or str(setting("CLASSIFIER_PATH"))
    with _lock:
        cached = _models.get(path)
        if cached is not None and cached[0] == _mtime(path):
            return cached[1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        model = engine.load_or_train_default(path)
        _models[path] = (_mtime(path), model)
        return model


def replace_model(path: str, model: "TrainedClassifier") -> None:
    """Persist a newly trained model and use it from now on (the old one stays if saving fails)."""
    from matching import classifier as engine
    engine.save(model, path)
    with _lock:
        _models[path] = (_mtime(path), model)


CONFIDENCE_DECIMALS = 4


def classify_text(text: str) -> tuple[str, float]:
    """(service, confidence) of one need's text, by the model in use."""
    prediction = current_model().predict(text)
    CLASSIFIER_CONFIDENCE.observe(float(prediction.confidence))
    return prediction.label, round(float(prediction.confidence), CONFIDENCE_DECIMALS)


def classify_many(texts: list[str]) -> list[tuple[str, float]]:
    predictions = current_model().predict_many(texts)
    for p in predictions:
        CLASSIFIER_CONFIDENCE.observe(float(p.confidence))
    return [(p.label, round(float(p.confidence), CONFIDENCE_DECIMALS)) for p in predictions]


def needs_triage(confidence: float | None) -> bool:
    if confidence is None:  # set by a person: nothing to triage, and no need to import the model's module
        return False
    from matching.classifier import TRIAGE_CONFIDENCE
    return confidence < TRIAGE_CONFIDENCE
