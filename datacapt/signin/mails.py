"""Sign-in's mails (password reset and change), in the recipient's language (see datacapt.mail)."""

from __future__ import annotations

from urllib.parse import urlencode

from pyramid.request import Request
from sqlalchemy.orm import Session

from datacapt.i18n import _
from datacapt.mail import send_mail, send_mail_in
from datacapt.models import User
from datacapt.signin.reset import TOKEN_LIFETIME

PASSWORD_CHANGED_SUBJECT = _("Your password was changed")
PASSWORD_RESET_SUBJECT = _("Reset your Datacapt password")


def send_password_changed(request: Request, user: User) -> None:
    """Tell the owner (ASVS V2.2.3): if someone else changed it, they learn it at once."""
    send_mail(
        request,
        to=user,
        subject=PASSWORD_CHANGED_SUBJECT,
        template="mail/password_changed.jinja2",
        name=user.name,
    )


def send_password_reset(
    dbsession: Session, user: User, token: str, *, locale: str, application_url: str
) -> None:
    send_mail_in(
        dbsession,
        to=user,
        subject=PASSWORD_RESET_SUBJECT,
        template="mail/password_reset.jinja2",
        application_url=application_url,
        locale=locale,
        name=user.name,
        link=f"{application_url}/reset-password?{urlencode({'token': token})}",
        minutes=int(TOKEN_LIFETIME.total_seconds() // 60),
    )
