"""Pages of the tree's upper nodes: your studies, a tenant, a study, its sites, one site."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from datacapt.accounts import data_access
from datacapt.config import get_app_settings
from datacapt.htmx import page_view, redirect
from datacapt.i18n import LANGUAGES, _, timezone_choices
from datacapt.models.studies import DEFAULT_LANGUAGES, DEFAULT_SUBJECT_ID_PATTERN
from datacapt.permissions import Permission
from datacapt.resources import Root, SiteResource, SitesResource, StudyResource, TenantResource
from datacapt.studies.places import country_choices, country_name
from datacapt.studies.services import (
    all_tenants,
    change_site,
    change_study,
    create_site,
    create_study,
    roles_by_study,
    site_summaries,
    visible_studies,
)
from datacapt.validation import ValidationError, errors_of


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


def _country_namer(request: Request) -> Callable[[str | None], str]:
    return lambda code: country_name(code, request.locale_name)


@page_view(StudyResource, "studies/study.jinja2", Permission.VIEW_STUDY)
def study_home(context: StudyResource, request: Request) -> dict[str, Any]:
    sites = _sites(context, request)
    site_codes = {summary.site.id: summary.site.code for summary in sites}
    return {
        "sites": sites,
        "subject_total": sum(summary.subjects for summary in sites),
        "roles": request.identity.roles_in_study(context.study.id),
        "site_codes": site_codes,
        "country_name": _country_namer(request),
        "admin_access": data_access.administrators_with_data_roles(
            request.dbsession, context.study
        ),
    }


@page_view(SitesResource, "studies/sites.jinja2", Permission.VIEW_STUDY)
def site_list(context: SitesResource, request: Request) -> dict[str, Any]:
    return {"sites": _sites(context, request), "country_name": _country_namer(request)}


def _choices(request: Request) -> dict[str, Any]:
    """What the study and site forms offer: languages, zones, countries in the reader's tongue."""
    return {
        "language_choices": list(LANGUAGES.items()),
        "timezone_choices": [(zone, zone) for zone in timezone_choices()],
        "country_choices": country_choices(request.locale_name),
    }


def _refused(request: Request, error: ValidationError, values: Any, **extra: Any) -> dict[str, Any]:
    request.response.status_int = 422
    return {**_choices(request), "errors": errors_of(error), "values": values, **extra}


def _posted_study(request: Request) -> dict[str, Any]:
    post = request.POST
    return {
        "title": post.get("title", "")[:1000],
        "languages": post.getall("languages")[: len(LANGUAGES) + 1],
        "timezone": post.get("timezone", "")[:100],
        "subject_id_pattern": post.get("subject_id_pattern", "")[:200],
    }


