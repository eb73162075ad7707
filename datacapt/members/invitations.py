"""Invitations: a study manager invites someone by e-mail with a study role (and optional site
restriction); the invitee joins through a single-use link.

The role is checked against the inviter's own powers twice: when inviting, and again when the
invitation is accepted (with the inviter's roles as they are then), so an invitation never
grants more than its author may grant at the moment it takes effect.

The mail is sent by a background job, which also makes the link's token: the token exists only
in the job's memory and in the mail, the database keeps its SHA-256. Sending again makes a new
token and the older links stop working at once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.accounts.services import create_user, find_user
from datacapt.actor import Actor
from datacapt.i18n import LANGUAGES, _
from datacapt.jobs import enqueue_after_commit
from datacapt.members import roles
from datacapt.models import (
    Invitation,
    InvitationStatus,
    Site,
    Study,
    StudyRoleAssignment,
    User,
)
from datacapt.security import Identity, load_identity
from datacapt.validation import ValidationError, clean_email

LIFETIME = timedelta(days=7)
#: The job that makes the link and mails it (:mod:`datacapt.members.jobs`).
MAIL_INVITATION = "accounts.mail_invitation"
TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


def _choice_of(dbsession: Session, invitation: Invitation) -> roles.RoleChoice:
    sites = None
    if invitation.site_ids is not None:
        sites = list(
            dbsession.scalars(
                select(Site)
                .where(Site.study_id == invitation.study_id, Site.id.in_(invitation.site_ids))
                .order_by(Site.code)
            )
        )
    return roles.RoleChoice(invitation.role, sites)


def _described(invitation: Invitation, choice: roles.RoleChoice) -> dict[str, Any]:
    codes = None if choice.sites is None else [site.code for site in choice.sites]
    return {"role": invitation.role.value, "sites": codes}


def _event(
    dbsession: Session, by: Actor, invitation: Invitation, action: str, **fields: Any
) -> None:
    audit.record(
        dbsession,
        by,
        tenant_id=invitation.tenant_id,
        study_id=invitation.study_id,
        action=action,
        entity_type="invitation",
        entity_id=invitation.id,
        **fields,
    )


def invite(
    dbsession: Session,
    actor: Identity,
    study: Study,
    email: str,
    choice: roles.RoleChoice,
    locale: str,
    application_url: str,
    by: Actor,
) -> Invitation:
    """Invite ``email`` to ``study``; the mail leaves once the transaction commits."""
    email = clean_email("email", email)
    if locale not in LANGUAGES:
        raise ValidationError("language", _("Choose one of the offered languages."))
    if not roles.may_grant(actor, study, choice.role, choice.site_ids):
        raise ValidationError("role", _("You may not grant this role here."))
    user = find_user(dbsession, email)
    if user is not None and dbsession.scalar(
        select(StudyRoleAssignment.id).where(
            StudyRoleAssignment.study_id == study.id,
            StudyRoleAssignment.user_id == user.id,
            StudyRoleAssignment.role == choice.role,
        )
    ):
        raise ValidationError("email", _("This person already holds this role in the study."))
    pending = dbsession.scalars(
        select(Invitation).where(
            Invitation.study_id == study.id,
            Invitation.email == email,
            Invitation.status == InvitationStatus.PENDING,
        )
    ).all()
    if any(row.status_at(now()) is InvitationStatus.PENDING for row in pending):
        raise ValidationError(
            "email",
            _("An invitation to this address is waiting already: send it again from the list."),
        )
    created = now()
    invitation = Invitation(
        tenant_id=study.tenant_id,
        study_id=study.id,
        email=email,
        role=choice.role,
        site_ids=None if choice.sites is None else sorted(site.id for site in choice.sites),
        locale=locale,
        status=InvitationStatus.PENDING,
        invited_by_id=actor.user.id,
        created_at=created,
        expires_at=created + LIFETIME,
        send_count=0,
    )
    dbsession.add(invitation)
    dbsession.flush()
    _event(dbsession, by, invitation, "invitation.sent", new=_described(invitation, choice))
    enqueue_after_commit(
        dbsession,
        MAIL_INVITATION,
        invitation_id=invitation.id,
        application_url=application_url,
    )
    return invitation


def _require(actor: Identity, study: Study, invitation: Invitation) -> None:
    """Only someone who could have sent an invitation may send it again or withdraw it."""
    site_ids = None if invitation.site_ids is None else frozenset(invitation.site_ids)
    if not roles.may_grant(actor, study, invitation.role, site_ids):
        raise ValidationError("invitation", _("You may not manage this invitation."))


def resend(
    dbsession: Session,
    actor: Identity,
    study: Study,
    invitation: Invitation,
    application_url: str,
    by: Actor,
) -> None:
    """Send a pending (or expired) invitation again, with a new link and a new expiry."""
    _require(actor, study, invitation)
    if invitation.status is not InvitationStatus.PENDING:
        raise ValidationError("invitation", _("Only a waiting invitation can be sent again."))
    invitation.token_hash = None  # the old link stops working with this commit
    invitation.expires_at = now() + LIFETIME
    _event(dbsession, by, invitation, "invitation.resent")
    enqueue_after_commit(
        dbsession,
        MAIL_INVITATION,
        invitation_id=invitation.id,
        application_url=application_url,
    )


def revoke(
    dbsession: Session, actor: Identity, study: Study, invitation: Invitation, by: Actor
) -> None:
    _require(actor, study, invitation)
    if invitation.status is not InvitationStatus.PENDING:
        raise ValidationError("invitation", _("Only a waiting invitation can be withdrawn."))
    invitation.status = InvitationStatus.REVOKED  # the link now says it was withdrawn
    invitation.closed_at, invitation.closed_by_id = now(), actor.user.id
    _event(dbsession, by, invitation, "invitation.revoked")


def find_by_token(dbsession: Session, token: str) -> Invitation | None:
    if not token or len(token) > TOKEN_LENGTH + 10:
        return None
    return dbsession.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))


def accept(dbsession: Session, invitation: Invitation, user: User, by: Actor) -> None:
    """Give ``user`` the invitation's role, if its author may still grant it."""
    if invitation.status_at(now()) is not InvitationStatus.PENDING:
        raise ValidationError("invitation", _("This invitation can no longer be used."))
    if user.email != invitation.email:
        raise ValidationError("invitation", _("This invitation was sent to another address."))
    study = dbsession.get(Study, invitation.study_id)
    inviter = load_identity(dbsession, dbsession.get(User, invitation.invited_by_id))
    choice = _choice_of(dbsession, invitation)
    try:
        roles.grant_role(dbsession, inviter, study, user, choice, by)
    except ValidationError:
        raise ValidationError(
            "invitation",
            _("This invitation can no longer give you this role. Ask for a new one."),
        ) from None
    invitation.status = InvitationStatus.ACCEPTED  # the link now says it was used
    invitation.closed_at, invitation.closed_by_id, invitation.user_id = now(), user.id, user.id
    _event(dbsession, by, invitation, "invitation.accepted", new={"user_id": user.id})


def join(
    dbsession: Session,
    registry: Any,
    invitation: Invitation,
    name: str,
    password: str,
    by: Actor,
) -> User:
    """Create the invitee's account (the password policy applies) and accept the invitation."""
    if find_user(dbsession, invitation.email) is not None:
        raise ValidationError("invitation", _("You have an account already: sign in to accept."))
    user = create_user(dbsession, registry, invitation.email, name, password)
    user.locale = invitation.locale
    accept(dbsession, invitation, user, by)
    return user


def study_invitations(dbsession: Session, study: Study) -> list[Invitation]:
    return list(
        dbsession.scalars(
            select(Invitation)
            .where(Invitation.study_id == study.id)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )
