"""Two-factor authentication: TOTP (RFC 6238) authenticators and single-use recovery codes.

The secret is sealed at rest like personal data (:mod:`datacapt.sealing`), bound to its user.
A code is accepted within one time step either side of now, and never twice: the accepted step is
stored, so a code read over a shoulder is worthless once used. Recovery codes are shown once and
kept only as keyed hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import pyotp
import segno
from pyramid.registry import Registry
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from datacapt import sealing
from datacapt.config import get_app_settings
from datacapt.i18n import _
from datacapt.models import RecoveryCode, TotpSecret, User
from datacapt.security import SignedInUser
from datacapt.validation import ValidationError

ISSUER = "Datacapt"
STEP_SECONDS = 30
#: Steps either side of now that are still accepted (clock drift of the phone).
TOLERANCE_STEPS = 1
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes


def is_enrolled(user: User | SignedInUser) -> bool:
    return user.two_factor_enabled_at is not None


def _associated(user_id: int) -> bytes:
    return f"datacapt:user:{user_id}:totp".encode()


def _secret(registry: Registry, row: TotpSecret) -> str:
    sealed = sealing.Sealed(row.key_id, row.nonce, row.ciphertext)
    return sealing.unseal(registry, sealed, _associated(row.user_id)).decode()


def _store(registry: Registry, row: TotpSecret, secret: str) -> None:
    sealed = sealing.seal(registry, secret.encode(), _associated(row.user_id))
    row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext


def start_enrolment(dbsession: Session, registry: Registry, user: User) -> str:
    """A new secret for ``user``, waiting for a first code (any earlier pending one is replaced).
    Returns the secret in base32, for the QR code and the manual key."""
    if is_enrolled(user):
        raise ValidationError("code", _("Two-factor authentication is already set up."))
    secret = pyotp.random_base32()
    row = dbsession.get(TotpSecret, user.id) or TotpSecret(user_id=user.id)
    row.created_at, row.confirmed_at, row.last_step = datetime.now(UTC), None, None
    _store(registry, row, secret)
    dbsession.add(row)
    dbsession.flush()
    return secret


def pending_secret(dbsession: Session, registry: Registry, user: User) -> str | None:
    """The secret of an enrolment still waiting for its first code, if any."""
    row = dbsession.get(TotpSecret, user.id)
    if row is None or row.confirmed_at is not None:
        return None
    return _secret(registry, row)


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """The ``otpauth://`` URI as an inline SVG: drawn on the server, no script, no image host."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")


def manual_key(secret: str) -> str:
    """The secret in groups of four, as authenticator apps ask for it when typed."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _accepted_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, if it is valid now and newer than ``last_step``."""
    code = _normalise(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = int(datetime.now(UTC).timestamp()) // STEP_SECONDS
    for step in range(now_step - TOLERANCE_STEPS, now_step + TOLERANCE_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def _use_code(dbsession: Session, registry: Registry, row: TotpSecret, code: str) -> bool:
    step = _accepted_step(_secret(registry, row), code, row.last_step)
    if step is None:
        return False
    # Conditional update: of two requests racing with the same code, one wins.
    claimed = dbsession.execute(
        update(TotpSecret)
        .where(
            TotpSecret.user_id == row.user_id,
            (TotpSecret.last_step.is_(None)) | (TotpSecret.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    dbsession.expire(row)
    return claimed == 1


def confirm_enrolment(dbsession: Session, registry: Registry, user: User, code: str) -> list[str]:
    """Turn on two-factor authentication once the first code matches; the new recovery codes."""
    row = dbsession.get(TotpSecret, user.id)
    if row is None or row.confirmed_at is not None:
        raise ValidationError("code", _("Start the set-up again: no authenticator is waiting."))
    if not _use_code(dbsession, registry, row, code):
        raise ValidationError("code", _("This code is not valid. Enter the current code."))
    now = datetime.now(UTC)
    row.confirmed_at = user.two_factor_enabled_at = now
    return regenerate_recovery_codes(dbsession, registry, user)


def verify_code(
    dbsession: Session, registry: Registry, user: User | SignedInUser, code: str
) -> bool:
    """A current authenticator code of ``user`` not used before (sign-in step, signatures)."""
    if not is_enrolled(user):
        return False
    row = dbsession.get(TotpSecret, user.id)
    return (
        row is not None
        and row.confirmed_at is not None
        and _use_code(dbsession, registry, row, code)
    )


def _recovery_hash(registry: Registry, user_id: int, code: str) -> str:
    secret = get_app_settings(registry).secret.encode()
    material = f"{user_id}:{_normalise(code)}".encode()
    return hmac.new(secret, material, hashlib.sha256).hexdigest()


def regenerate_recovery_codes(dbsession: Session, registry: Registry, user: User) -> list[str]:
    """Replace the user's recovery codes; the new ones are returned once and stored hashed."""
    dbsession.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    now = datetime.now(UTC)
    codes = []
    for _index in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _char in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    dbsession.add_all(
        RecoveryCode(
            user_id=user.id, code_hash=_recovery_hash(registry, user.id, code), created_at=now
        )
        for code in codes
    )
    dbsession.flush()
    return codes


def use_recovery_code(dbsession: Session, registry: Registry, user: User, code: str) -> bool:
    """Spend one unused recovery code of ``user``."""
    if not is_enrolled(user) or len(code) > 40:
        return False
    claimed = dbsession.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(registry, user.id, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def remaining_recovery_codes(dbsession: Session, user: User | SignedInUser) -> int:
    return dbsession.scalar(
        select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def disable(dbsession: Session, user: User) -> None:
    """Remove the authenticator and the recovery codes (turning off, or an administrator's
    reset after a lost phone)."""
    dbsession.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    dbsession.execute(delete(TotpSecret).where(TotpSecret.user_id == user.id))
    user.two_factor_enabled_at = None


def rekey(registry: Registry, dbsession: Session) -> int:
    """Re-seal every secret not under the current key; the number re-sealed."""
    current = sealing.current_key_id(registry)
    rows = dbsession.scalars(select(TotpSecret).where(TotpSecret.key_id != current)).all()
    for row in rows:
        _store(registry, row, _secret(registry, row))
    return len(rows)
