"""Sign-in's background jobs: mailing a password reset link."""

from __future__ import annotations

from datacapt.jobs import JobContext, job
from datacapt.models import User
from datacapt.signin.mails import send_password_reset
from datacapt.signin.reset import issue_token

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
