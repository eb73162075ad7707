"""Pages of the tree's upper nodes: your studies, a tenant, a study, its sites, one site."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request

from datacapt.htmx import page_view
from datacapt.pagination import page_number
from datacapt.permissions import Permission
from datacapt.resources import Root, SiteResource, SitesResource, StudyResource, TenantResource
from datacapt.studies.services import (
    all_tenants,
    roles_by_study,
    site_summaries,
    visible_studies,
)
from datacapt.subjects.services import STATUS_LABELS, SUBJECTS_PER_PAGE, subjects_page


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
    }


@page_view(SitesResource, "studies/sites.jinja2", Permission.VIEW_STUDY)
def site_list(context: SitesResource, request: Request) -> dict[str, Any]:
    return {"sites": _sites(context, request)}


@page_view(SiteResource, "studies/site.jinja2", Permission.VIEW_SITE)
def site_home(context: SiteResource, request: Request) -> dict[str, Any]:
    page = None
    if request.has_permission(Permission.VIEW_SUBJECT, context):
        page = subjects_page(
            request.dbsession,
            context.study,
            frozenset({context.site.id}),
            page_number(request.GET.get("page")),
            SUBJECTS_PER_PAGE,
        )
    return {"page": page, "status_labels": STATUS_LABELS}
