"""Server-side sessions: every sign-in is a row, so a user can see their sessions and end them,
and a password change or an administrator can end them too.

The signed cookie only carries a random token (plus the CSRF token and flash messages); the
server keeps its SHA-256 and decides on every request whether the session still stands: not
ended, not idle longer than ``session_idle_timeout``, not older than ``session_absolute_timeout``.
A request reads its session and user as plain values (:class:`SessionState`, :class:`SignedInUser`:
no ORM entity to load on every request) and writes the session row by statement.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from pyramid.request import Request
from sqlalchemy import ScalarSelect, Select, bindparam, select, update
from sqlalchemy.orm import Session

from datacapt.config import AppSettings, get_app_settings
from datacapt.db import rows_connection
from datacapt.models import User, UserSession
from datacapt.plain_rows import plain_rows
from datacapt.security import SIGNED_IN_USER_COLUMNS, SignedInUser

#: Where the cookie session keeps the token of the server-side session.
SESSION_KEY = "auth.session"
#: ``last_seen_at`` is written at most this often, so browsing costs no write per request.
TOUCH_INTERVAL = timedelta(seconds=60)
USER_AGENT_LENGTH = 300


class EndReason:
    SIGNED_OUT = "signed_out"
    ENDED_BY_USER = "ended_by_user"
    CREDENTIALS_CHANGED = "credentials_changed"  # password changed or reset
    IDLE = "idle"
    EXPIRED = "expired"
    ACCOUNT_DISABLED = "account_disabled"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_stamp(settings: AppSettings, user: User | SignedInUser) -> str:
    """HMAC-SHA256 of the password's hash, hex, cut to 32: a session opened before a password
    change no longer matches. ``hmac.digest`` is one call; ``hmac.new`` runs ~25."""
    material = (user.password_hash or "").encode()
    return hmac.digest(settings.secret.encode(), material, "sha256").hex()[:32]


def open_session(request: Request, user: User) -> UserSession:
    """A new session row for ``user``; its token goes into the (fresh) cookie session."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = UserSession(
        token_hash=_hash(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        ip=request.client_address,
        user_agent=(request.user_agent or "")[:USER_AGENT_LENGTH] or None,
        password_stamp=password_stamp(get_app_settings(request.registry), user),
    )
    request.dbsession.add(row)
    request.dbsession.flush()
    request.session[SESSION_KEY] = token
    return row


def _expiry(settings: AppSettings, row: UserSession | SessionState, now: datetime) -> str | None:
    """Why the session can no longer stand on time alone, if it cannot."""
    if now - row.created_at > timedelta(seconds=settings.session_absolute_timeout):
        return EndReason.EXPIRED
    if now - row.last_seen_at > timedelta(seconds=settings.session_idle_timeout):
        return EndReason.IDLE
    return None


class SessionState(NamedTuple):
    """What deciding whether a session stands reads of its row."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    password_stamp: str


#: The columns of :class:`SessionState`, in its order.
SESSION_COLUMNS = tuple(getattr(UserSession, name) for name in SessionState._fields)


#: An open session found by its token's hash, bound as ``token_hash``.
_OPEN_SESSION = (
    UserSession.token_hash == bindparam("token_hash"),
    UserSession.ended_at.is_(None),
)


@cache
def session_statement() -> Select[Any]:
    """The statement finding an open session by its token's hash (bound as ``token_hash``):
    :class:`SessionState`'s columns, then :class:`SignedInUser`'s; built once, read as plain
    rows (:func:`found_session`). The security policy adds the user's roles to it."""
    return (
        select(*SESSION_COLUMNS, *SIGNED_IN_USER_COLUMNS)
        .join(User, User.id == UserSession.user_id)
        .where(*_OPEN_SESSION)
    )


def session_user_id() -> ScalarSelect[int]:
    """The user of the open session :func:`session_statement` finds (the same ``token_hash``),
    as a value of the same statement: what narrows the roles joined to it to that user's."""
    return select(UserSession.user_id).where(*_OPEN_SESSION).scalar_subquery()


