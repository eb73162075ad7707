"""Password reset by e-mail link: single-use tokens, their checks, and throttled requests.

A token is 32 random bytes (URL-safe base64) mailed to the account's address; the database
keeps only its SHA-256, an expiry and when it was used. Asking for a link gives the same answer
and does the same work whether the address is known or not: the request is recorded and a job
is queued either way, and only the job (after the commit) makes a token and sends the mail.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyramid.registry import Registry
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from datacapt.accounts.services import Throttle, account_key
from datacapt.config import get_app_settings
from datacapt.models import PasswordResetRequest, PasswordResetToken, User

TOKEN_BYTES = 32
#: Length of a token as sent (URL-safe base64 of TOKEN_BYTES, without padding).
TOKEN_LENGTH = 43
TOKEN_LIFETIME = timedelta(hours=1)
REQUEST_WINDOW = timedelta(hours=1)
MAX_REQUESTS_PER_ACCOUNT = 3
MAX_REQUESTS_PER_IP = 20
REQUEST_RETENTION = timedelta(days=1)


class TokenState(enum.Enum):
    VALID = "valid"
    UNKNOWN = "unknown"  # never issued, mistyped or tampered with
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    token: PasswordResetToken | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(dbsession: Session, user: User) -> str:
    """A new link for ``user``; the links sent before it stop working (only the latest mail
    counts)."""
    dbsession.execute(
        delete(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)
        )
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    dbsession.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=token_hash(token),
            expires_at=datetime.now(UTC) + TOKEN_LIFETIME,
        )
    )
    dbsession.flush()
    return token


def check_token(dbsession: Session, token: str | None) -> TokenCheck:
    if not token or len(token) != TOKEN_LENGTH:
        return TokenCheck(TokenState.UNKNOWN)
    row = dbsession.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
    )
    if row is None:
        return TokenCheck(TokenState.UNKNOWN)
    if row.used_at is not None:
        return TokenCheck(TokenState.USED, row)
    if row.expires_at <= datetime.now(UTC):
        return TokenCheck(TokenState.EXPIRED, row)
    return TokenCheck(TokenState.VALID, row)


def consume_token(dbsession: Session, row: PasswordResetToken) -> bool:
    """Mark the token used; False when another request used it first (single use even under
    concurrency: the update only matches an unused row)."""
    result = dbsession.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _count_since(dbsession: Session, since: datetime, criterion: ColumnElement[bool]) -> tuple:
    return dbsession.execute(
        select(func.count(), func.min(PasswordResetRequest.at)).where(
            criterion, PasswordResetRequest.at > since
        )
    ).one()


def check_request_throttle(dbsession: Session, registry: Registry, email: str, ip: str) -> Throttle:
    """Too many links asked for this address, or from this client, within the window → wait.

    Counted per address typed (known or not), so the answer tells nothing about accounts.
    """
    now = datetime.now(UTC)
    since = now - REQUEST_WINDOW
    key = account_key(get_app_settings(registry), email)
    waits = []
    for criterion, limit in (
        (PasswordResetRequest.account_key == key, MAX_REQUESTS_PER_ACCOUNT),
        (PasswordResetRequest.ip == ip, MAX_REQUESTS_PER_IP),
    ):
        count, oldest = _count_since(dbsession, since, criterion)
        if count >= limit and oldest is not None:
            waits.append(int((oldest + REQUEST_WINDOW - now).total_seconds()) + 1)
    return Throttle(max(waits, default=0))


def record_request(dbsession: Session, registry: Registry, email: str, ip: str) -> None:
    now = datetime.now(UTC)
    dbsession.add(
        PasswordResetRequest(
            at=now, account_key=account_key(get_app_settings(registry), email), ip=ip
        )
    )
    dbsession.execute(
        delete(PasswordResetRequest).where(PasswordResetRequest.at < now - REQUEST_RETENTION)
    )
