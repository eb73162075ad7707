"""The sign-in flow between a correct password and a session: the second factor, or the
enrolment a tenant requires.

Between the two steps the cookie session holds a *pending* sign-in (user id, time, where to go
next). It is not a session: it gives access to nothing but the next step, lasts a few minutes,
and a new password step replaces it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pyramid.request import Request
from pyramid.security import remember
from sqlalchemy import select

from datacapt.accounts.events import record_account_event, tenant_ids_of
from datacapt.accounts.services import record_attempt
from datacapt.models import Tenant, User
from datacapt.security import SignedInUser
from datacapt.signin import two_factor

PENDING = "auth.pending"
PENDING_SECONDS = 300


@dataclass(frozen=True)
class Pending:
    user: User
    came_from: str
    enrol: bool  # True: the user must set up an authenticator before going on


def two_factor_required(request: Request, user: User | SignedInUser) -> bool:
    """Does a tenant the user belongs to require two-factor authentication?"""
    tenant_ids = tenant_ids_of(request.dbsession, user.id)
    return bool(tenant_ids) and bool(
        request.dbsession.scalar(
            select(Tenant.id)
            .where(Tenant.id.in_(tenant_ids), Tenant.two_factor_required.is_(True))
            .limit(1)
        )
    )


def begin(request: Request, user: User, came_from: str, *, enrol: bool) -> None:
    request.session[PENDING] = {
        "user": user.id,
        "since": int(time.time()),
        "came_from": came_from,
        "enrol": enrol,
    }


def pending(request: Request, *, enrol: bool) -> Pending | None:
    """The pending sign-in waiting for this step, unless it is missing, of the other kind, or
    too old."""
    state = request.session.get(PENDING)
    if not isinstance(state, dict) or state.get("enrol") is not enrol:
        return None
    if time.time() - state.get("since", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    user = request.dbsession.get(User, state.get("user"))
    if user is None or not user.is_active:
        return None
    return Pending(user=user, came_from=state.get("came_from") or "/", enrol=enrol)


def complete(request: Request, user: User, method: str) -> None:
    """Open the session: the user has given every factor their account asks for."""
    request.session.pop(PENDING, None)
    user.last_login_at = datetime.now(UTC)
    record_attempt(request.dbsession, request.registry, user.email, _ip(request), succeeded=True)
    remember(request, user.id)
    record_account_event(request, user, "user.signed_in", new={"method": method})


def check_second_factor(request: Request, user: User, code: str) -> str | None:
    """The method that accepted ``code`` ("totp" or "recovery_code"), or None."""
    if two_factor.verify_code(request.dbsession, request.registry, user, code):
        return "totp"
    if two_factor.use_recovery_code(request.dbsession, request.registry, user, code):
        return "recovery_code"
    return None


def _ip(request: Request) -> str:
    return request.client_address or "unknown"
