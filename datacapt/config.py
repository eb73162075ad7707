"""Settings: parsed once from the INI, overridden by the environment, typed for the code.

Secrets and service addresses come from the environment in production so one INI file can be
shared by the web servers, the worker and the command line (and pointed elsewhere by tests).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.settings import asbool, aslist

from datacapt.logs import configure_structlog

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_DIR / "templates"
STATIC_DIR = PROJECT_DIR / "static"

#: Environment variable -> settings key it overrides.
ENVIRONMENT_OVERRIDES = {
    "DATACAPT_DATABASE_URL": "sqlalchemy.url",
    "DATACAPT_REDIS_URL": "datacapt.redis_url",
    "DATACAPT_SECRET": "datacapt.secret",
    "DATACAPT_ENCRYPTION_KEYS": "datacapt.encryption_keys",
    "DATACAPT_REPOSITORY_KEYS": "datacapt.repository_keys",
    "DATACAPT_MAIL_HOST": "mail.host",
    "DATACAPT_MAIL_PORT": "mail.port",
    "DATACAPT_MAIL_USERNAME": "mail.username",
    "DATACAPT_MAIL_PASSWORD": "mail.password",
    "DATACAPT_MAIL_SENDER": "mail.default_sender",
    "DATACAPT_PUBLIC_URL": "datacapt.public_url",
    "DATACAPT_METRICS_TOKEN": "datacapt.metrics_token",
}

DEFAULT_INCLUDES = (
    "datacapt.accounts",
    "datacapt.signin",
    "datacapt.members",
    "datacapt.studies",
    "datacapt.subjects",
    "datacapt.design",
    "datacapt.entry",
    "datacapt.queries",
    "datacapt.audit_trail",
    "datacapt.review",
    "datacapt.exports",
    "datacapt.reports",
    "datacapt.imports",
    "datacapt.worklists",
    "datacapt.uploads",
    "datacapt.repository",
    "datacapt.api",
    "datacapt.notifications",
    "datacapt.messages",
    "datacapt.epro",
    "datacapt.randomisation",
    "datacapt.kits",
    "datacapt.calendar",
    "datacapt.operations",
    "datacapt.automations",
    "datacapt.consent",
    "datacapt.payments",
    "datacapt.recruitment",
)
CORE_INCLUDES = (
    "pyramid_jinja2",
    "pyramid_tm",
    "pyramid_retry",
    "datacapt.db",
    "datacapt.client_address",
    "datacapt.door",
    "datacapt.security",
    "datacapt.audit",
    "datacapt.actor",
    "datacapt.reactions",
    "datacapt.panels",
    "datacapt.i18n",
    "datacapt.htmx",
    "datacapt.templating",
    "datacapt.resources",
    "datacapt.errors",
    "datacapt.conflicts",
    "datacapt.mail",
    "datacapt.sms",
)
MIN_SECRET_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 24


class ConfigurationError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class AppSettings:
    database_url: str
    redis_url: str
    queue_name: str
    secret: str
    cookie_secure: bool
    session_idle_timeout: int
    session_absolute_timeout: int
    default_timezone: str
    argon2_time_cost: int
    argon2_memory_cost: int
    argon2_parallelism: int
    login_window_seconds: int
    login_max_failures_per_account: int
    login_max_failures_per_ip: int
    includes: tuple[str, ...]
    #: Reverse proxies whose X-Forwarded-For is believed (addresses or networks); empty: none.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    #: (key id, 32-byte key) pairs for personal data; the first one seals, all of them open.
    encryption_keys: tuple[tuple[str, bytes], ...] = ()
    #: The bearer token a Prometheus scrape of /metrics sends; empty: /metrics does not exist.
    metrics_token: str = ""


def parse_encryption_keys(raw: str) -> tuple[tuple[str, bytes], ...]:
    """``id:base64key,id2:base64key``: AES-256 keys, the first one current (see README)."""
    keys = []
    for entry in aslist(raw.replace(",", " ")):
        key_id, _, encoded = entry.partition(":")
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (ValueError, binascii.Error):
            key = b""
        if not key_id or len(key) != 32:
            raise ConfigurationError(
                "datacapt.encryption_keys: each key is ID:KEY with KEY 32 random bytes in "
                'base64 (python -c "import base64, os; '
                'print(base64.urlsafe_b64encode(os.urandom(32)).decode())")'
            )
        keys.append((key_id, key))
    if not keys:
        raise ConfigurationError(
            "no key for personal data: set datacapt.encryption_keys or DATACAPT_ENCRYPTION_KEYS"
        )
    if len({key_id for key_id, _ in keys}) != len(keys):
        raise ConfigurationError("datacapt.encryption_keys: a key id is used twice")
    return tuple(keys)


def parse_trusted_proxies(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``127.0.0.1 10.0.0.0/8 ::1``: the proxies in front of the app (see README)."""
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in aslist(raw))
    except ValueError as error:
        raise ConfigurationError(f"datacapt.trusted_proxies: {error}") from None


