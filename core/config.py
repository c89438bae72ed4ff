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
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    BACKUP_KEY = ""  # encrypts `backup create --encrypt` (backup/crypto.py); kept apart from the backups


class DevelopmentConfig(Config):
    pass


class TestConfig(Config):
    ENV = "test"
    TESTING = True
    SECRET_KEY = "test-only-secret"
    LOG_LEVEL = "WARNING"


class ProductionConfig(Config):
    ENV = "production"
    SESSION_COOKIE_SECURE = True
    # Given by the environment, never defaulted: see REQUIRED_IN_ENVIRONMENT.
    DATABASE_URL = ""


CONFIGS: dict[str, type[Config]] = {"development": DevelopmentConfig, "test": TestConfig,
                                    "production": ProductionConfig}
# Settings production takes only from the environment.
REQUIRED_IN_ENVIRONMENT = ("SECRET_KEY", "DATABASE_URL")

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
    "SLA_MATCH_HOURS": ("SANKU_SLA_MATCH_HOURS", "json"),
    "SLA_CLOSE_HOURS": ("SANKU_SLA_CLOSE_HOURS", "json"),
    "TOKEN_TTL_SECONDS": ("SANKU_TOKEN_TTL_SECONDS", "int"),
    "COUNCIL_HEAVY_LOAD": ("SANKU_COUNCIL_HEAVY_LOAD", "int"),
    "TIMEZONE": ("SANKU_TIMEZONE", "text"),
    "LOG_LEVEL": ("SANKU_LOG_LEVEL", "text"),
    "SESSION_COOKIE_SECURE": ("SANKU_SECURE_COOKIES", "bool"),
    "RATELIMIT_STORAGE_URI": ("SANKU_RATELIMIT_STORAGE", "text"),
    "PROXY_COUNT": ("SANKU_PROXY_COUNT", "int"),
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
    problems += _check(config)
    if problems:
        raise ConfigError("\n".join(problems))
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = instance_secret_key()
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
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    return text


def _check(config: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in ("MAX_CONTENT_LENGTH", "REOPEN_DAYS", "AUTO_CLOSE_DAYS", "TOKEN_TTL_SECONDS"):
        if not _positive(config[key]):
            problems.append(f"{key} should be a positive number, not {config[key]!r}")
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


def instance_secret_key(folder: Path = INSTANCE) -> str:
    """A random key kept in the instance folder, made on first use: a development server never
    signs sessions with a key anyone could read in the source."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key


def setting(key: str) -> Any:
    """A setting of the running app, or its default outside an app."""
    if has_app_context():
        return current_app.config[key]
    return getattr(Config, key)


def zone() -> ZoneInfo:
    """The subdistrict's time zone."""
    return ZoneInfo(str(setting("TIMEZONE")))
