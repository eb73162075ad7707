"""Settings: the environment overrides the INI, and bad settings say what to fix."""

from __future__ import annotations

import base64
import configparser

import pytest
from pyramid.settings import aslist

from datacapt.config import (
    DEFAULT_INCLUDES,
    ConfigurationError,
    apply_environment,
    parse_settings,
)
from tests.conftest import ROOT

KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
BASE = {
    "sqlalchemy.url": "sqlite://",
    "datacapt.secret": "s" * 40,
    "datacapt.encryption_keys": f"k1:{KEY}",
}


def test_environment_overrides_the_ini():
    merged = apply_environment(
        {**BASE, "datacapt.redis_url": ""},
        {
            "DATACAPT_DATABASE_URL": "postgresql://db/x",
            "DATACAPT_REDIS_URL": "redis://r/0",
            "DATACAPT_SECRET": "e" * 40,
            "UNRELATED": "1",
        },
    )
    settings = parse_settings(merged)
    assert settings.database_url == "postgresql://db/x"
    assert settings.redis_url == "redis://r/0"
    assert settings.secret == "e" * 40


def test_encryption_keys_are_read_in_order_the_first_sealing():
    settings = parse_settings({**BASE, "datacapt.encryption_keys": f"new:{KEY}, old:{KEY}"})
    assert [key_id for key_id, _key in settings.encryption_keys] == ["new", "old"]
    assert settings.encryption_keys[0][1] == bytes(range(32))


def test_defaults():
    settings = parse_settings(BASE)
    assert settings.default_timezone == "Europe/Paris"
    assert settings.redis_url == ""
    assert settings.cookie_secure is True
    assert settings.includes == DEFAULT_INCLUDES
    assert DEFAULT_INCLUDES[:2] == ("datacapt.accounts", "datacapt.signin")


@pytest.mark.parametrize("name", ["development.ini", "testing.ini", "production.ini"])
def test_every_configuration_includes_every_capability(name):
    """A capability added to the defaults but forgotten in an INI would be missing there."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / name)
    assert tuple(aslist(parser["app:main"]["datacapt.includes"])) == DEFAULT_INCLUDES


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"sqlalchemy.url": ""}, "DATACAPT_DATABASE_URL"),
        ({"datacapt.secret": "short"}, "DATACAPT_SECRET"),
        ({"datacapt.default_timezone": "Europe/Atlantis"}, "unknown zone"),
        ({"datacapt.session_idle_timeout": "soon"}, "whole number"),
        ({"datacapt.login_window_seconds": "0"}, "at least 1"),
        ({"datacapt.encryption_keys": ""}, "DATACAPT_ENCRYPTION_KEYS"),
        ({"datacapt.encryption_keys": "k1:c2hvcnQ="}, "32 random bytes"),
        ({"datacapt.encryption_keys": f"{KEY}"}, "ID:KEY"),
        ({"datacapt.encryption_keys": f"k1:{KEY},k1:{KEY}"}, "used twice"),
        ({"datacapt.metrics_token": "guessable"}, "DATACAPT_METRICS_TOKEN"),
    ],
)
def test_bad_settings_are_explained(override, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_settings({**BASE, **override})
