"""The service's own Prometheus metrics (prometheus_client), beside the request metrics that
prometheus-flask-exporter keeps (``web.health``). Under gunicorn and Celery they are written to the
shared multiprocess folder (``PROMETHEUS_MULTIPROC_DIR``), so the web's ``/metrics`` shows the
workers' batches and tasks too."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_SECONDS = Histogram(
    "sanku_batch_duration_seconds", "Batch matching: seconds per batch (index, solve, storing)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))
BATCH_NEEDS = Histogram(
    "sanku_batch_needs", "Batch matching: needs per batch",
    buckets=(1, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000))
BATCH_MATCHED = Counter("sanku_batch_matched_total", "Needs the batches proposed a provider for")
CLASSIFIER_CONFIDENCE = Histogram(
    "sanku_classifier_confidence", "Confidence of the classifier's top service for each text it classifies",
    buckets=(0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0))
# Counted from the database when /metrics is read, so every process sees the same figure.
NOTIFICATIONS = Gauge("sanku_notifications", "Notifications by delivery state (pending; retrying: pending after a failed try; dead)",
                      ["state"], multiprocess_mode="mostrecent")
TASKS = Counter("sanku_tasks_total", "Celery tasks by name and state (started, succeeded, retried, failed)",
                ["task", "state"])
