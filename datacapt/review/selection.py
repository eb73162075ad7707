"""Which forms an action applies to: the form, every form of a visit or a casebook, or on a
site's screens the forms or subjects ticked (always within the node's study and site)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.models import FormInstance, FormStatus, Site, Subject
from datacapt.resources import FormEntryResource, SiteResource, SubjectResource, VisitResource

Context = FormEntryResource | VisitResource | SubjectResource | SiteResource


@dataclass(frozen=True)
class Chosen:
    """What a site's screen posted: form ids (None when none were ticked), subject labels."""

    form_ids: list[int] | None = None
    subject_labels: list[str] = field(default_factory=list)


def subject_ids(dbsession: Session, site: Site, labels: list[str]) -> list[int]:
    """The subjects of ``site`` among ``labels``."""
    if not labels:
        return []
    return list(
        dbsession.scalars(
            select(Subject.id).where(Subject.site_id == site.id, Subject.label.in_(labels))
        )
    )


def instances(dbsession: Session, context: Context, chosen: Chosen) -> list[FormInstance]:
    """The form instances an action on ``context`` applies to (one query at most)."""
    where: list[Any]
    if isinstance(context, FormEntryResource):
        return [context.instance] if context.instance is not None else []
    if isinstance(context, VisitResource):
        if context.instance is None:
            return []
        where = [FormInstance.visit_instance_id == context.instance.id]
    elif isinstance(context, SubjectResource):
        where = [FormInstance.subject_id == context.subject.id]
    else:
        where = [FormInstance.site_id == context.site.id]
        if chosen.form_ids is not None:
            where.append(FormInstance.id.in_(chosen.form_ids))
        else:
            where.append(
                FormInstance.subject_id.in_(
                    subject_ids(dbsession, context.site, chosen.subject_labels)
                )
            )
    return list(
        dbsession.scalars(
            select(FormInstance)
            .where(FormInstance.study_id == context.study.id, *where)
            .order_by(FormInstance.id)
        )
    )


def site_subjects(dbsession: Session, site: Site) -> list[Subject]:
    """The subjects of the site holding data, for batch signing."""
    with_forms = select(FormInstance.subject_id).where(
        FormInstance.site_id == site.id, FormInstance.status != FormStatus.REMOVED
    )
    return list(
        dbsession.scalars(
            select(Subject)
            .where(Subject.site_id == site.id, Subject.id.in_(with_forms))
            .order_by(Subject.label)
        )
    )
