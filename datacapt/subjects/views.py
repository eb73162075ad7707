"""The subject list of a study and a subject's page."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request

from datacapt.htmx import page_view
from datacapt.pagination import page_number
from datacapt.permissions import Permission
from datacapt.resources import SubjectResource, SubjectsResource
from datacapt.subjects.services import STATUS_LABELS, SUBJECTS_PER_PAGE, subjects_page


@page_view(SubjectsResource, "subjects/list.jinja2", Permission.LIST_SUBJECTS)
def subject_list(context: SubjectsResource, request: Request) -> dict[str, Any]:
    site_ids = request.identity.visible_site_ids(context.study)
    page = subjects_page(
        request.dbsession,
        context.study,
        site_ids,
        page_number(request.GET.get("page")),
        SUBJECTS_PER_PAGE,
    )
    return {"page": page, "status_labels": STATUS_LABELS}


@page_view(SubjectResource, "subjects/subject.jinja2", Permission.VIEW_SUBJECT)
def subject_home(context: SubjectResource, request: Request) -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS}