def _form_values(posted: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {**posted, **more, "languages": set(posted["languages"])}


@page_view(TenantResource, "studies/new_study.jinja2", Permission.CREATE_STUDY, name="new-study")
def new_study_page(context: TenantResource, request: Request) -> dict[str, Any]:
    values = {
        "languages": set(DEFAULT_LANGUAGES),
        "timezone": get_app_settings(request.registry).default_timezone,
        "subject_id_pattern": DEFAULT_SUBJECT_ID_PATTERN,
    }
    return {**_choices(request), "values": values, "errors": {}}


@view_config(
    context=TenantResource,
    name="new-study",
    request_method="POST",
    renderer="studies/new_study.jinja2",
    permission=Permission.CREATE_STUDY,
)
def create_study_view(context: TenantResource, request: Request) -> Any:
    posted = _posted_study(request)
    code = request.POST.get("code", "")[:100]
    try:
        study = create_study(request.dbsession, context.tenant, code, actor=request.actor, **posted)
    except ValidationError as error:
        return _refused(request, error, _form_values(posted, code=code))
    request.session.flash(request.localizer.translate(_("The study was created.")))
    return redirect(request, request.resource_url(context, study.code, ""))


def _settings(context: StudyResource) -> dict[str, Any]:
    study = context.study
    return {
        "values": {
            "title": study.title,
            "languages": set(study.languages),
            "timezone": study.timezone,
            "subject_id_pattern": study.subject_id_pattern,
            "missing_codes": "\n".join(f"{code}, {label}" for code, label in study.missing_codes),
            "visit_window_blocking": "1" if study.visit_window_blocking else "",
            "epro_accounts": "1" if study.epro_accounts else "",
            "subject_messages": "1" if study.subject_messages else "",
        },
        "errors": {},
    }


@page_view(StudyResource, "studies/settings.jinja2", Permission.MANAGE_STUDY, name="settings")
def settings_page(context: StudyResource, request: Request) -> dict[str, Any]:
    return {**_choices(request), **_settings(context)}


@view_config(
    context=StudyResource,
    name="settings",
    request_method="POST",
    renderer="studies/settings.jinja2",
    permission=Permission.MANAGE_STUDY,
)
def save_settings(context: StudyResource, request: Request) -> Any:
    """The study's title, languages, zone, subject ID pattern, missing-data codes and whether a
    visit date outside its window is refused."""
    posted = _posted_study(request)
    missing_codes = request.POST.get("missing_codes", "")[:5000]
    blocking = request.POST.get("visit_window_blocking") == "1"
    epro_accounts = request.POST.get("epro_accounts") == "1"
    subject_messages = request.POST.get("subject_messages") == "1"
    try:
        change_study(
            request.dbsession,
            context.study,
            request.actor,
            missing_codes=missing_codes,
            visit_window_blocking=blocking,
            epro_accounts=epro_accounts,
            subject_messages=subject_messages,
            **posted,
        )
    except ValidationError as error:
        values = _form_values(
            posted,
            missing_codes=missing_codes,
            visit_window_blocking="1" if blocking else "",
            epro_accounts="1" if epro_accounts else "",
            subject_messages="1" if subject_messages else "",
        )
        return _refused(request, error, values)
    request.session.flash(request.localizer.translate(_("The settings were saved.")))
    return redirect(request, request.resource_url(context, "@@settings"))


def _posted_site(request: Request) -> dict[str, Any]:
    post = request.POST
    return {
        "name": post.get("name", "")[:1000],
        "country": post.get("country", "")[:10],
        "timezone": post.get("timezone", "")[:100],
        "target": post.get("target", "")[:20],
    }


@page_view(SitesResource, "studies/site_form.jinja2", Permission.CREATE_SITE, name="new")
def new_site_page(context: SitesResource, request: Request) -> dict[str, Any]:
    return {**_choices(request), "values": {}, "errors": {}, "creating": True}


@view_config(
    context=SitesResource,
    name="new",
    request_method="POST",
    renderer="studies/site_form.jinja2",
    permission=Permission.CREATE_SITE,
)
def create_site_view(context: SitesResource, request: Request) -> Any:
    posted = _posted_site(request)
    code = request.POST.get("code", "")[:100]
    try:
        create_site(request.dbsession, context.study, code, actor=request.actor, **posted)
    except ValidationError as error:
        return _refused(request, error, {**posted, "code": code}, creating=True)
    request.session.flash(request.localizer.translate(_("The site was created.")))
    return redirect(request, request.resource_url(context))


@page_view(SiteResource, "studies/site_form.jinja2", Permission.MANAGE_STUDY, name="edit")
def edit_site_page(context: SiteResource, request: Request) -> dict[str, Any]:
    site = context.site
    values = {
        "name": site.name,
        "country": site.country or "",
        "timezone": site.timezone or "",
        "target": str(site.target_enrolment or ""),
    }
    return {**_choices(request), "values": values, "errors": {}, "creating": False}


@view_config(
    context=SiteResource,
    name="edit",
    request_method="POST",
    renderer="studies/site_form.jinja2",
    permission=Permission.MANAGE_STUDY,
)
def save_site(context: SiteResource, request: Request) -> Any:
    posted = _posted_site(request)
    try:
        change_site(request.dbsession, context.site, request.actor, **posted)
    except ValidationError as error:
        return _refused(request, error, posted, creating=False)
    request.session.flash(request.localizer.translate(_("The site was saved.")))
    return redirect(request, request.resource_url(context.__parent__))
