"""Log rows (an adverse event, a medication): adding one to a visit, and taking one out, which
keeps it (marked removed) with the reason in the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.ecrf.definition import Form
from datacapt.entry import services
from datacapt.i18n import _
from datacapt.models import FormInstance, FormStatus, Subject, VisitInstance
from datacapt.review import services as review
from datacapt.subjects.services import new_visit_instance
from datacapt.validation import ValidationError

Write = Callable[..., Any]


class RowChanged(Exception):
    """The row was changed since the page that removes it was shown."""


def subject_event(subject: Subject, instance: FormInstance | None) -> dict[str, Any]:
    """The scope of an audit event about one form instance of ``subject``."""
    return {
        "tenant_id": subject.tenant_id,
        "study_id": subject.study_id,
        "site_id": subject.site_id,
        "subject_id": subject.id,
        "entity_type": "form_instance",
        "entity_id": instance.id if instance else None,
    }


def add_row(
    dbsession: Session,
    subject: Subject,
    visit: VisitInstance | None,
    where: tuple[str, int],
    form: Form,
    version_number: int,
    actor_id: int | None,
    write: Write,
) -> FormInstance:
    """A new row of log ``form`` in the visit ``where`` (name, repeat), which is entered for
    the first time when ``visit`` is None; audited."""
    if visit is None:
        visit = new_visit_instance(dbsession, subject, where[0], where[1], actor_id)
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
        actor_id=actor_id,
    )
    write(
        **{**subject_event(subject, row), "entity_id": row.id},
        action="entry.row_added",
        new={"form": form.name, "row": row.repeat},
    )
    return row


def remove_row(
    dbsession: Session,
    subject: Subject,
    instance: FormInstance,
    reason: str,
    lock: int | None,
    write: Write,
) -> None:
    """Mark the row removed with ``reason`` (ValidationError without one; RowChanged when
    ``lock`` is not the row's version), audited; the signatures covering it break."""
    reason = reason.strip()[: services.MAX_REASON]
    if not reason:
        raise ValidationError("remove-reason", _("Give the reason for removing this row."))
    if lock != instance.lock_version:
        raise RowChanged()
    old = instance.status
    instance.status, instance.status_reason = FormStatus.REMOVED, reason
    write(
        **subject_event(subject, instance),
        action="entry.row_removed",
        field="status",
        old=old.value,
        new=FormStatus.REMOVED.value,
        reason=reason,
    )
    review.break_signatures(
        dbsession,
        instance,
        write,
        subject_event(subject, instance),
        _("The signed data changed."),
    )
