"""The study's ePRO compliance page (under Reports): counts and a list, filtered by site,
questionnaire and subject, limited to the sites the reader may see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pyramid.request import Request

from datacapt.ecrf.versions import published_design
from datacapt.epro import compliance, services
from datacapt.htmx import page_view
from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources.reports import ReportsResource
from datacapt.studies.services import study_sites


@page_view(
    ReportsResource, "epro/compliance.jinja2", Permission.LIST_SUBJECTS, name="epro-compliance"
)
def compliance_page(context: ReportsResource, request: Request) -> dict[str, Any]:
    study = context.study
    visible = request.identity.visible_site_ids(study)
    sites = study_sites(request.dbsession, study, visible)
    design = published_design(request.dbsession, study)
    forms = services.questionnaires(design.definition) if design else []
    names = {form.name: form for _visit, form in forms}
    errors: dict[str, Any] = {}
    site_code = request.GET.get("site", "")
    site = next((s for s in sites if s.code == site_code), None)
    if site_code and site is None:
        errors["site"] = _("Choose one of the offered sites.")
    form = request.GET.get("questionnaire", "")
    if form and form not in names:
        errors["questionnaire"] = _("Choose one of the offered questionnaires.")
    subject = request.GET.get("subject", "").strip()[:40]
    if errors:
        request.response.status_int = 422
    found = compliance.compliance(
        request.dbsession,
        study,
        [s.id for s in sites] if visible is not None else None,
        datetime.now(UTC),
        site=site.id if site else None,
        form=form if form in names else None,
        subject=subject or None,
    )
    return {
        "found": found,
        "definition": design.definition if design else None,
        "site_options": [(s.code, s.code + " — " + s.name) for s in sites],
        "form_options": list(names.items()),
        "values": {"site": site_code, "questionnaire": form, "subject": subject},
        "errors": errors,
    }
