"""The request's path read at once (``datacapt.resources.path``): its entities are the
session's own, as a query would have left them, on both databases."""

from __future__ import annotations

from pyramid.testing import DummyRequest
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from datacapt.models import Site, Study, Subject
from datacapt.resources.path import ATTRIBUTE, UNKNOWN, known, load_path
from tests.factories import build_world


def walked(dbsession: Session, path: str) -> DummyRequest:
    request = DummyRequest(path=path)
    request.dbsession = dbsession
    load_path(request, frozenset())
    return request


def test_the_path_s_entities_are_persistent_and_read_every_column(dbsession, registry):
    world = build_world(dbsession, registry)
    world.sites["par01"].country = "FR"
    world.study.languages = ["en", "pl"]
    study_id, site_id = world.study.id, world.sites["par01"].id
    dbsession.flush()
    dbsession.expunge_all()

    request = walked(dbsession, "/acme/demo/subjects/par01-0001/screening/demographics/")
    study = known(request, "study", world.tenant.id, "demo")
    subject, site = known(request, "subject", study_id, "par01-0001")
    assert all(inspect(entity).persistent for entity in (study, subject, site))
    assert dbsession.get(Study, study_id) is study
    assert dbsession.get(Subject, subject.id) is subject
    # columns the path does not select load when read
    assert (site.country, study.languages) == ("FR", ["en", "pl"])
    assert not dbsession.dirty

    site.target_enrolment = 40
    dbsession.flush()
    dbsession.expire_all()
    assert dbsession.get(Site, site_id).target_enrolment == 40


def test_an_entity_the_session_holds_already_is_the_one_the_path_gives(dbsession, registry):
    world = build_world(dbsession, registry)
    request = walked(dbsession, "/acme/demo/subjects/ber01-0001/")
    assert known(request, "tenant", "acme") is world.tenant
    assert known(request, "study", world.tenant.id, "demo") is world.study
    assert known(request, "subject", world.study.id, "ber01-0001") == (
        world.subjects["ber01-0001"],
        world.sites["ber01"],
    )
    assert known(request, "subject", world.study.id, "nobody") is UNKNOWN  # not on the path
    assert walked(dbsession, "/acme/nothing/").__dict__[ATTRIBUTE] == {
        ("tenant", "acme"): world.tenant,
        ("study", world.tenant.id, "nothing"): None,
    }
