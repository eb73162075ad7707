"""Site staff entering a subject's questionnaire on their behalf: the subject stays the
originator, the staff member is recorded as the one who entered, with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from datacapt.cli.demo_design import epro_definition
from datacapt.ecrf.versions import draft, published_design
from datacapt.epro import services
from datacapt.models import AuditEvent, EproOccurrence, ItemValue, OccurrenceStatus
from tests.factories import SETUP, build_world, login, publish_definition


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    publish_definition(
        dbsession, world.study, draft(dbsession, world.study), epro_definition(), "ePRO"
    )
    return world


def occurrence_for(dbsession, world, label="par01-0001", opens=-1, closes=7):
    now = datetime.now(UTC)
    return services.schedule_occurrence(
        dbsession,
        world.subjects[label],
        published_design(dbsession, world.study).definition,
        visit="baseline",
        form="wellbeing",
        opens_at=now + timedelta(days=opens),
        closes_at=now + timedelta(days=closes),
        actor=SETUP,
    )


def test_staff_enter_for_the_subject_with_a_reason(testapp, dbsession, world):
    occurrence = occurrence_for(dbsession, world)
    coordinator = world.users["coordinator"]
    login(testapp, coordinator.email)
    listing = testapp.get("/acme/demo/subjects/par01-0001/@@epro-link")
    link = listing.html.find("a", string="Enter on the subject's behalf")
    page = testapp.get(link["href"])
    form = page.forms["on-behalf-form"]
    form["pain"] = "1"
    form["pain_score"] = "2"
    form["sleep"] = "1"
    refused = form.submit("action", value="submit", status=422)  # no reason given
    assert refused.html.find(id="field-reason-error")
    assert dbsession.scalar(select(ItemValue)) is None
    form = refused.forms["on-behalf-form"]
    form["reason"] = "phone"
    form.submit("action", value="submit").follow()
    dbsession.expire_all()
    row = dbsession.get(EproOccurrence, occurrence.id)
    assert row.status is OccurrenceStatus.COMPLETED
    assert row.entered_by_id == coordinator.id and row.entry_reason == "Phone interview"
    values = dbsession.scalars(select(AuditEvent).where(AuditEvent.action == "entry.value_changed"))
    values = values.all()
    subject_id = world.subjects["par01-0001"].id
    assert values and all(
        e.by_subject_id == subject_id and e.actor_id == coordinator.id for e in values
    )
    assert all(e.reason == "Phone interview" for e in values)
    marked = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "epro.entered_on_behalf")
    )
    assert marked.actor_id == coordinator.id and marked.by_subject_id == subject_id
    listing = testapp.get("/acme/demo/subjects/par01-0001/@@epro-link")
    assert listing.html.find(class_="entered-on-behalf")


def test_a_required_answer_is_asked_for_on_submit(testapp, dbsession, world):
    occurrence = occurrence_for(dbsession, world)
    login(testapp, world.users["coordinator"].email)
    page = testapp.get(
        f"/acme/demo/subjects/par01-0001/@@epro-on-behalf?occurrence={occurrence.id}"
    )
    form = page.forms["on-behalf-form"]
    form["reason"] = "paper"
    refused = form.submit("action", value="submit", status=422)
    assert refused.html.find(id="item-pain")["aria-invalid"] == "true"


def test_readers_are_refused_and_other_sites_subjects_not_found(testapp, dbsession, world):
    own = occurrence_for(dbsession, world)
    other = occurrence_for(dbsession, world, "ber01-0001")
    login(testapp, world.users["monitor"].email)
    testapp.get(f"/acme/demo/subjects/par01-0001/@@epro-on-behalf?occurrence={own.id}", status=403)
    testapp.reset()
    login(testapp, world.users["coordinator"].email)
    testapp.get(
        f"/acme/demo/subjects/ber01-0001/@@epro-on-behalf?occurrence={other.id}", status=404
    )
    # another subject's occurrence through this subject: not found
    testapp.get(
        f"/acme/demo/subjects/par01-0001/@@epro-on-behalf?occurrence={other.id}", status=404
    )
    page = testapp.get(f"/acme/demo/subjects/par01-0001/@@epro-on-behalf?occurrence={own.id}")
    token = page.forms["on-behalf-form"]["csrf_token"].value
    testapp.post(
        "/acme/demo/subjects/par01-0001/@@epro-on-behalf",
        {"csrf_token": token, "occurrence": str(other.id), "reason": "phone", "pain": "0"},
        status=404,
    )
    assert dbsession.scalar(select(ItemValue)) is None


def test_a_closed_questionnaire_is_not_entered(testapp, dbsession, world):
    late = occurrence_for(dbsession, world, opens=-9, closes=-2)
    login(testapp, world.users["coordinator"].email)
    page = testapp.get(f"/acme/demo/subjects/par01-0001/@@epro-on-behalf?occurrence={late.id}")
    form = page.forms["on-behalf-form"]
    form["reason"] = "paper"
    form["pain"] = "0"
    form.submit("action", value="save", status=422)
    assert dbsession.scalar(select(ItemValue)) is None
