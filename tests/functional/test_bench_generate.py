"""The benchmark's bulk loader writes what the services write: same rows, same audit events, a
chain that verifies. (The loader lives in ``bench/``; only this equivalence is tested.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bench.generate import Entry, Options, Writer, clock, make_setup
from datacapt import audit
from datacapt.actor import Actor
from datacapt.ecrf.definition import SdvRequirement
from datacapt.entry import services as entry
from datacapt.models import (
    AuditEvent,
    EntryWarning,
    FormInstance,
    ItemValue,
    Query,
    QueryMessage,
    SdvStatus,
    Subject,
    SubjectStatus,
    VisitInstance,
)
from datacapt.reactions import reactions_of
from datacapt.subjects.services import change_status, enrol

#: The date expressions and status rules read as today.
TODAY = date(2026, 6, 15)
#: Out of the soft range, firing the warning check, a missing-data code, a hidden item.
ENTRY = Entry(
    posted={
        "f01_i01": ["250"],
        "f01_i03": ["70"],
        "f01_i04": ["03/02/2026"],
        "f01_i05": ["2"],
        "f01_i06": ["120"],
        "f01_i07": ["12.5"],
        "f01_i08": ["0"],
        "f01_i09": ["shown only for yes"],
    },
    missing={"f01_i02": "NK"},
    complete=True,
)


def _through_services(dbsession, registry, setup, actor_id):
    site = setup.sites[0]
    actor = Actor(actor_id, request_id="r" * 32)
    subject = enrol(dbsession, setup.study, site, "s001-0001", actor=actor)
    change_status(
        dbsession, subject, SubjectStatus.INCLUDED, reason="", on=None, today=TODAY, actor=actor
    )
    form = setup.definition.forms[0]
    scope = entry.EntryScope(
        study=setup.study,
        subject=subject,
        visit="screening",
        visit_repeat=1,
        form=form,
        form_repeat=1,
        version_number=setup.version_number,
    )
    typed = entry.EntryRequest(ENTRY.posted, ENTRY.missing, ENTRY.complete, "", None, TODAY)
    entry.save_form(
        dbsession,
        scope,
        setup.definition,
        typed,
        missing_codes={"NK", "NA"},
        actor=actor,
        reactions=reactions_of(registry),
    )
    dbsession.flush()
    return subject.id


def _in_bulk(dbsession, setup):
    ticks = clock(datetime.now(UTC), timedelta(seconds=1))
    writer = Writer(dbsession.connection(), setup, ticks, today=TODAY)
    writer.start(dbsession)
    subject = writer.enrol(setup.sites[0], "s001-0002", SubjectStatus.INCLUDED, None, None)
    visit = writer.visit(subject, "screening")
    writer.save(subject, visit, setup.definition.forms[0], ENTRY)
    writer.flush(dbsession)
    return subject["id"]


def _rows(dbsession, model, subject_id, *skip):
    """A subject's rows without what differs by nature (ids, times, the subject's own label)."""
    ignored = {"id", "created_at", "updated_at", "raised_at", "label", *skip}
    if model is ItemValue:
        statement = select(ItemValue).join(
            FormInstance, FormInstance.id == ItemValue.form_instance_id
        )
        statement = statement.where(FormInstance.subject_id == subject_id)
    elif model is EntryWarning:
        statement = select(EntryWarning).join(
            FormInstance, FormInstance.id == EntryWarning.form_instance_id
        )
        statement = statement.where(FormInstance.subject_id == subject_id)
    elif model is QueryMessage:
        statement = select(QueryMessage).join(Query, Query.id == QueryMessage.query_id)
        statement = statement.where(Query.subject_id == subject_id)
    else:
        column = model.id if model is Subject else model.subject_id
        statement = select(model).where(column == subject_id)
    return sorted(
        (
            {
                column.key: getattr(row, column.key)
                for column in model.__table__.columns
                if column.key not in ignored
            }
            for row in dbsession.scalars(statement)
        ),
        key=repr,
    )


@pytest.mark.parametrize("sdv", [SdvRequirement.ALL, SdvRequirement.NONE])
def test_the_bulk_loader_writes_the_rows_and_audit_events_of_the_services(dbsession, registry, sdv):
    """With SDV required the save also sets the form's SDV status (and raises its lock once more
    on the way); without, neither."""
    setup = make_setup(dbsession, registry, Options(subjects=2, forms=4, items=9, sites=1))
    forms = setup.definition.forms
    setup.definition = replace(setup.definition, forms=[replace(forms[0], sdv=sdv), *forms[1:]])
    actor_id = setup.coordinators[setup.sites[0].id]
    by_services = _through_services(dbsession, registry, setup, actor_id)
    in_bulk = _in_bulk(dbsession, setup)
    dbsession.expire_all()

    for model, skip in (
        (Subject, ()),
        (VisitInstance, ("subject_id",)),
        (FormInstance, ("subject_id", "visit_instance_id")),
        (ItemValue, ("form_instance_id", "audit_event_id")),
        (EntryWarning, ("form_instance_id",)),
        (Query, ("subject_id", "form_instance_id", "warning_id", "number")),
        (QueryMessage, ("query_id",)),
    ):
        expected = _rows(dbsession, model, by_services, *skip)
        assert expected, model
        assert _rows(dbsession, model, in_bulk, *skip) == expected, model

    awaiting = SdvStatus.AWAITING if sdv is SdvRequirement.ALL else SdvStatus.NOT_REQUIRED
    assert {row.sdv_status for row in dbsession.scalars(select(FormInstance))} == {awaiting}

    def trail(subject_id, label):
        """The subject's events, without what differs by nature (its id, label, times)."""
        events = dbsession.scalars(
            select(AuditEvent).where(AuditEvent.subject_id == subject_id).order_by(AuditEvent.id)
        )
        kept = set(audit.HASHED_FIELDS) - {"chain", "seq", "occurred_at", "subject_id", "entity_id"}
        return [
            {name: getattr(event, name) for name in kept - {"request_id", "new_value"}}
            | {"new_value": (event.new_value or "").replace(label, "LABEL")}
            for event in events
        ]

    expected = trail(by_services, "s001-0001")
    # enrolled, included (its status, then its day 0), started, 8 values, a query raised by
    # each of the 2 warnings
    assert len(expected) == 2 + 1 + 1 + 9 - 1 + 2
    assert trail(in_bulk, "s001-0002") == expected
    values = {row.item_oid: row for row in dbsession.scalars(select(ItemValue))}
    for row in values.values():
        event = dbsession.get(AuditEvent, row.audit_event_id)
        assert event.field == row.item_oid and event.action == "entry.value_changed"
    assert all(report.intact for report in audit.verify_all(dbsession, setup.tenant_id))
