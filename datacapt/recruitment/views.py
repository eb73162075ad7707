"""Staff pages: the study's recruitments, one recruitment's settings and pipeline, and one
application (answers, eligibility and its reason, override, moves). Identity is shown only to
holders of VIEW_PII, and every showing is logged in the access log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.httpexceptions import HTTPForbidden
from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.view import view_config

from datacapt.ecrf.definition import text_in
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import ApplicationState, Recruitment, Site
from datacapt.permissions import Permission
from datacapt.recruitment import campaigns, duplicates, pipeline
from datacapt.recruitment.services import configuring, decisions, listing
from datacapt.repository import services as repository
from datacapt.resources import ApplicationResource, RecruitmentResource, RecruitmentsResource
from datacapt.validation import ValidationError, whole_number

LIST = "recruitment/list.jinja2"
EDIT = "recruitment/edit.jinja2"
PIPELINE = "recruitment/pipeline.jinja2"
APPLICATION = "recruitment/application.jinja2"


def _definition(context: Any) -> Any:
    design = context.study_node.design
    return design.definition if design else None


def _sites(request: Request, context: Any) -> list[Site]:
    return configuring.study_sites(request.dbsession, context.study)


@page_view(RecruitmentsResource, LIST, Permission.VIEW_STUDY)
def recruitments(context: RecruitmentsResource, request: Request) -> dict[str, Any]:
    """Their progress (applications, enrolled against the target) for whoever sees the study."""
    return {
        "rows": configuring.recruitments(request.dbsession, context.study),
        "can_manage": request.has_permission(Permission.MANAGE_RECRUITMENT, context),
        "can_follow": request.has_permission(Permission.RECRUIT, context),
    }


def _edit_page(
    context: Any, request: Request, recruitment: Recruitment | None, **extra: Any
) -> dict[str, Any]:
    definition = _definition(context)
    values = extra.pop("values", None)
    chosen = extra.pop("chosen", None)
    if values is None:
        if recruitment is None:
            values = {"form": "", "criteria": "", "state": "open"}
        else:
            values = {
                "title": recruitment.title,
                "target": str(recruitment.target),
                "opens_on": recruitment.opens_on.isoformat(),
                "closes_on": recruitment.closes_on.isoformat(),
                "form": recruitment.form,
                "criteria": recruitment.criteria,
                "state": recruitment.state.value,
            }
            chosen = [str(s) for s in configuring.site_ids_of(request.dbsession, recruitment)]
    return {
        "recruitment": recruitment,
        "public_url": request.resource_url(request.root, "apply", recruitment.token)
        if recruitment
        else None,
        "form_options": [
            (form.name, text_in(form.title, request.locale_name, definition.default_language))
            for form in (definition.forms if definition else [])
        ],
        "definition": definition,
        "sites": _sites(request, context),
        "values": values,
        "chosen": chosen or [],
        "reachable": campaigns.reachable(request.dbsession, recruitment) if recruitment else 0,
        "campaigns": campaigns.campaigns_of(request.dbsession, recruitment) if recruitment else [],
        "errors": {},
        **extra,
    }


@page_view(RecruitmentsResource, EDIT, Permission.MANAGE_RECRUITMENT, name="new")
def new_page(context: RecruitmentsResource, request: Request) -> dict[str, Any]:
    return _edit_page(context, request, None)


@page_view(RecruitmentResource, EDIT, Permission.MANAGE_RECRUITMENT, name="edit")
def edit_page(context: RecruitmentResource, request: Request) -> dict[str, Any]:
    return _edit_page(context, request, context.recruitment)


def _save(context: Any, request: Request, recruitment: Recruitment | None) -> Any:
    data, errors = configuring.parse_recruitment(
        request.POST, request.POST.getall("sites"), _sites(request, context), _definition(context)
    )
    if data is None:
        request.response.status_int = 422
        return _edit_page(
            context,
            request,
            recruitment,
            values=dict(request.POST),
            chosen=request.POST.getall("sites"),
            errors=errors,
        )
    saved = configuring.save(request.dbsession, context.study, recruitment, data, request.actor)
    request.session.flash(request.localizer.translate(_("The recruitment was saved.")))
    url = request.resource_url(context.study_node, "recruitment", str(saved.number), "@@edit")
    return redirect(request, url)


@view_config(
    context=RecruitmentsResource,
    name="new",
    request_method="POST",
    renderer=EDIT,
    permission=Permission.MANAGE_RECRUITMENT,
)
def create(context: RecruitmentsResource, request: Request) -> Any:
    return _save(context, request, None)


@view_config(
    context=RecruitmentResource,
    name="edit",
    request_method="POST",
    renderer=EDIT,
    permission=Permission.MANAGE_RECRUITMENT,
)
def edit(context: RecruitmentResource, request: Request) -> Any:
    return _save(context, request, context.recruitment)


@view_config(
    context=RecruitmentResource,
    name="campaign",
    request_method="POST",
    renderer=EDIT,
    permission=Permission.MANAGE_RECRUITMENT,
)
def campaign(context: RecruitmentResource, request: Request) -> Any:
    """Mail the public page to the persons who opted in (a job, after this request commits)."""
    recruitment = context.recruitment
    try:
        campaigns.request_campaign(
            request.dbsession,
            recruitment,
            configuring.is_open(recruitment, request.today),
            request.actor,
            application_url=request.application_url,
            locale=request.locale_name,
        )
    except ValidationError as error:
        request.response.status_int = 422
        return _edit_page(context, request, recruitment, errors={error.field: error.message})
    request.session.flash(request.localizer.translate(_("The campaign is being sent.")))
    return redirect(request, request.resource_url(context, "@@edit"))


# --- the pipeline ----------------------------------------------------------------------------


def _filters(request: Request) -> listing.Filters:
    state = request.GET.get("state", "")
    eligible = request.GET.get("eligible", "")
    return listing.Filters(
        state=ApplicationState(state) if state in set(ApplicationState) else None,
        eligible=eligible if eligible in ("yes", "no", "undecided") else "",
    )


@page_view(RecruitmentResource, PIPELINE, Permission.RECRUIT)
def pipeline_page(context: RecruitmentResource, request: Request) -> dict[str, Any]:
    recruitment = context.recruitment
    filters = _filters(request)
    found = listing.pipeline(
        request.dbsession,
        request.registry,
        request.actor,
        recruitment,
        filters,
        whole_number(request.GET.get("page")) or 1,
        sites=listing.sites_holding(request.identity, context.study.id, Permission.RECRUIT),
        pii_sites=listing.sites_holding(request.identity, context.study.id, Permission.VIEW_PII),
    )
    query = {
        "state": filters.state.value if filters.state else "",
        "eligible": filters.eligible,
    }
    return {
        "recruitment": recruitment,
        "open_now": configuring.is_open(recruitment, request.today),
        "counts": found.counts,
        "page": found.page,
        "names": found.names,
        "duplicates": found.duplicates,
        "filters": filters,
        "query": {k: v for k, v in query.items() if v},
        "labels": pipeline.LABELS,
        "public_url": request.resource_url(request.root, "apply", recruitment.token),
        "can_manage": request.has_permission(Permission.MANAGE_RECRUITMENT, context),
    }


# --- an application --------------------------------------------------------------------------


def _application(context: ApplicationResource, request: Request, **extra: Any) -> dict[str, Any]:
    application = context.application
    definition = _definition(context)
    details = listing.application_details(
        request.dbsession,
        request.registry,
        request.actor,
        application,
        definition.form(context.recruitment.form) if definition else None,
        request.today,
        with_identity=request.has_permission(Permission.VIEW_PII, context),
        pii_sites=_pii_sites(context, request),
    )
    return {
        "application": application,
        "person": details.person,
        "identity": details.identity,
        "duplicate": details.duplicate,
        "duplicate_identity": details.duplicate_identity,
        "state": details.state,
        "history": details.history,
        "definition": definition,
        "field_labels": repository.FIELD_LABELS,
        "reasons": configuring.criteria_lines(application.eligibility_reason),
        "labels": pipeline.LABELS,
        "moves": pipeline.next_states(application.state),
        "can_enrol": request.has_permission(Permission.ENROL_SUBJECT, context),
        "errors": {},
        "values": {},
        **extra,
    }


def _pii_sites(context: ApplicationResource, request: Request) -> frozenset[int] | None:
    return listing.sites_holding(request.identity, context.study.id, Permission.VIEW_PII)


@page_view(ApplicationResource, APPLICATION, Permission.RECRUIT)
def application_page(context: ApplicationResource, request: Request) -> dict[str, Any]:
    return _application(context, request)


@view_config(
    context=ApplicationResource,
    name="override",
    request_method="POST",
    renderer=APPLICATION,
    permission=Permission.RECRUIT,
)
def override(context: ApplicationResource, request: Request) -> Any:
    return _decide(
        context,
        request,
        lambda: decisions.override(
            request.dbsession,
            context.application,
            request.POST.get("override", ""),
            request.POST.get("reason", ""),
            request.actor,
        ),
        _("The eligibility was decided."),
    )


@view_config(
    context=ApplicationResource,
    name="move",
    request_method="POST",
    renderer=APPLICATION,
    permission=Permission.RECRUIT,
)
def move(context: ApplicationResource, request: Request) -> Any:
    target = request.POST.get("state", "")
    if target == ApplicationState.ENROLLED and not request.has_permission(
        Permission.ENROL_SUBJECT, context
    ):
        raise HTTPForbidden()
    return _decide(
        context,
        request,
        lambda: decisions.move(
            request.dbsession,
            context.application,
            context.study,
            context.site,
            target,
            request.POST.get("reason", ""),
            request.actor,
        ),
        _("The application was moved."),
    )


@view_config(
    context=ApplicationResource,
    name="link-person",
    request_method="POST",
    renderer=APPLICATION,
    permission=Permission.VIEW_PII,
)
def link_person(context: ApplicationResource, request: Request) -> Any:
    """The applicant is the person of the repository flagged as a possible duplicate: staff
    who see both say so, with a reason; the copy registered from the application goes."""
    return _decide(
        context,
        request,
        lambda: duplicates.link_duplicate(
            request.dbsession,
            context.application,
            request.POST.get("duplicate_reason", ""),
            request.actor,
            pii_sites=_pii_sites(context, request),
        ),
        _("The application was linked to the existing person."),
    )


def _decide(
    context: ApplicationResource,
    request: Request,
    act: Callable[[], object],
    done: TranslationString,
) -> Any:
    """One answer for every decision on an application: the page again with the refusal beside
    its field (422), or back to the application with ``done`` told."""
    try:
        act()
    except ValidationError as error:
        request.response.status_int = 422
        return _application(
            context, request, errors={error.field: error.message}, values=dict(request.POST)
        )
    request.session.flash(request.localizer.translate(done))
    return redirect(request, request.resource_url(context))
