"""Configuration: one class per environment, every setting in it, read from the environment once and
validated when the app starts. Nothing else reads ``os.environ``.

    SANKU_ENV=development   (default) the embedded SQLite database; a secret key is generated into
                            the instance folder on first run and kept there
    SANKU_ENV=test          what the test suite runs with
    SANKU_ENV=production    refuses to start without SECRET_KEY and DATABASE_URL

Services read a setting with :func:`setting`: the running app's value, or the default outside an
app (a script, a unit test of a service).
"""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from flask import current_app, has_app_context

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

# Hours from submission to a proposal (match) and to 办结 (close). Keys, most specific first:
# "<service>:<urgency>", "<urgency>", "<service>", "default" (see workflow.sla).
DEFAULT_SLA_MATCH_HOURS: dict[str, float] = {"urgent": 2, "high": 8, "normal": 24, "low": 72, "default": 24}
# An urgent need closes within a day; other public needs within 60 h (the subdistrict settles common
# disputes in 2.5 days); the rest within five days.
DEFAULT_SLA_CLOSE_HOURS: dict[str, float] = {"urgent": 24, "public": 60, "default": 5 * 24}


class ConfigError(ValueError):
    """The configuration cannot run: every problem, one per line."""


class Config:
    """Every setting, with its default (development)."""

    ENV = "development"
    TESTING = False
    DATABASE_URL = f"sqlite:///{INSTANCE / 'sanku.db'}"
    SECRET_KEY = ""  # development: generated into the instance folder when not given
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # bytes of a request body (413 above)
    CLASSIFIER_PATH = str(INSTANCE / "classifier.joblib")
    PHOTO_DIR = str(INSTANCE / "photos")  # where the photos of needs are kept (files named by their hash)
    NOTIFY_WEBHOOK_URL = ""
    REOPEN_DAYS = 7  # a resident may reopen a closed or cancelled need this long
    AUTO_CLOSE_DAYS = 7  # a done need closes itself after this many days without the resident's answer
    # A coordinator may close a done need on the resident's word by phone (回访) once the resident has had
    # this long to confirm in the app: their own word first, and staff cannot close a need the moment it is done.
    RETURN_VISIT_HOURS = 24
    INDEX_CACHE_ENTRIES = 8  # subdistricts whose provider index a process keeps (~90 MiB each at 15,000 providers)
    SLA_MATCH_HOURS: dict[str, float] = DEFAULT_SLA_MATCH_HOURS
    SLA_CLOSE_HOURS: dict[str, float] = DEFAULT_SLA_CLOSE_HOURS
    TOKEN_TTL_SECONDS = 8 * 3600  # a bearer token lasts one working day
    COUNCIL_HEAVY_LOAD = 5  # accepted assignments in one period above which the council hears of a provider
    TIMEZONE = "Asia/Shanghai"  # the subdistrict's: report days, local times in the API, `--now` without offset
    LOG_LEVEL = "INFO"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # production: True (the cookie travels over HTTPS only)
    # Where rate limits count (access.limits): memory is one process's; several workers share Redis.
    RATELIMIT_STORAGE_URI = "memory://"
    PROXY_COUNT = 0  # reverse proxies in front whose X-Forwarded-For may be trusted for the caller's address
    # Residents' contacts at rest (core.crypto): Fernet keys, the first encrypting, all decrypting; and the key of the
    # phone lookups' hashes. Development: generated into the instance folder when not given.
    DATA_KEYS: list[str] = []
    LOOKUP_KEY = ""
    RETENTION_DAYS = 365  # contacts, addresses and photos of needs closed or cancelled longer ago are erased
    LOG_FORMAT = "text"  # "text" (one line) or "json" (one object a line, with the request id)
    # Connections: a pooled connection older than this is replaced (a server or proxy that drops idle
    # connections never hands a dead one to a request); pre-ping is always on (core.database).
    DB_POOL_RECYCLE_SECONDS = 1800
    # PostgreSQL: the longest one statement of an API request may run (ms; 0: no limit). Pages and
    # jobs are not bound: a batch or an import of the whole subdistrict takes longer.
    API_STATEMENT_TIMEOUT_MS = 5000
    # Jobs (Celery on Redis, the jobs room). BROKER_URL empty: REDIS_URL is the broker and the results.
    REDIS_URL = "redis://127.0.0.1:6379/0"
    BROKER_URL = ""
    TASKS_EAGER = False  # run each task in the caller's process at once (tests; a machine without Redis)
    TASK_QUEUE = "sanku"  # the queue tasks go to and workers take from (two deployments on one Redis: two names)
    # Redis hands a task a worker took but never acknowledged (the worker died) to another after this long:
    # longer than any task runs, so a slow batch is never run twice at once.
    TASK_VISIBILITY_TIMEOUT_SECONDS = 3600
    ESCALATE_EVERY_SECONDS = 300  # beat: the SLA job
    DELIVER_EVERY_SECONDS = 15  # beat: hand due notifications to the workers
    RECURRING_EVERY_SECONDS = 600  # beat: spawn the recurring needs that are due
    MATCH_EVERY_SECONDS = 600  # beat: the city's batch, one task per subdistrict
    # Notification delivery: a try, then waits of NOTIFY_BACKOFF_SECONDS × 2^(try − 1) (capped at
    # NOTIFY_BACKOFF_MAX_SECONDS); after NOTIFY_MAX_ATTEMPTS failed tries the notification is dead-lettered.
    NOTIFY_MAX_ATTEMPTS = 8
    NOTIFY_BACKOFF_SECONDS = 30
    NOTIFY_BACKOFF_MAX_SECONDS = 3600
    NOTIFY_LEASE_SECONDS = 300  # a try under way holds its notification this long (a killed worker's is retried after)
    WEBHOOK_SECRET = ""  # HMAC-SHA256 key that signs every webhook body (required in production with a webhook URL)
    # prometheus_client's multiprocess folder (gunicorn's workers and Celery's share it); empty: one process.
    METRICS_MULTIPROC_DIR = ""
    # When set, /metrics answers only a scraper sending it (Authorization: Bearer …; Prometheus' bearer_token):
    # the page names every endpoint and counts the notifications with a query on each read.
    METRICS_TOKEN = ""
    BACKUP_KEY = ""  # encrypts `backup create --encrypt` (backup/crypto.py); kept apart from the backups


