"""Outgoing mail: rendered in the recipient's language, sent only if the transaction commits.

The rest of the app calls one function::

    from datacapt.mail import send_mail

    send_mail(
        request,
        to=user,                      # a User (their language) or an address (the request's)
        subject=_("Reset your password"),
        template="mail/password_reset.jinja2",
        link=...,                     # any further values are the template's
    )

The body is plain text rendered from ``templates/mail/`` (no autoescaping: it is not HTML); the
subject is a TranslationString, translated like the body. The message joins the request's
transaction (pyramid_mailer's transactional delivery): it leaves after the commit, never if the
request ends in a 4xx, an error or a retry.

Outside a request (a job, the command line), call :func:`send_mail_in` with the job's
``dbsession``: the message joins that session's transaction. Links need the public address,
so pass ``application_url`` along (e.g. put ``request.application_url`` in the job's arguments).

Delivery follows the INI's ``mail.`` settings (pyramid_mailer's): SMTP in production, its host
and credentials from the environment (``DATACAPT_MAIL_*``); with ``mail.top_level_directory``
(development, tests) each message is written to that folder as an ``.eml`` file instead.
Nothing here logs an address or a body.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message as EmailMessage
from pathlib import Path
from typing import Any

import transaction
from jinja2 import Environment
from pyramid.config import Configurator
from pyramid.i18n import Localizer, TranslationString, make_localizer
from pyramid.interfaces import ITranslationDirectories
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.threadlocal import manager as threadlocal_manager
from pyramid_jinja2 import IJinja2Environment
from pyramid_mailer import get_mailer
from pyramid_mailer.interfaces import IMailer
from pyramid_mailer.mailer import Mailer
from pyramid_mailer.message import Attachment, Message
from sqlalchemy.orm import Session

from datacapt.config import ConfigurationError
from datacapt.i18n import DEFAULT_LANGUAGE, LANGUAGES
from datacapt.models import User

FOLDER_SETTING = "mail.top_level_directory"


class FolderMailer:
    """A repoze.sendmail mailer that writes each message to a folder instead of sending it.

    It stands where the SMTP mailer would, so development and the tests go through the same
    transactional delivery as production: a file appears only once the transaction commits.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def send(self, fromaddr: str, toaddrs: list[str], message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.directory / f".{name}"
        partial.write_bytes(message.as_bytes())
        os.replace(partial, self.directory / name)  # readers never see half a message


@dataclass(frozen=True)
class _RenderingRequest:
    """What the templates and their ``_()`` read from a request: the recipient's language."""

    localizer: Localizer
    locale_name: str
    application_url: str


def make_mailer(settings: dict[str, Any]) -> Mailer:
    sender = (settings.get("mail.default_sender") or "").strip()
    if not sender:
        raise ConfigurationError(
            "mail.default_sender is empty: set the From address of Datacapt's mail in the INI"
        )
    folder = (settings.get(FOLDER_SETTING) or "").strip()
    if folder:
        return Mailer(smtp_mailer=FolderMailer(folder), default_sender=sender)
    if not (settings.get("mail.host") or "").strip():
        raise ConfigurationError(
            f"no mail server: set mail.host (or DATACAPT_MAIL_HOST), or {FOLDER_SETTING} to "
            "write mail to a folder"
        )
    return Mailer.from_settings(settings, "mail.")


def _text_environment(registry: Registry) -> Environment:
    """The app's Jinja environment (same loader, filters, ``_``), without HTML escaping."""
    found = registry.get("mail.environment")
    if found is None:
        html = registry.getUtility(IJinja2Environment, name=".jinja2")
        found = registry["mail.environment"] = html.overlay(autoescape=False)
    return found


def _localizer(registry: Registry, locale: str) -> Localizer:
    directories = registry.queryUtility(ITranslationDirectories, default=[])
    return make_localizer(locale, directories)


def render_mail(
    registry: Registry, template: str, locale: str, application_url: str, **values: Any
) -> str:
    """The plain-text body of ``template`` in ``locale``."""
    request = _RenderingRequest(_localizer(registry, locale), locale, application_url)
    # pyramid_jinja2's ``_()`` reads the current request's localizer: make it the recipient's.
    threadlocal_manager.push({"request": request, "registry": registry})
    try:
        body = _text_environment(registry).get_template(template).render(request=request, **values)
    finally:
        threadlocal_manager.pop()
    return body


def translate_in(registry: Registry, locale: str, text: TranslationString, **mapping: str) -> str:
    """``text`` in ``locale``, its ``${name}`` placeholders filled from ``mapping`` (for words
    sent outside a request and outside a mail: a text message)."""
    if mapping:
        text = TranslationString(text, mapping={**(text.mapping or {}), **mapping})
    return _localizer(registry, locale).translate(text)


def _recipient(to: User | str, fallback_locale: str) -> tuple[str, str]:
    if isinstance(to, User):
        locale = to.locale if to.locale in LANGUAGES else fallback_locale
        return to.email, locale
    return to, fallback_locale


def _deliver(
    registry: Registry,
    transaction_manager: transaction.TransactionManager,
    *,
    to: User | str,
    subject: TranslationString,
    template: str,
    locale: str,
    application_url: str,
    values: dict[str, Any],
    attachments: Sequence[Attachment] = (),
) -> None:
    address, locale = _recipient(to, locale)
    body = render_mail(registry, template, locale, application_url, **values)
    message = Message(
        subject=_localizer(registry, locale).translate(subject),
        recipients=[address],
        body=body,
        attachments=list(attachments),
    )
    get_mailer(registry).bind(transaction_manager=transaction_manager).send(message)


def send_mail(
    request: Request,
    *,
    to: User | str,
    subject: TranslationString,
    template: str,
    attachments: Sequence[Attachment] = (),
    **values: Any,
) -> None:
    """Send a mail once ``request``'s transaction commits (see the module's docstring), with
    ``attachments`` (an invitation's ``.ics``) if any."""
    _deliver(
        request.registry,
        request.tm,
        to=to,
        subject=subject,
        template=template,
        locale=request.locale_name,
        application_url=request.application_url,
        values=values,
        attachments=attachments,
    )


def send_mail_in(
    dbsession: Session,
    *,
    to: User | str,
    subject: TranslationString,
    template: str,
    application_url: str,
    locale: str = DEFAULT_LANGUAGE,
    attachments: Sequence[Attachment] = (),
    **values: Any,
) -> None:
    """:func:`send_mail` outside a request: joins ``dbsession``'s transaction (a job's, the
    command line's, or a service's in a request); ``locale`` is used when ``to`` is an address
    or a user without one."""
    _deliver(
        dbsession.info["registry"],
        dbsession.info["transaction_manager"],
        to=to,
        subject=subject,
        template=template,
        locale=locale,
        application_url=application_url,
        values=values,
        attachments=attachments,
    )


def includeme(config: Configurator) -> None:
    config.registry.registerUtility(make_mailer(config.registry.settings), IMailer)