_USER_END = len(SESSION_COLUMNS) + len(SIGNED_IN_USER_COLUMNS)


def found_session(row: Any) -> tuple[SessionState, SignedInUser]:
    """The session and its user from a row of :func:`session_statement`."""
    return SessionState(*row[: len(SESSION_COLUMNS)]), SignedInUser(
        *row[len(SESSION_COLUMNS) : _USER_END]
    )


def session_parameters(request: Request) -> dict[str, str] | None:
    """The parameters of :func:`session_statement` for the session the request's cookie names
    (None: it names none)."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    return {"token_hash": _hash(token)}


def current(request: Request) -> tuple[SessionState, SignedInUser] | None:
    """The session the request's cookie names, with its user, if it still stands (one query).
    A session found timed out is ended on the spot."""
    parameters = session_parameters(request)
    if parameters is None:
        return None
    rows = plain_rows(request.dbsession, session_statement(), parameters)
    if not rows:
        return None
    session, user = found_session(rows[0])
    return (session, user) if standing(request, session, user) else None


def standing(request: Request, session: SessionState, user: SignedInUser) -> bool:
    """Whether a found session still stands; one timed out, of a disabled account or from before
    a password change is ended on the spot. A standing one is touched at most once a minute."""
    now = datetime.now(UTC)
    settings = get_app_settings(request.registry)
    reason = _expiry(settings, session, now)
    if reason is None and not user.is_active:
        reason = EndReason.ACCOUNT_DISABLED
    if reason is None and not hmac.compare_digest(
        session.password_stamp, password_stamp(settings, user)
    ):
        reason = EndReason.CREDENTIALS_CHANGED
    if reason is not None:
        end(request.dbsession, session.id, reason)
        return False
    if now - session.last_seen_at > TOUCH_INTERVAL:
        rows_connection(request.dbsession).execute(
            update(UserSession).where(UserSession.id == session.id).values(last_seen_at=now)
        )
    return True


def touch(request: Request) -> None:
    """Renew the signed-in user's session now (they asked to stay signed in), and reissue the
    cookie so its own timeout restarts too."""
    row = request.dbsession.get(UserSession, request.identity.session_id)
    row.last_seen_at = datetime.now(UTC)
    request.session.changed()


def previous_user(request: Request) -> User | None:
    """Whose session, standing or ended, the request's cookie still names: the address the
    dialog to sign in again proposes. None when the cookie names none."""
    parameters = session_parameters(request)
    if parameters is None:
        return None
    return request.dbsession.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == parameters["token_hash"])
    )


def end(dbsession: Session, session_id: int, reason: str) -> None:
    """End the session ``session_id`` now, unless it has ended already."""
    rows_connection(dbsession).execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=datetime.now(UTC), end_reason=reason)
    )


def end_all(
    dbsession: Session, user: User | SignedInUser, reason: str, *, keep: int | None = None
) -> int:
    """End every open session of ``user`` (but ``keep``); how many were ended."""
    statement = (
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=datetime.now(UTC), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    return dbsession.execute(statement).rowcount


def keep_after_password_change(request: Request) -> int:
    """After the signed-in user changed their password: the session making the request goes on
    (stamped with the new password, with a new CSRF token so no form shown before the change
    can be replayed), every other one ends. How many ended."""
    identity = request.identity
    request.session.new_csrf_token()
    row = request.dbsession.get(UserSession, identity.session_id)
    user = identity.account(request.dbsession)  # with the new password's hash
    row.password_stamp = password_stamp(get_app_settings(request.registry), user)
    return end_all(request.dbsession, user, EndReason.CREDENTIALS_CHANGED, keep=identity.session_id)


def open_sessions(
    dbsession: Session, user: User | SignedInUser, settings: AppSettings
) -> list[UserSession]:
    """The user's sessions that still stand, most recently used first."""
    now = datetime.now(UTC)
    rows = dbsession.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return [row for row in rows if _expiry(settings, row, now) is None]
