"""Administrators holding a study data role: told to the study's administrators, shown on the
study's page.

Organisation (and system) administrators may grant any role of their organisation, so one of
them can give themselves a role that sees subject data (investigator, monitor ...). "Tenant
administrators see no subject data" then holds only as long as nobody does that unseen. The
choice made here is to make it seen rather than to require a second approval (which would leave
an organisation with a single administrator unable to staff its studies):

* a self-grant of a data role (granting oneself one, or changing one's own role into one) is
  audited as ``role.self_granted`` beside ``role.granted``/``role.changed``, naming who was told,
  and mailed, after the commit, to the study's administrators (or, when the study has none, to
  the organisation's other administrators);
* the study's page lists every organisation or system administrator who holds a data role in
  the study, with who granted it and when (read from the audit trail), whoever granted it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.mail import send_mail_in
from datacapt.models import (
    AuditEvent,
    Study,
    StudyRoleAssignment,
    Tenant,
    TenantRoleAssignment,
    User,
)
from datacapt.permissions import (
    ROLE_LABELS,
    STUDY_ROLE_PERMISSIONS,
    Permission,
    StudyRole,
    TenantRole,
)

#: The study roles that see subject data.
DATA_ROLES = frozenset(
    role
    for role, permissions in STUDY_ROLE_PERMISSIONS.items()
    if Permission.VIEW_SUBJECT in permissions
)
SELF_GRANT_SUBJECT = _("An administrator gave themselves access to subject data")
GRANT_ACTIONS = ("role.granted", "role.changed")


def is_self_grant(actor_user_id: int | None, user_id: int, role: StudyRole) -> bool:
    """Whether someone gives themselves a role that sees subject data."""
    return actor_user_id == user_id and role in DATA_ROLES


def _admin(tenant_id: int) -> object:
    """Who administers the tenant: its administrators and the system administrators."""
    return or_(
        User.is_system_admin.is_(True),
        User.id.in_(
            select(TenantRoleAssignment.user_id).where(
                TenantRoleAssignment.tenant_id == tenant_id,
                TenantRoleAssignment.role == TenantRole.TENANT_ADMIN,
            )
        ),
    )


def _to_tell(dbsession: Session, study: Study, granter_id: int) -> list[User]:
    """The study's administrators, or else the organisation's other administrators."""
    study_admins = dbsession.scalars(
        select(User)
        .join(StudyRoleAssignment, StudyRoleAssignment.user_id == User.id)
        .where(
            StudyRoleAssignment.study_id == study.id,
            StudyRoleAssignment.role == StudyRole.STUDY_ADMIN,
            User.id != granter_id,
            User.is_active.is_(True),
        )
        .order_by(User.id)
    ).all()
    if study_admins:
        return list(study_admins)
    return list(
        dbsession.scalars(
            select(User)
            .join(TenantRoleAssignment, TenantRoleAssignment.user_id == User.id)
            .where(
                TenantRoleAssignment.tenant_id == study.tenant_id,
                TenantRoleAssignment.role == TenantRole.TENANT_ADMIN,
                User.id != granter_id,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def report_self_grant(
    dbsession: Session,
    study: Study,
    granter: User,
    assignment: StudyRoleAssignment,
    by: Actor,
) -> list[User]:
    """Audit a self-grant of a data role and mail it, after the commit, to those who must
    know; returns them."""
    told = _to_tell(dbsession, study, granter.id)
    audit.record(
        dbsession,
        by,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="role.self_granted",
        entity_type="study_role",
        entity_id=assignment.id,
        new={
            "user_id": granter.id,
            "role": assignment.role.value,
            "notified": [user.id for user in told],
        },
    )
    request = dbsession.info.get("request")
    application_url = request.application_url if request is not None else ""
    slug = dbsession.scalar(select(Tenant.slug).where(Tenant.id == study.tenant_id))
    for user in told:
        send_mail_in(
            dbsession,
            to=user,
            subject=SELF_GRANT_SUBJECT,
            template="mail/self_grant.jinja2",
            application_url=application_url,
            granter=granter.name,
            study=study,
            role=ROLE_LABELS[assignment.role],
            link=f"{application_url}/{slug}/{study.code}/",
        )
    return told


@dataclass(frozen=True)
class AdminAccess:
    """An administrator holding a data role in a study, and who gave it when."""

    name: str
    role: StudyRole
    granted_by: str | None  # None: the operator at the command line
    granted_at: datetime | None
    self_granted: bool


def administrators_with_data_roles(dbsession: Session, study: Study) -> list[AdminAccess]:
    """Every organisation or system administrator holding a data role in ``study``, with the
    latest grant or change of that role from the audit trail. Two queries."""
    rows = dbsession.execute(
        select(StudyRoleAssignment.id, StudyRoleAssignment.role, User.id, User.name)
        .join(User, User.id == StudyRoleAssignment.user_id)
        .where(
            StudyRoleAssignment.study_id == study.id,
            StudyRoleAssignment.role.in_(sorted(DATA_ROLES)),
            _admin(study.tenant_id),
        )
        .order_by(User.name, StudyRoleAssignment.id)
    ).all()
    if not rows:
        return []
    granter = aliased(User)
    latest: dict[str, tuple[int | None, str | None, datetime]] = {}
    for entity_id, actor_id, actor_name, occurred_at in dbsession.execute(
        select(AuditEvent.entity_id, AuditEvent.actor_id, granter.name, AuditEvent.occurred_at)
        .outerjoin(granter, granter.id == AuditEvent.actor_id)
        .where(
            AuditEvent.tenant_id == study.tenant_id,
            AuditEvent.entity_type == "study_role",
            AuditEvent.entity_id.in_([audit.entity_key(row[0]) for row in rows]),
            AuditEvent.action.in_(GRANT_ACTIONS),
        )
        .order_by(AuditEvent.seq)
    ):
        latest[entity_id] = (actor_id, actor_name, occurred_at)
    found = []
    for assignment_id, role, user_id, name in rows:
        actor_id, actor_name, occurred_at = latest.get(str(assignment_id), (None, None, None))
        found.append(AdminAccess(name, role, actor_name, occurred_at, actor_id == user_id))
    return found
