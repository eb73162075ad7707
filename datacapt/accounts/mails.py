"""The accounts' mails: what each one says, in the recipient's language (see datacapt.mail)."""

from __future__ import annotations

from pyramid.request import Request

from datacapt.i18n import _
from datacapt.mail import send_mail
from datacapt.models import User

PASSWORD_CHANGED_SUBJECT = _("Your password was changed")


def send_password_changed(request: Request, user: User) -> None:
    """Tell the owner (ASVS V2.2.3): if someone else changed it, they learn it at once."""
    send_mail(
        request,
        to=user,
        subject=PASSWORD_CHANGED_SUBJECT,
        template="mail/password_changed.jinja2",
        name=user.name,
    )
