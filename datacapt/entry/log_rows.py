"""Log rows (an adverse event, a medication): adding one to a visit, and taking one out, which
keeps it (marked removed) with the reason in the audit trail."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.ecrf.definition import Form
from datacapt.entry import services
from datacapt.i18n import _
from datacapt.models import FormInstance, FormStatus, Subject, VisitInstance
from datacapt.reactions import Reactions
from datacapt.subjects.services import new_visit_instance
from datacapt.validation import ValidationError


class RowChanged(Exception):
    """The row was changed since the page that removes it was shown."""


def add_row(
    dbsession: Session,
    subject: Subject,
    visit: VisitInstance | None,
    where: tuple[str, int],
    form: Form,
    version_number: int,
    actor: Actor,
) -> FormInstance:
    """A new row of log ``form`` in the visit ``where`` (name, repeat), which is entered for
    the first time when ``visit`` is None; audited."""
    if visit is None:
        visit = new_visit_instance(dbsession, subject, where[0], where[1], actor)
    last = (
        dbsession.scalar(
            select(FormInstance.repeat)
            .where(FormInstance.visit_instance_id == visit.id, FormInstance.form == form.name)
            .order_by(FormInstance.repeat.desc())
            .limit(1)
        )
        or 0
    )
    row = services.new_form_instance(
        dbsession,
        subject,
        visit,
        form.name,
        last + 1,
        status=FormStatus.IN_PROGRESS,
        version_number=version_number,
        actor=actor,
    )
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="entry.row_added",
        entity_type="form_instance",
        entity_id=row.id,
        new={"form": form.name, "row": row.repeat},
    )
    return row


def remove_row(
    dbsession: Session,
    subject: Subject,
    instance: FormInstance,
    reason: str,
    lock: int | None,
    actor: Actor,
    reactions: Reactions,
) -> None:
    """Mark the row removed with ``reason`` (ValidationError without one; RowChanged when
    ``lock`` is not the row's version), audited; what covered its data reacts (the
    signatures covering it break)."""
    reason = reason.strip()[: services.MAX_REASON]
    if not reason:
        raise ValidationError("remove-reason", _("Give the reason for removing this row."))
    if lock != instance.lock_version:
        raise RowChanged()
    services.remove_row(dbsession, subject, instance, reason, actor, reactions)