class DevelopmentConfig(Config):
    pass


class TestConfig(Config):
    ENV = "test"
    TESTING = True
    SECRET_KEY = "test-only-secret"
    LOG_LEVEL = "WARNING"
    DATA_KEYS = ["dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc="]  # base64 of 32 bytes: test-only-data-key-32-bytes-long
    LOOKUP_KEY = "test-only-lookup-key"
    TASKS_EAGER = True
    WEBHOOK_SECRET = "test-only-webhook-secret"


class ProductionConfig(Config):
    ENV = "production"
    SESSION_COOKIE_SECURE = True
    LOG_FORMAT = "json"
    # Given by the environment, never defaulted: see REQUIRED_IN_ENVIRONMENT.
    DATABASE_URL = ""


CONFIGS: dict[str, type[Config]] = {"development": DevelopmentConfig, "test": TestConfig,
                                    "production": ProductionConfig}
# Settings production takes only from the environment.
REQUIRED_IN_ENVIRONMENT = ("SECRET_KEY", "DATABASE_URL", "DATA_KEYS", "LOOKUP_KEY")

# setting -> (environment variable, how to read its text)
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("DATABASE_URL", "text"),
    "SECRET_KEY": ("SECRET_KEY", "text"),
    "MAX_CONTENT_LENGTH": ("SANKU_MAX_UPLOAD_BYTES", "int"),
    "CLASSIFIER_PATH": ("SANKU_CLASSIFIER_PATH", "text"),
    "PHOTO_DIR": ("SANKU_PHOTO_DIR", "text"),
    "NOTIFY_WEBHOOK_URL": ("SANKU_NOTIFY_WEBHOOK_URL", "text"),
    "REOPEN_DAYS": ("SANKU_REOPEN_DAYS", "int"),
    "AUTO_CLOSE_DAYS": ("SANKU_AUTO_CLOSE_DAYS", "float"),
    "RETURN_VISIT_HOURS": ("SANKU_RETURN_VISIT_HOURS", "float"),
    "INDEX_CACHE_ENTRIES": ("SANKU_INDEX_CACHE_ENTRIES", "int"),
    "SLA_MATCH_HOURS": ("SANKU_SLA_MATCH_HOURS", "json"),
    "SLA_CLOSE_HOURS": ("SANKU_SLA_CLOSE_HOURS", "json"),
    "TOKEN_TTL_SECONDS": ("SANKU_TOKEN_TTL_SECONDS", "int"),
    "COUNCIL_HEAVY_LOAD": ("SANKU_COUNCIL_HEAVY_LOAD", "int"),
    "TIMEZONE": ("SANKU_TIMEZONE", "text"),
    "LOG_LEVEL": ("SANKU_LOG_LEVEL", "text"),
    "SESSION_COOKIE_SECURE": ("SANKU_SECURE_COOKIES", "bool"),
    "RATELIMIT_STORAGE_URI": ("SANKU_RATELIMIT_STORAGE", "text"),
    "PROXY_COUNT": ("SANKU_PROXY_COUNT", "int"),
    "DATA_KEYS": ("SANKU_DATA_KEYS", "list"),
    "LOOKUP_KEY": ("SANKU_LOOKUP_KEY", "text"),
    "RETENTION_DAYS": ("SANKU_RETENTION_DAYS", "int"),
    "LOG_FORMAT": ("SANKU_LOG_FORMAT", "text"),
    "DB_POOL_RECYCLE_SECONDS": ("SANKU_DB_POOL_RECYCLE", "int"),
    "API_STATEMENT_TIMEOUT_MS": ("SANKU_API_STATEMENT_TIMEOUT_MS", "int"),
    "REDIS_URL": ("REDIS_URL", "text"),
    "BROKER_URL": ("SANKU_BROKER_URL", "text"),
    "TASKS_EAGER": ("SANKU_TASKS_EAGER", "bool"),
    "TASK_QUEUE": ("SANKU_TASK_QUEUE", "text"),
    "TASK_VISIBILITY_TIMEOUT_SECONDS": ("SANKU_TASK_VISIBILITY_TIMEOUT", "int"),
    "ESCALATE_EVERY_SECONDS": ("SANKU_ESCALATE_EVERY", "int"),
    "DELIVER_EVERY_SECONDS": ("SANKU_DELIVER_EVERY", "int"),
    "RECURRING_EVERY_SECONDS": ("SANKU_RECURRING_EVERY", "int"),
    "MATCH_EVERY_SECONDS": ("SANKU_MATCH_EVERY", "int"),
    "NOTIFY_MAX_ATTEMPTS": ("SANKU_NOTIFY_MAX_ATTEMPTS", "int"),
    "NOTIFY_BACKOFF_SECONDS": ("SANKU_NOTIFY_BACKOFF", "float"),
    "NOTIFY_BACKOFF_MAX_SECONDS": ("SANKU_NOTIFY_BACKOFF_MAX", "float"),
    "NOTIFY_LEASE_SECONDS": ("SANKU_NOTIFY_LEASE", "int"),
    "WEBHOOK_SECRET": ("SANKU_WEBHOOK_SECRET", "text"),
    "METRICS_MULTIPROC_DIR": ("PROMETHEUS_MULTIPROC_DIR", "text"),
    "METRICS_TOKEN": ("SANKU_METRICS_TOKEN", "text"),
    "BACKUP_KEY": ("SANKU_BACKUP_KEY", "text"),
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def defaults(env_name: str = "development") -> dict[str, Any]:
    cls = CONFIGS[env_name]
    return {k: getattr(cls, k) for k in dir(cls) if k.isupper()}


