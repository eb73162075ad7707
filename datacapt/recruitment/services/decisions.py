"""What staff decide on an application: a verdict over the computed eligibility, and moves along
the pipeline (:mod:`datacapt.recruitment.pipeline`), enrolment making a study subject linked to
the person in the repository. Each audited, with its reason.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.models import Application, ApplicationMove, ApplicationState, Person, Site, Study
from datacapt.recruitment import pipeline as moves
from datacapt.repository import services as repository
from datacapt.subjects import services as subjects
from datacapt.validation import ValidationError


def override(
    dbsession: Session, application: Application, value: str, reason: str, actor: Actor
) -> None:
    """A person's verdict over the computed one ("" takes the override back)."""
    reason = reason.strip()
    if value not in ("yes", "no", ""):
        raise ValidationError("override", _("Choose eligible or not eligible."))
    if not reason:
        raise ValidationError("reason", _("Say why."))
    new = {"yes": True, "no": False, "": None}[value]
    old = application.override
    if new == old:
        return
    application.override = new
    application.override_reason = reason[:1000] if new is not None else None
    application.override_by_id = actor.user_id if new is not None else None
    application.override_at = datetime.now(UTC) if new is not None else None
    application.updated_at = datetime.now(UTC)
    audit.record(
        dbsession,
        actor,
        tenant_id=application.tenant_id,
        action="application.eligibility_overridden",
        entity_type="application",
        entity_id=application.id,
        study_id=application.study_id,
        site_id=application.site_id,
        field="eligible",
        old=application.eligible if old is None else old,
        new=application.decided,
        reason=reason[:500],
    )


def move(
    dbsession: Session,
    application: Application,
    study: Study,
    site: Site,
    target: str,
    reason: str,
    actor: Actor,
) -> None:
    """Move ``application`` to ``target``; enrolling makes a study subject at its site and
    links the person to them in the repository."""
    try:
        to = ApplicationState(target)
    except ValueError:
        raise ValidationError("state", _("Choose where the application goes.")) from None
    if not moves.may_move(application.state, to):
        raise ValidationError("state", _("The application cannot go there from where it is."))
    reason = reason.strip()
    if to in (ApplicationState.SCREEN_FAILED, ApplicationState.WITHDRAWN) and not reason:
        raise ValidationError("reason", _("Say why."))
    old = application.state
    if to is ApplicationState.ENROLLED:
        subject = subjects.enrol(dbsession, study, site, None, actor=actor)
        person = dbsession.get(Person, application.person_id)
        assert person is not None
        repository.link(dbsession, actor, person, subject.label, lambda _subject: True)
        application.subject_id = subject.id
    now = datetime.now(UTC)
    application.state, application.updated_at = to, now
    dbsession.add(
        ApplicationMove(
            application_id=application.id,
            from_state=old.value,
            to_state=to.value,
            reason=reason[:1000],
            by_id=actor.user_id,
            at=now,
        )
    )
    audit.record(
        dbsession,
        actor,
        tenant_id=application.tenant_id,
        action="application.moved",
        entity_type="application",
        entity_id=application.id,
        study_id=application.study_id,
        site_id=application.site_id,
        subject_id=application.subject_id,
        field="state",
        old=old.value,
        new=to.value,
        reason=reason[:500] or None,
    )
