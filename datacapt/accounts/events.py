"""Audit events about a person's account (sign-in, two-factor, sessions, passwords).

A user may belong to several tenants, and each tenant's trail must be complete on its own
without showing another tenant anything: an account event is written into the chain of every
tenant the user belongs to (scoped to the tenant, no study), or into the platform chain when they
belong to none yet. No e-mail address ever enters the text: the account is its user id, or, for an
address that matches no account, a keyed pseudonym of it.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from sqlalchemy import select, union
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.models import StudyRoleAssignment, TenantRoleAssignment, User
from datacapt.security import SignedInUser


def tenant_ids_of(dbsession: Session, user_id: int) -> list[int]:
    statement = union(
        select(TenantRoleAssignment.tenant_id).where(TenantRoleAssignment.user_id == user_id),
        select(StudyRoleAssignment.tenant_id).where(StudyRoleAssignment.user_id == user_id),
    )
    return sorted(dbsession.scalars(statement))


def record_for_user(
    dbsession: Session,
    actor: Actor,
    user: User | SignedInUser | None,
    action: str,
    *,
    entity_id: str | None = None,
    **fields: Any,
) -> None:
    """Record ``action`` about ``user`` (None: an address that matches no account, named by
    ``entity_id``) in each chain the user belongs to."""
    tenant_ids: list[int | None] = [None]
    if user is not None:
        tenant_ids = list(tenant_ids_of(dbsession, user.id)) or [None]
        entity_id = str(user.id)
    for tenant_id in tenant_ids:
        audit.record(
            dbsession,
            actor,
            tenant_id=tenant_id,
            action=action,
            entity_type="user",
            entity_id=entity_id,
            **fields,
        )


def record_account_event(
    request: Request,
    user: User | SignedInUser | None,
    action: str,
    *,
    by_user: bool = True,
    **fields: Any,
) -> None:
    """:func:`record_for_user` from a request; the actor is the user themself (``by_user``:
    signed in or signing in), or nobody known (a failed sign-in, a replayed link)."""
    acting = user.id if by_user and user is not None else None
    record_for_user(request.dbsession, request.actor.as_user(acting), user, action, **fields)
