"""The accounts' background jobs."""

from __future__ import annotations

import secrets

from datacapt.accounts import invitations
from datacapt.accounts.invitations import MAIL_INVITATION
from datacapt.accounts.mails import send_password_reset
from datacapt.accounts.reset import issue_token
from datacapt.i18n import _
from datacapt.jobs import JobContext, job
from datacapt.mail import send_mail_in
from datacapt.models import Invitation, InvitationStatus, Study, User
from datacapt.permissions import ROLE_LABELS

MAIL_RESET_LINK = "accounts.mail_reset_link"


@job(MAIL_RESET_LINK)
def send_password_reset_link(
    ctx: JobContext, user_id: int | None, locale: str, application_url: str
) -> None:
    """Make a reset token and mail its link. Queued for unknown addresses too (``user_id``
    None, nothing to do) so that asking takes the same time whether the account exists."""
    user = ctx.dbsession.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        return
    token = issue_token(ctx.dbsession, user)
    send_password_reset(ctx.dbsession, user, token, locale=locale, application_url=application_url)


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
