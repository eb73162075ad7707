"""Password hashing with argon2id, parameters from the settings."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pyramid.registry import Registry

from datacapt.config import get_app_settings
from datacapt.i18n import _
from datacapt.validation import ValidationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


def hasher(registry: Registry) -> PasswordHasher:
    found = registry.get("accounts.hasher")
    if found is None:
        settings = get_app_settings(registry)
        found = registry["accounts.hasher"] = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
        )
    return found


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "password",
            _("Use at least ${count} characters.", mapping={"count": MIN_PASSWORD_LENGTH}),
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            "password",
            _("Use at most ${count} characters.", mapping={"count": MAX_PASSWORD_LENGTH}),
        )


def hash_password(registry: Registry, password: str) -> str:
    check_password_rules(password)
    return hasher(registry).hash(password)


def verify_password(registry: Registry, password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists: unknown accounts verify a dummy hash."""
    argon = hasher(registry)
    if password_hash is None:
        dummy = registry.get("accounts.dummy_hash")
        if dummy is None:
            dummy = registry["accounts.dummy_hash"] = argon.hash("dummy password for timing")
        _check(argon, dummy, password)
        return False
    return _check(argon, password_hash, password)


def _check(argon: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return argon.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(registry: Registry, password_hash: str) -> bool:
    return hasher(registry).check_needs_rehash(password_hash)
