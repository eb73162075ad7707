"""Mail leaves only when the transaction that asked for it commits, in the recipient's language."""

from __future__ import annotations

import pytest
import transaction
import webtest
from pyramid.httpexceptions import HTTPUnprocessableEntity
from pyramid.security import NO_PERMISSION_REQUIRED

from datacapt.config import ConfigurationError, configure
from datacapt.db import get_tm_session, transaction_scope
from datacapt.mail import make_mailer, send_mail, send_mail_in
from datacapt.models import User
from datacapt.resources import Root
from datacapt.signin.mails import PASSWORD_CHANGED_SUBJECT as SUBJECT


def probe(context, request):
    """Sends a mail, then succeeds or refuses as the query string says."""
    send_mail(
        request,
        to=request.GET.get("to", "ines@example.org"),
        subject=SUBJECT,
        template="mail/password_changed.jinja2",
        name="Inès & co",
    )
    if request.GET.get("refuse"):
        raise HTTPUnprocessableEntity()
    return request.response


@pytest.fixture(scope="module")
def probe_app(settings):
    config = configure(settings)
    config.add_view(probe, context=Root, name="mail-probe", permission=NO_PERMISSION_REQUIRED)
    app = config.make_wsgi_app()
    yield webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    app.registry["db.engine"].dispose()


@pytest.fixture
def probe_mailbox(probe_app, tmp_path):
    from pyramid_mailer.interfaces import IMailer

    from tests.conftest import Mailbox

    mailer = probe_app.app.registry.getUtility(IMailer).smtp_mailer
    mailer.directory = tmp_path / "mail"
    return Mailbox(mailer.directory)


def test_a_committed_request_sends_its_mail(probe_app, probe_mailbox):
    probe_app.get("/mail-probe", status=200)
    [message] = probe_mailbox.messages()
    assert message["To"] == "ines@example.org"
    assert message["From"] == "Datacapt <no-reply@datacapt.test>"
    assert message["Subject"] == "Your password was changed"
    body = message.get_content()
    assert "Hello Inès & co," in body  # plain text: nothing HTML-escaped
    assert "http://localhost/forgot-password" in body


def test_a_refused_request_sends_nothing(probe_app, probe_mailbox):
    probe_app.get("/mail-probe?refuse=1", status=422)
    assert probe_mailbox.messages() == []


def test_the_request_language_is_used_for_an_address(probe_app, probe_mailbox):
    probe_app.get("/mail-probe", headers={"Accept-Language": "fr"}, status=200)
    [message] = probe_mailbox.messages()
    assert message["Subject"] == "Votre mot de passe a été modifié"
    assert "Bonjour Inès & co," in message.get_content()


def _send_in_job(dbsession, to, locale="en"):
    send_mail_in(
        dbsession,
        to=to,
        subject=SUBJECT,
        template="mail/password_changed.jinja2",
        application_url="https://edc.example",
        locale=locale,
        name="Jan",
    )


def test_outside_a_request_mail_follows_the_job_transaction(registry, connection, mailbox):
    with transaction_scope(registry) as dbsession:
        _send_in_job(dbsession, "jan@example.org")
    [message] = mailbox.messages()
    assert "https://edc.example/forgot-password" in message.get_content()

    def failing_job() -> None:
        with transaction_scope(registry) as dbsession:
            _send_in_job(dbsession, "jan@example.org")
            raise RuntimeError("the job failed")

    with pytest.raises(RuntimeError):
        failing_job()
    assert len(mailbox.messages()) == 1


def test_a_user_gets_mail_in_their_own_language(registry, connection, mailbox):
    user = User(email="jan@example.org", name="Jan", locale="pl")
    with transaction_scope(registry) as dbsession:
        _send_in_job(dbsession, user, locale="de")
    [message] = mailbox.messages()
    assert message["To"] == "jan@example.org"
    assert message["Subject"] == "Twoje hasło zostało zmienione"


def test_a_user_without_a_language_gets_the_fallback(registry, connection, mailbox):
    with transaction_scope(registry) as dbsession:
        _send_in_job(dbsession, User(email="jan@example.org", name="Jan"), locale="de")
    assert mailbox.messages()[0]["Subject"] == "Ihr Passwort wurde geändert"


def test_an_explicit_abort_sends_nothing(registry, connection, mailbox):
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    _send_in_job(get_tm_session(registry, manager), "jan@example.org")
    manager.abort()
    assert mailbox.messages() == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"mail.top_level_directory": "var/mail"}, "mail.default_sender"),
        ({"mail.default_sender": "a@b.example"}, "DATACAPT_MAIL_HOST"),
    ],
)
def test_mail_settings_are_checked_at_start(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        make_mailer(settings)


def test_production_settings_build_an_smtp_mailer():
    mailer = make_mailer(
        {
            "mail.default_sender": "edc@hospital.example",
            "mail.host": "smtp.hospital.example",
            "mail.port": "587",
            "mail.tls": "true",
            "mail.username": "edc",
            "mail.password": "from-the-environment",
        }
    )
    assert mailer.smtp_mailer.hostname == "smtp.hospital.example"
    assert mailer.smtp_mailer.port == 587
    assert mailer.smtp_mailer.force_tls
    assert mailer.default_sender == "edc@hospital.example"