def apply_environment(settings: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Return a copy of ``settings`` with the environment's overrides applied."""
    merged = dict(settings)
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        if variable in environ:
            merged[key] = environ[variable]
    return merged


def _int(settings: Mapping[str, Any], key: str, default: int, minimum: int = 0) -> int:
    raw = settings.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{key} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{key} must be at least {minimum}")
    return value


def parse_settings(settings: Mapping[str, Any]) -> AppSettings:
    """Validate the raw settings; raise ConfigurationError with a message an admin can act on."""
    database_url = (settings.get("sqlalchemy.url") or "").strip()
    if not database_url:
        raise ConfigurationError(
            "no database configured: set sqlalchemy.url in the INI or DATACAPT_DATABASE_URL"
        )
    secret = (settings.get("datacapt.secret") or "").strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"datacapt.secret must hold at least {MIN_SECRET_LENGTH} characters; "
            "set DATACAPT_SECRET in the environment"
        )
    timezone = (settings.get("datacapt.default_timezone") or "Europe/Paris").strip()
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"datacapt.default_timezone: unknown zone {timezone!r}") from None
    includes = tuple(aslist(settings.get("datacapt.includes", ""))) or DEFAULT_INCLUDES
    metrics_token = (settings.get("datacapt.metrics_token") or "").strip()
    if metrics_token and len(metrics_token) < MIN_METRICS_TOKEN_LENGTH:
        raise ConfigurationError(
            f"datacapt.metrics_token must hold at least {MIN_METRICS_TOKEN_LENGTH} characters "
            "(or be empty, which turns /metrics off); set DATACAPT_METRICS_TOKEN"
        )
    return AppSettings(
        database_url=database_url,
        redis_url=(settings.get("datacapt.redis_url") or "").strip(),
        queue_name=(settings.get("datacapt.queue_name") or "datacapt").strip(),
        secret=secret,
        cookie_secure=asbool(settings.get("datacapt.cookie_secure", True)),
        session_idle_timeout=_int(settings, "datacapt.session_idle_timeout", 1800, minimum=60),
        session_absolute_timeout=_int(
            settings, "datacapt.session_absolute_timeout", 12 * 3600, minimum=300
        ),
        default_timezone=timezone,
        argon2_time_cost=_int(settings, "datacapt.argon2_time_cost", 3, minimum=1),
        argon2_memory_cost=_int(settings, "datacapt.argon2_memory_cost", 65536, minimum=8),
        argon2_parallelism=_int(settings, "datacapt.argon2_parallelism", 4, minimum=1),
        login_window_seconds=_int(settings, "datacapt.login_window_seconds", 900, minimum=1),
        login_max_failures_per_account=_int(
            settings, "datacapt.login_max_failures_per_account", 5, minimum=1
        ),
        login_max_failures_per_ip=_int(
            settings, "datacapt.login_max_failures_per_ip", 30, minimum=1
        ),
        includes=includes,
        trusted_proxies=parse_trusted_proxies(settings.get("datacapt.trusted_proxies") or ""),
        encryption_keys=parse_encryption_keys(settings.get("datacapt.encryption_keys") or ""),
        metrics_token=metrics_token,
    )


def get_app_settings(registry: Registry) -> AppSettings:
    return registry["datacapt.settings"]


def prepare_settings(settings: Mapping[str, Any] | None) -> tuple[dict[str, Any], AppSettings]:
    """The INI's settings with the environment's overrides, and their checked, typed form."""
    merged = apply_environment(settings or {}, os.environ)
    app_settings = parse_settings(merged)
    merged["sqlalchemy.url"] = app_settings.database_url
    return merged, app_settings


def configure(settings: Mapping[str, Any] | None = None) -> Configurator:
    """Build the Configurator: core first, then the capabilities named in datacapt.includes."""
    merged, app_settings = prepare_settings(settings)
    merged.setdefault("jinja2.directories", str(TEMPLATES_DIR))
    merged.setdefault("jinja2.i18n.domain", "datacapt")
    merged.setdefault("jinja2.i18n.gettext", "datacapt.templating.TemplateGetText")
    merged.setdefault("jinja2.newstyle", "true")
    merged.setdefault("jinja2.undefined", "strict")
    merged.setdefault("jinja2.trim_blocks", "true")
    merged.setdefault("jinja2.lstrip_blocks", "true")
    merged.setdefault("jinja2.extensions", "jinja2.ext.do")
    # Every template kept in a plain dict, bounded by the files in the search path: Jinja's
    # LRU cache scans its queue on each hit (a deque's remove), ~2 % of a form page's CPU
    # once the master compiled them all (datacapt.serving).
    merged.setdefault("jinja2.cache_size", "-1")
    merged.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    merged.setdefault("tm.commit_veto", "datacapt.db.commit_veto")
    # pyramid_tm would ask who is signed in before the exception views can answer: a database
    # away then reached the server as its bare 500. The audit trail records who did what.
    merged.setdefault("tm.annotate_user", "false")
    merged.setdefault("retry.attempts", "3")

    configure_structlog()
    config = Configurator(settings=merged)
    config.registry["datacapt.settings"] = app_settings
    for name in CORE_INCLUDES:
        config.include(name)
    config.add_static_view(
        "static", str(STATIC_DIR), cache_max_age=3600, permission=NO_PERMISSION_REQUIRED
    )
    for name in app_settings.includes:
        config.include(name)
    return config
