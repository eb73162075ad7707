"""One actor, one shape: who acts, from where, in which request, on every event of an act,
whether it comes from a person's request or from a job."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from datacapt.actor import Actor
from datacapt.models import AuditEvent
from tests.factories import build_world, login

DEMOGRAPHICS = "/acme/demo/subjects/par01-0001/screening/demographics/"


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def test_every_event_of_a_save_and_its_reactions_carries_the_requests_actor(
    testapp, world, dbsession
):
    """The save, the warning's system query raised in reaction, all by the same person in the
    same request from the same address."""
    login(testapp, world.users["coordinator"].email)
    form = testapp.get(DEMOGRAPHICS).forms["entry-form"]
    form["height_cm"] = "135"  # out of the soft range: a warning, then a system query
    form["sex"] = "1"
    assert form.submit().status_int == 303
    events = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == world.subjects["par01-0001"].id)
    ).all()
    saved = [e for e in events if e.action.startswith(("entry.", "query."))]
    assert {e.action for e in saved} >= {
        "entry.form_started",
        "entry.value_changed",
        "query.raised",
    }
    assert {(e.actor_id, e.ip) for e in saved} == {(world.users["coordinator"].id, "10.0.0.1")}
    assert len({e.request_id for e in saved}) == 1 and saved[0].request_id


def test_a_job_acts_as_the_system_unless_it_acts_for_an_account():
    job = Actor.system("nightly-export")
    assert job.is_system and job.auth_method == "system" and job.name == "nightly-export"
    assert job.audited() == {
        "actor_id": None,
        "on_behalf_of_id": None,
        "request_id": None,
        "ip": None,
        "by_subject_id": None,
    }
    scheduled = Actor.system("scheduled-export", on_behalf_of=5)
    assert scheduled.is_system and scheduled.audited()["on_behalf_of_id"] == 5
    demo = Actor.system("demo", user_id=7)
    assert not demo.is_system and demo.audited()["actor_id"] == 7
    assert job.as_user(3).name == "nightly-export" and job.as_user(3).user_id == 3
