"""The members' background jobs: mailing an invitation's link."""

from __future__ import annotations

import secrets

from datacapt.i18n import _
from datacapt.jobs import JobContext, job
from datacapt.mail import send_mail_in
from datacapt.members import invitations
from datacapt.members.invitations import MAIL_INVITATION
from datacapt.models import Invitation, InvitationStatus, Study, User
from datacapt.permissions import ROLE_LABELS


@job(MAIL_INVITATION)
def mail_invitation(ctx: JobContext, invitation_id: int, application_url: str) -> None:
    """Make the link and mail it; nothing if the invitation was closed meanwhile."""
    dbsession = ctx.dbsession
    invitation = dbsession.get(Invitation, invitation_id)
    if (
        invitation is None
        or invitation.status_at(invitations.now()) is not InvitationStatus.PENDING
    ):
        return
    token = secrets.token_urlsafe(32)
    invitation.token_hash = invitations.token_hash(token)
    invitation.sent_at = invitations.now()
    invitation.send_count += 1
    study = dbsession.get(Study, invitation.study_id)
    inviter = dbsession.get(User, invitation.invited_by_id)
    send_mail_in(
        dbsession,
        to=invitation.email,
        subject=_("Invitation to the study ${code}", mapping={"code": study.code}),
        template="mail/invitation.jinja2",
        application_url=application_url,
        locale=invitation.locale,
        link=f"{application_url}/invitation?token={token}",
        study=study,
        inviter=inviter.name,
        role=ROLE_LABELS[invitation.role],
        days=invitations.LIFETIME.days,
    )