def load_config(overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings of the environment named by ``SANKU_ENV`` (or ``overrides["ENV"]``): the class's
    defaults, then the environment, then ``overrides`` (tests pass a mapping). Raises ConfigError
    listing every problem."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    name = str(overrides.get("ENV") or environ.get("SANKU_ENV") or "development")
    if name not in CONFIGS:
        raise ConfigError(f"SANKU_ENV={name!r}: should be one of {', '.join(CONFIGS)}")
    config = defaults(name)
    problems: list[str] = []
    given: set[str] = set()
    for key, (variable, kind) in ENVIRONMENT.items():
        text = environ.get(variable)
        if text is None or (text == "" and kind != "text"):
            continue
        try:
            config[key] = _read(text, kind)
            given.add(key)
        except ValueError as exc:
            problems.append(f"{variable}: {exc}")
    config.update(overrides)
    given |= set(overrides)
    if name == "production":
        problems += [f"{ENVIRONMENT[k][0]} must be set in production" for k in REQUIRED_IN_ENVIRONMENT
                     if k not in given or not config.get(k)]
    if name == "production" and config.get("NOTIFY_WEBHOOK_URL") and not config.get("WEBHOOK_SECRET"):
        problems.append("SANKU_WEBHOOK_SECRET must be set in production when SANKU_NOTIFY_WEBHOOK_URL is")
    problems += _check(config)
    if problems:
        raise ConfigError("\n".join(problems))
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = instance_secret_key()
    if not config["DATA_KEYS"]:
        config["DATA_KEYS"] = [instance_secret_key(name="data_key", make=Fernet.generate_key)]
    if not config["LOOKUP_KEY"]:
        config["LOOKUP_KEY"] = instance_secret_key(name="lookup_key")
    # A login cookie lasts as long as a token.
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=config["TOKEN_TTL_SECONDS"])
    return config


def _read(text: str, kind: str) -> Any:
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        if text.lower() not in _TRUE | _FALSE:
            raise ValueError(f"{text!r} is not yes/no")
        return text.lower() in _TRUE
    if kind == "list":
        return [item.strip() for item in text.split(",") if item.strip()]
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    return text


def _check(config: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in ("MAX_CONTENT_LENGTH", "REOPEN_DAYS", "AUTO_CLOSE_DAYS", "TOKEN_TTL_SECONDS", "RETENTION_DAYS", "DB_POOL_RECYCLE_SECONDS",
                "ESCALATE_EVERY_SECONDS", "DELIVER_EVERY_SECONDS", "TASK_VISIBILITY_TIMEOUT_SECONDS", "RECURRING_EVERY_SECONDS", "MATCH_EVERY_SECONDS", "NOTIFY_MAX_ATTEMPTS",
                "NOTIFY_BACKOFF_SECONDS", "NOTIFY_BACKOFF_MAX_SECONDS", "NOTIFY_LEASE_SECONDS"):
        if not _positive(config[key]):
            problems.append(f"{key} should be a positive number, not {config[key]!r}")
    entries = config["INDEX_CACHE_ENTRIES"]
    if isinstance(entries, bool) or not isinstance(entries, int) or entries < 1:
        problems.append(f"INDEX_CACHE_ENTRIES should be a whole number of subdistricts, 1 or more, not {entries!r}")
    hours = config["RETURN_VISIT_HOURS"]
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours < 0:
        problems.append(f"RETURN_VISIT_HOURS should be a number of hours, 0 or more, not {hours!r}")
    if not isinstance(config["PROXY_COUNT"], int) or not 0 <= config["PROXY_COUNT"] <= 5:
        problems.append(f"PROXY_COUNT should be 0 to 5 trusted proxies, not {config['PROXY_COUNT']!r}")
    if not str(config["RATELIMIT_STORAGE_URI"]).startswith(("memory://", "redis://", "rediss://")):
        problems.append(f"RATELIMIT_STORAGE_URI should be memory:// or redis://…, not {config['RATELIMIT_STORAGE_URI']!r}")
    if not isinstance(config["COUNCIL_HEAVY_LOAD"], int) or config["COUNCIL_HEAVY_LOAD"] < 0:
        problems.append(f"COUNCIL_HEAVY_LOAD should be a whole number ≥ 0, not {config['COUNCIL_HEAVY_LOAD']!r}")
    for key in ("SLA_MATCH_HOURS", "SLA_CLOSE_HOURS"):
        try:
            hours_table(config[key], key)
        except ConfigError as exc:
            problems.append(str(exc))
    try:
        ZoneInfo(str(config["TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"TIMEZONE {config['TIMEZONE']!r} is not a time zone (e.g. Asia/Shanghai)")
    if str(config["LOG_LEVEL"]).upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        problems.append(f"LOG_LEVEL {config['LOG_LEVEL']!r} should be DEBUG, INFO, WARNING or ERROR")
    for key in config["DATA_KEYS"] or []:
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            problems.append("DATA_KEYS: each key should be a Fernet key (32 url-safe base64-encoded bytes; "
                            "`flask --app app keys new` prints one)")
            break
    if not isinstance(config["API_STATEMENT_TIMEOUT_MS"], int) or config["API_STATEMENT_TIMEOUT_MS"] < 0:
        problems.append(f"API_STATEMENT_TIMEOUT_MS should be a whole number of ms ≥ 0, not {config['API_STATEMENT_TIMEOUT_MS']!r}")
    if str(config["LOG_FORMAT"]) not in ("text", "json"):
        problems.append(f"LOG_FORMAT should be text or json, not {config['LOG_FORMAT']!r}")
    for key in ("REDIS_URL", "BROKER_URL"):
        if config[key] and not str(config[key]).startswith(("redis://", "rediss://", "memory://")):
            problems.append(f"{key} should be redis://…, not {config[key]!r}")
    if config["BACKUP_KEY"] and len(str(config["BACKUP_KEY"])) < 32:
        problems.append("BACKUP_KEY should be at least 32 characters (flask --app app backup keygen makes one)")
    if not str(config["DATABASE_URL"] or "").strip() and config["ENV"] != "production":
        problems.append("DATABASE_URL is empty")
    return problems


def _positive(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0


def hours_table(raw: Any, name: str, defaults: Mapping[str, float] | None = None) -> dict[str, float]:
    """An SLA table ({key: hours}, or its JSON text) merged over ``defaults``; raises ConfigError."""
    base = dict(defaults or {})
    if raw is None or raw == "":
        return base
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{name} should be an object of {{key: hours}}")
    for key, hours in raw.items():
        if not _positive(hours):
            raise ConfigError(f"{name}[{key}] should be a positive number of hours, not {hours!r}")
        base[str(key)] = float(hours)
    return base


def instance_secret_key(folder: Path = INSTANCE, name: str = "secret_key",
                        make: Callable[[], bytes | str] = lambda: secrets.token_hex(32)) -> str:
    """A random key kept in the instance folder, made on first use: a development server never
    signs sessions (nor encrypts contacts) with a key anyone could read in the source."""
    path = folder / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    folder.mkdir(parents=True, exist_ok=True)
    made = make()
    key = made.decode("ascii") if isinstance(made, bytes) else made
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key


def broker_url(config: Mapping[str, Any]) -> str:
    """Where tasks are queued and their results kept: BROKER_URL, else REDIS_URL."""
    return str(config.get("BROKER_URL") or config.get("REDIS_URL") or "")


def setting(key: str) -> Any:
    """A setting of the running app, or its default outside an app."""
    if has_app_context():
        return current_app.config[key]
    return getattr(Config, key)


def zone() -> ZoneInfo:
    """The subdistrict's time zone."""
    return ZoneInfo(str(setting("TIMEZONE")))
