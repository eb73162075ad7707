"""The daily notification digest: mailed to whoever chose it, in their language, with counts and
a link only (never a subject); what it counted is not counted again; from the worker's job or
from ``datacapt notifications digest`` (for cron)."""

from __future__ import annotations

import pytest

from datacapt.db import transaction_scope
from datacapt.jobs import JOBS, JobContext
from datacapt.models import NotificationKind
from datacapt.notifications.digest import DIGEST
from datacapt.notifications.services import Choice, set_choices
from tests.factories import add_queries, build_world

K = NotificationKind


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def choose_mail(dbsession, user, *kinds):
    set_choices(dbsession, user.id, [Choice(kind, True, True) for kind in kinds])
    dbsession.flush()


def run_digest(registry):
    with transaction_scope(registry) as session:
        JOBS[DIGEST](JobContext(registry, session))


def test_the_digest_counts_and_links_in_each_reader_s_language(world, dbsession, registry, mailbox):
    coordinator, investigator = world.users["coordinator"], world.users["investigator"]
    choose_mail(dbsession, coordinator, K.QUERY_RAISED)
    choose_mail(dbsession, investigator, K.QUERY_RAISED)
    investigator.locale = "fr"
    dbsession.flush()
    add_queries(dbsession, world)  # query 1 at par01: the coordinator and the investigator
    run_digest(registry)
    mails = {mail["To"]: mail for mail in mailbox.messages()}
    assert set(mails) == {coordinator.email, investigator.email}  # the others chose no mail
    english = mails[coordinator.email]
    assert english["Subject"] == "Your Datacapt notifications"
    body = english.get_content()
    assert "- Queries raised at your sites: 1" in body
    assert "http://localhost/notifications" in body
    assert "par01" not in body and "consent" not in body  # counts only: no subject, no form
    french = mails[investigator.email]
    assert french["Subject"] == "Vos notifications Datacapt"
    assert "- Requêtes ouvertes sur vos centres : 1" in french.get_content()


def test_what_a_digest_counted_is_not_counted_again(world, dbsession, registry, mailbox):
    choose_mail(dbsession, world.users["coordinator"], K.QUERY_RAISED)
    add_queries(dbsession, world)
    run_digest(registry)
    run_digest(registry)
    assert len(mailbox.messages()) == 1


def test_the_command_line_sends_the_digest_or_says_what_it_needs(datacapt):
    assert datacapt("notifications", "digest") == (0, "0 digest(s) sent\n", "")
    code, _, err = datacapt("notifications", "digest", "--url", "edc.example")
    assert code == 2 and "datacapt.public_url" in err
