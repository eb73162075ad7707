"""Pages of the tree's upper nodes: your studies, a tenant, a study, its sites, one site."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from datacapt import audit
from datacapt.accounts import data_access
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources import Root, SitesResource, StudyResource, TenantResource
from datacapt.studies.services import (
    all_tenants,
    check_pattern,
    parse_missing_codes,
    roles_by_study,
    site_summaries,
    visible_studies,
)
from datacapt.validation import ValidationError


@page_view(Root, "studies/home.jinja2", Permission.SIGNED_IN)
def home(context: Root, request: Request) -> dict[str, Any]:
    identity = request.identity
    tenants = identity.tenants()
    if identity.user.is_system_admin:
        tenants = [(tenant.slug, tenant.name) for tenant in all_tenants(request.dbsession)]
    return {"tenants": tenants, "roles": roles_by_study(identity)}


@page_view(TenantResource, "studies/tenant.jinja2", Permission.VIEW_TENANT)
def tenant_home(context: TenantResource, request: Request) -> dict[str, Any]:
    return {
        "studies": visible_studies(request.dbsession, context.tenant, request.identity),
        "roles": roles_by_study(request.identity),
    }


def _sites(context: StudyResource | SitesResource, request: Request) -> list[Any]:
    site_ids = request.identity.visible_site_ids(context.study)
    return site_summaries(request.dbsession, context.study, site_ids)


@page_view(StudyResource, "studies/study.jinja2", Permission.VIEW_STUDY)
def study_home(context: StudyResource, request: Request) -> dict[str, Any]:
    sites = _sites(context, request)
    site_codes = {summary.site.id: summary.site.code for summary in sites}
    return {
        "sites": sites,
        "subject_total": sum(summary.subjects for summary in sites),
        "roles": request.identity.roles_in_study(context.study.id),
        "site_codes": site_codes,
        "admin_access": data_access.administrators_with_data_roles(
            request.dbsession, context.study
        ),
    }


@page_view(SitesResource, "studies/sites.jinja2", Permission.VIEW_STUDY)
def site_list(context: SitesResource, request: Request) -> dict[str, Any]:
    return {"sites": _sites(context, request)}


def _settings(context: StudyResource, **extra: Any) -> dict[str, Any]:
    study = context.study
    return {
        "values": {
            "subject_id_pattern": study.subject_id_pattern,
            "missing_codes": "\n".join(f"{code}, {label}" for code, label in study.missing_codes),
            "visit_window_blocking": "1" if study.visit_window_blocking else "",
        },
        "errors": {},
        **extra,
    }


@page_view(StudyResource, "studies/settings.jinja2", Permission.MANAGE_STUDY, name="settings")
def settings_page(context: StudyResource, request: Request) -> dict[str, Any]:
    return _settings(context)


@view_config(
    context=StudyResource,
    name="settings",
    request_method="POST",
    renderer="studies/settings.jinja2",
    permission=Permission.MANAGE_STUDY,
)
def save_settings(context: StudyResource, request: Request) -> Any:
    """The subject ID pattern, the missing-data codes sites may use, and whether a visit date
    outside its window is refused."""
    pattern = request.POST.get("subject_id_pattern", "").strip()[:60]
    errors: dict[str, Any] = {}
    codes: list[list[str]] = []
    try:
        check_pattern(pattern)
    except ValidationError as error:
        errors[error.field] = error.message
    try:
        codes = parse_missing_codes(request.POST.get("missing_codes", "")[:5000])
    except ValidationError as error:
        errors[error.field] = error.message
    if errors:
        request.response.status_int = 422
        return _settings(context, errors=errors, values=request.POST)
    study = context.study
    blocking = request.POST.get("visit_window_blocking") == "1"
    old = {
        "subject_id_pattern": study.subject_id_pattern,
        "missing_codes": study.missing_codes,
        "visit_window_blocking": study.visit_window_blocking,
    }
    study.subject_id_pattern, study.missing_codes = pattern, codes
    study.visit_window_blocking = blocking
    audit.record_changes(
        request.dbsession,
        request.actor,
        old,
        {
            "subject_id_pattern": pattern,
            "missing_codes": codes,
            "visit_window_blocking": blocking,
        },
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="study.settings_changed",
        entity_type="study",
        entity_id=study.id,
    )
    request.session.flash(request.localizer.translate(_("The settings were saved.")))
    return redirect(request, request.resource_url(context, "@@settings"))
