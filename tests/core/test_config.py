"""One configuration: every setting in a class per environment, read from the environment once,
validated at start-up; production refuses to start without its secret and its database."""
from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from core.config import Config, ConfigError, instance_secret_key, load_config, setting

PRODUCTION = {"SANKU_ENV": "production", "SECRET_KEY": "s" * 32,
              "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/sanku",
              "SANKU_DATA_KEYS": "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=", "SANKU_LOOKUP_KEY": "l" * 32}


def test_production_refuses_to_start_without_a_secret_key_and_a_database_url():
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"SANKU_ENV": "production"})

    assert "SECRET_KEY must be set in production" in str(caught.value)
    assert "DATABASE_URL must be set in production" in str(caught.value)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "SANKU_DATA_KEYS", "SANKU_LOOKUP_KEY"])
def test_production_refuses_each_missing_setting_on_its_own(missing):
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}

    with pytest.raises(ConfigError, match=missing):
        load_config(environ=environ)


def test_the_app_itself_will_not_start_in_production_without_its_secret():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"ENV": "production", "DATABASE_URL": PRODUCTION["DATABASE_URL"]})


def test_production_starts_with_both_and_keeps_the_given_values():
    config = load_config(environ=PRODUCTION)

    assert config["ENV"] == "production" and config["SECRET_KEY"] == "s" * 32
    assert config["DATABASE_URL"] == PRODUCTION["DATABASE_URL"] and config["TESTING"] is False


def test_every_setting_is_read_from_its_variable_and_typed():
    config = load_config(environ={
        "SANKU_REOPEN_DAYS": "3", "SANKU_AUTO_CLOSE_DAYS": "2.5", "SANKU_TOKEN_TTL_SECONDS": "60",
        "SANKU_COUNCIL_HEAVY_LOAD": "9", "SANKU_TIMEZONE": "Asia/Urumqi", "SANKU_SECURE_COOKIES": "yes",
        "SANKU_SLA_CLOSE_HOURS": '{"public": 48}', "SANKU_MAX_UPLOAD_BYTES": "1024", "SECRET_KEY": "k"})

    assert (config["REOPEN_DAYS"], config["AUTO_CLOSE_DAYS"], config["TOKEN_TTL_SECONDS"]) == (3, 2.5, 60)
    assert config["COUNCIL_HEAVY_LOAD"] == 9 and config["TIMEZONE"] == "Asia/Urumqi"
    assert config["SESSION_COOKIE_SECURE"] is True and config["MAX_CONTENT_LENGTH"] == 1024
    assert config["SLA_CLOSE_HOURS"] == {"public": 48}


def test_every_bad_value_is_reported_at_once_naming_its_variable():
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"SANKU_REOPEN_DAYS": "a week", "SANKU_SLA_MATCH_HOURS": "{urgent: 2}",
                             "SANKU_TIMEZONE": "Mars/Olympus", "SANKU_TOKEN_TTL_SECONDS": "0",
                             "SANKU_SLA_CLOSE_HOURS": '{"public": -1}', "SECRET_KEY": "k"})

    lines = str(caught.value).splitlines()
    assert len(lines) == 5, lines
    for named in ("SANKU_REOPEN_DAYS", "SANKU_SLA_MATCH_HOURS", "Mars/Olympus", "TOKEN_TTL_SECONDS",
                  "SLA_CLOSE_HOURS[public]"):
        assert any(named in line for line in lines), named


def test_an_unknown_environment_name_is_refused():
    with pytest.raises(ConfigError, match="SANKU_ENV"):
        load_config(environ={"SANKU_ENV": "staging"})


def test_overrides_win_over_the_environment():
    config = load_config({"REOPEN_DAYS": 2}, environ={"SANKU_REOPEN_DAYS": "9", "SECRET_KEY": "k"})

    assert config["REOPEN_DAYS"] == 2


def test_without_a_secret_key_development_makes_one_in_the_instance_folder_and_keeps_it(tmp_path: Path):
    first = instance_secret_key(tmp_path)
    again = instance_secret_key(tmp_path)

    assert first == again and len(first) == 64 and first != "dev-only-change-me"
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert instance_secret_key(tmp_path / "another") != first  # each deployment its own


def test_outside_an_app_a_setting_is_its_default_and_inside_it_is_the_apps(app):
    assert setting("REOPEN_DAYS") == Config.REOPEN_DAYS == 7
    app.config["REOPEN_DAYS"] = 3
    with app.app_context():
        assert setting("REOPEN_DAYS") == 3


def test_nothing_outside_the_configuration_reads_the_environment():
    repo = Path(__file__).resolve().parents[2]
    readers = [str(p.relative_to(repo)) for room in ("access", "core", "demo", "dispatch", "intake", "matching",
                                                     "models", "pools", "web", "workflow")
               for p in (repo / room).rglob("*.py") if "os.environ" in p.read_text(encoding="utf-8")]

    assert readers == ["core/config.py"]


def test_a_data_key_that_is_no_fernet_key_is_refused_at_start():
    with pytest.raises(ConfigError, match="DATA_KEYS"):
        load_config(environ={**PRODUCTION, "SANKU_DATA_KEYS": "not-a-key"})


def test_development_generates_its_data_and_lookup_keys_once_into_the_instance_folder(tmp_path, monkeypatch):
    import core.config
    real = core.config.instance_secret_key
    monkeypatch.setattr(core.config, "instance_secret_key", lambda **kw: real(tmp_path, **kw))

    first, again = load_config(environ={}), load_config(environ={})

    assert first["DATA_KEYS"] == again["DATA_KEYS"] and first["LOOKUP_KEY"] == again["LOOKUP_KEY"]
    assert (tmp_path / "data_key").exists() and (tmp_path / "lookup_key").exists()
