"""What other capabilities publish, as rules see it: each reaction turns an event into a
:class:`~datacapt.automations.rules.Happening` and records the runs of the rules it matches,
in the event's own transaction (the automation outbox)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from datacapt import clock
from datacapt.automations import services
from datacapt.automations.rules import Happening, Trigger
from datacapt.consent.events import ConsentEvent, ConsentSigned
from datacapt.ecrf.definition import form_items
from datacapt.ecrf.values import parse_value
from datacapt.entry import services as entry
from datacapt.entry.events import FormSaved
from datacapt.epro.events import EproCompleted, EproMissed, EproSent, EproStatusChanged
from datacapt.models import ConsentDocument, ConsentVersion, Site, Study, Subject, SubjectStatus
from datacapt.queries.events import QueryRaised
from datacapt.randomisation.events import SubjectRandomised
from datacapt.subjects.events import SubjectStatusChanged

#: After review, queries and notifications have reacted to a save.
ORDER = 40
EXCLUDED = (SubjectStatus.WITHDRAWN, SubjectStatus.SCREEN_FAILURE)


def _happening(
    dbsession: Session,
    trigger: Trigger,
    subject: Subject,
    key: str,
    values: dict[str, Any] | None = None,
    changed: frozenset[str] = frozenset(),
    **payload: Any,
) -> Happening:
    site = dbsession.get(Site, subject.site_id)
    study = dbsession.get(Study, subject.study_id)
    shown: dict[str, Any] = {"site": site.code if site else "", "status": subject.status.value}
    shown.update({key: value for key, value in payload.items() if isinstance(value, str)})
    shown.update(values or {})
    return Happening(
        trigger=trigger,
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        key=key,
        subject_id=subject.id,
        site_id=subject.site_id,
        values=shown,
        payload=payload,
        today=clock.today_in(ZoneInfo(study.timezone)) if study is not None else None,
        changed=changed,
    )


def _record(dbsession: Session, happening: Happening) -> None:
    with dbsession.no_autoflush:
        services.record_runs(dbsession, happening)


def subject_status_changed(event: SubjectStatusChanged) -> None:
    subject = event.subject
    if subject.status is SubjectStatus.INCLUDED:
        trigger = Trigger.SUBJECT_INCLUDED
    elif subject.status in EXCLUDED:
        trigger = Trigger.SUBJECT_EXCLUDED
    else:
        return
    key = f"subject-status:{event.audit_event_id}"
    _record(event.dbsession, _happening(event.dbsession, trigger, subject, key))


def form_saved(event: FormSaved) -> None:
    """An item answered: the items the save changed (by name) are what rules watch; the
    condition reads the whole form's values."""
    dbsession, instance = event.dbsession, event.instance
    if not event.changed or not services.watched(
        dbsession, instance.study_id, Trigger.ITEM_ANSWERED
    ):
        return
    subject = dbsession.get(Subject, instance.subject_id)
    posted = entry.posted_from_stored(event.form, event.rows)
    items = form_items(event.form)
    values = {item.name: parse_value(item, posted.get(item.name, [])).value for item in items}
    changed = [item for item in items if item.oid in event.changed]
    events = sorted(
        str(row.audit_event_id) for oid in event.changed if (row := event.rows.get(oid))
    )
    key = f"form-save:{instance.id}:{instance.lock_version}:{','.join(events)[:120]}"
    happening = _happening(
        dbsession,
        Trigger.ITEM_ANSWERED,
        subject,
        key,
        values,
        frozenset(item.name for item in changed),
        visit=instance.visit,
        form=instance.form,
        form_instance_id=instance.id,
    )
    _record(dbsession, happening)


def query_raised(event: QueryRaised) -> None:
    query, dbsession = event.query, event.dbsession
    if query.id is None:
        dbsession.flush()
    subject = dbsession.get(Subject, query.subject_id)
    happening = _happening(
        dbsession, Trigger.QUERY_CREATED, subject, f"query:{query.id}", query_id=query.id
    )
    _record(dbsession, happening)


def subject_randomised(event: SubjectRandomised) -> None:
    randomisation = event.randomisation
    if randomisation.id is None:
        event.dbsession.flush()
    key = f"randomisation:{randomisation.id}"
    _record(event.dbsession, _happening(event.dbsession, Trigger.RANDOMISED, event.subject, key))


EPRO_TRIGGERS: dict[type[EproStatusChanged], Trigger] = {
    EproSent: Trigger.EPRO_SENT,
    EproCompleted: Trigger.EPRO_COMPLETED,
    EproMissed: Trigger.EPRO_MISSED,
}


def epro_status_changed(event: EproStatusChanged) -> None:
    trigger = EPRO_TRIGGERS.get(type(event))
    if trigger is None:
        return
    occurrence = event.occurrence
    happening = _happening(
        event.dbsession,
        trigger,
        event.subject,
        f"{trigger.value}:{occurrence.id}",
        visit=occurrence.visit,
        form=occurrence.form,
        occurrence_id=occurrence.id,
    )
    _record(event.dbsession, happening)


def consent_event(event: ConsentEvent) -> None:
    """Consent signed (countersigned) or refused: ``[document]`` is the document's title."""
    record = event.record
    trigger = (
        Trigger.CONSENT_SIGNED if isinstance(event, ConsentSigned) else Trigger.CONSENT_REJECTED
    )
    version = event.dbsession.get(ConsentVersion, record.version_id)
    document = event.dbsession.get(ConsentDocument, version.document_id)
    happening = _happening(
        event.dbsession,
        trigger,
        event.dbsession.get(Subject, record.subject_id),
        f"{trigger.value}:{record.id}",
        document=document.title,
        consent_id=record.id,
    )
    _record(event.dbsession, happening)
