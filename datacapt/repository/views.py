"""The subject repository's pages: persons (search, register, view, change, link), their
rights requests, and the DPO's pages (the access log and its CSV, erasure decisions,
retention). Every read of personal data is logged in the access log."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from datacapt.htmx import page_view, redirect
from datacapt.i18n import _, request_today
from datacapt.models import AccessBundle, ErasureRequest, Person, Site, Study
from datacapt.pagination import page_number
from datacapt.permissions import Permission
from datacapt.repository import access_log, keys, rights, services
from datacapt.resources import PersonResource, RepositoryResource
from datacapt.validation import ValidationError


def _scopes(request: Request, tenant_id: int) -> list[tuple[int, frozenset[int] | None]]:
    return services.pii_scopes(request.identity, tenant_id)


def _register_sites(request: Request, tenant_id: int) -> list[tuple[Site, str]]:
    """The sites where the user may register persons (where they see personal data)."""
    found = []
    for study_id, site_ids in _scopes(request, tenant_id):
        statement = (
            select(Site, Study.code)
            .join(Study, Study.id == Site.study_id)
            .where(Site.study_id == study_id, Study.tenant_id == tenant_id)
        )
        if site_ids is not None:
            statement = statement.where(Site.id.in_(sorted(site_ids)))
        found.extend((site, code) for site, code in request.dbsession.execute(statement))
    return found


# --- persons ---------------------------------------------------------------------------------


@page_view(RepositoryResource, "repository/list.jinja2", Permission.VIEW_TENANT)
def person_list(context: RepositoryResource, request: Request) -> dict[str, Any]:
    scopes = _scopes(request, context.tenant.id)
    search = request.GET.get("q", "").strip()[:200]
    page = services.persons_page(
        request.dbsession,
        request.registry,
        context.tenant.id,
        scopes,
        page_number(request.GET.get("page")),
        search=search,
    )
    persons = [person for person, _study, _site in page.items]
    opened = (
        services.read_listed(
            request.dbsession,
            request.registry,
            request.actor,
            context.tenant.id,
            persons,
            action="search" if search else "view",
            purpose="identification",
        )
        if scopes and (persons or search)
        else {}
    )
    return {
        "page": page,
        "opened": opened,
        "search": search,
        "can_register": bool(scopes),
        "is_dpo": request.has_permission(Permission.DPO, context),
    }


def _person_form(values: Any) -> dict[str, str]:
    return {name: str(values.get(name, ""))[:254] for name in services.FIELDS}


@page_view(
    RepositoryResource, "repository/register.jinja2", Permission.VIEW_TENANT, name="register"
)
def register_page(context: RepositoryResource, request: Request) -> dict[str, Any]:
    sites = _register_sites(request, context.tenant.id)
    if not sites:
        raise HTTPForbidden()
    return {"sites": sites, "values": {}, "errors": {}, "field_labels": services.FIELD_LABELS}


@view_config(
    context=RepositoryResource,
    name="register",
    request_method="POST",
    renderer="repository/register.jinja2",
    permission=Permission.VIEW_TENANT,
)
def register(context: RepositoryResource, request: Request) -> Any:
    sites = _register_sites(request, context.tenant.id)
    if not sites:
        raise HTTPForbidden()
    chosen = next(
        ((site, code) for site, code in sites if str(site.id) == request.POST.get("site")), None
    )
    errors: dict[str, Any] = {}
    data = None
    try:
        data = services.clean(_person_form(request.POST), request_today(request))
    except ValidationError as error:
        errors[error.field] = error.message
    if chosen is None:
        errors["site"] = _("Choose one of your sites.")
    if errors or data is None or chosen is None:
        request.response.status_int = 422
        return {
            "sites": sites,
            "values": _person_form(request.POST),
            "errors": errors,
            "field_labels": services.FIELD_LABELS,
        }
    site, _code = chosen
    study = request.dbsession.get(Study, site.study_id)
    person = services.register(
        request.dbsession, request.registry, request.actor, study, site, data
    )
    request.session.flash(
        request.localizer.translate(
            _("Person ${reference} is registered.", mapping={"reference": person.reference})
        )
    )
    return redirect(request, request.resource_path(context, person.reference, ""))


def _person_page(request: Request, context: PersonResource, **extra: Any) -> dict[str, Any]:
    person = context.person
    links = services.links_of(request.dbsession, person)
    requests = request.dbsession.scalars(
        select(ErasureRequest)
        .where(ErasureRequest.person_id == person.id)
        .order_by(ErasureRequest.id.desc())
    ).all()
    return {
        "person": person,
        "data": None,
        "purpose": "",
        "purposes": services.PURPOSES,
        "field_labels": services.FIELD_LABELS,
        "links": links,
        "bundles": rights.bundles_of(request.dbsession, person),
        "erasure_requests": requests,
        "errors": {},
        "can_edit": request.has_permission(Permission.CHANGE_CONTACT, context),
        "can_link": request.has_permission(Permission.ENROL_SUBJECT, context),
        **extra,
    }


@page_view(PersonResource, "repository/person.jinja2", Permission.VIEW_PII)
def person_view(context: PersonResource, request: Request) -> dict[str, Any]:
    purpose = request.GET.get("purpose", "")
    extra: dict[str, Any] = {}
    if purpose in services.PURPOSES and context.person.shredded_at is None:
        extra["data"] = services.read(
            request.dbsession, request.registry, request.actor, context.person, purpose=purpose
        )
        extra["purpose"] = purpose
    elif purpose:
        extra["errors"] = {"purpose": _("Choose why you need these details.")}
    return _person_page(request, context, **extra)


@page_view(PersonResource, "repository/edit.jinja2", Permission.CHANGE_CONTACT, name="edit")
def edit_page(context: PersonResource, request: Request) -> dict[str, Any]:
    if context.person.shredded_at is not None:
        raise HTTPNotFound()
    data = services.read(
        request.dbsession,
        request.registry,
        request.actor,
        context.person,
        purpose="correction",
        action="edit",
    )
    return {
        "values": {name: getattr(data, name) for name in services.FIELDS},
        "errors": {},
        "field_labels": services.FIELD_LABELS,
        "reason": "",
    }


@view_config(
    context=PersonResource,
    name="edit",
    request_method="POST",
    renderer="repository/edit.jinja2",
    permission=Permission.CHANGE_CONTACT,
)
def edit(context: PersonResource, request: Request) -> Any:
    if context.person.shredded_at is not None:
        raise HTTPNotFound()
    values = _person_form(request.POST)
    reason = request.POST.get("reason", "")[:500]
    try:
        data = services.clean(values, request_today(request))
        services.change(
            request.dbsession, request.registry, request.actor, context.person, data, reason
        )
    except ValidationError as error:
        request.response.status_int = 422
        return {
            "values": values,
            "errors": {error.field: error.message},
            "field_labels": services.FIELD_LABELS,
            "reason": reason,
        }
    request.session.flash(request.localizer.translate(_("The details were saved.")))
    return redirect(request, request.resource_path(context, ""))


def _person_error(request: Request, context: PersonResource, error: ValidationError) -> Any:
    request.response.status_int = 422
    return _person_page(request, context, errors={error.field: error.message})


@view_config(
    context=PersonResource,
    name="link",
    request_method="POST",
    renderer="repository/person.jinja2",
    permission=Permission.ENROL_SUBJECT,
)
def link(context: PersonResource, request: Request) -> Any:
    visible = request.identity.visible_site_ids
    study = request.dbsession.get(Study, context.person.study_id)
    sites = visible(study)

    def may_link(subject: Any) -> bool:
        return sites is None or subject.site_id in sites

    try:
        services.link(
            request.dbsession,
            request.actor,
            context.person,
            request.POST.get("label", "")[:40],
            may_link,
        )
    except ValidationError as error:
        return _person_error(request, context, error)
    request.session.flash(request.localizer.translate(_("The study subject is linked.")))
    return redirect(request, request.resource_path(context, ""))


@view_config(
    context=PersonResource,
    name="erasure",
    request_method="POST",
    renderer="repository/person.jinja2",
    permission=Permission.VIEW_PII,
)
def request_erasure(context: PersonResource, request: Request) -> Any:
    try:
        rights.request_erasure(
            request.dbsession,
            request.actor,
            context.person,
            note=request.POST.get("note", "")[:500],
        )
    except ValidationError as error:
        return _person_error(request, context, error)
    request.session.flash(
        request.localizer.translate(_("The erasure request waits for the DPO's decision."))
    )
    return redirect(request, request.resource_path(context, ""))


@view_config(
    context=PersonResource,
    name="bundle",
    request_method="POST",
    renderer="repository/person.jinja2",
    permission=Permission.VIEW_PII,
)
def request_bundle(context: PersonResource, request: Request) -> Any:
    try:
        rights.request_bundle(request.dbsession, request.actor, context.person)
    except ValidationError as error:
        return _person_error(request, context, error)
    request.session.flash(request.localizer.translate(_("The access bundle is being prepared.")))
    return redirect(request, request.resource_path(context, ""))


def _bundle(request: Request, context: PersonResource, raw: Any) -> AccessBundle:
    try:
        bundle_id = int(raw)
    except (TypeError, ValueError):
        raise HTTPNotFound() from None
    bundle = request.dbsession.get(AccessBundle, bundle_id)
    if bundle is None or bundle.person_id != context.person.id:
        raise HTTPNotFound()
    return bundle


@view_config(
    context=PersonResource,
    name="release",
    request_method="POST",
    renderer="repository/person.jinja2",
    permission=Permission.VIEW_PII,
)
def release_bundle(context: PersonResource, request: Request) -> Any:
    bundle = _bundle(request, context, request.POST.get("bundle"))
    try:
        rights.release_bundle(request.dbsession, request.actor, bundle)
    except ValidationError as error:
        return _person_error(request, context, error)
    request.session.flash(request.localizer.translate(_("The access bundle is released.")))
    return redirect(request, request.resource_path(context, ""))


@view_config(
    context=PersonResource,
    name="bundle-file",
    request_method="GET",
    permission=Permission.VIEW_PII,
)
def bundle_file(context: PersonResource, request: Request) -> Response:
    bundle = _bundle(request, context, request.GET.get("id"))
    kind = request.GET.get("kind")
    if kind not in ("json", "pdf"):
        raise HTTPNotFound()
    try:
        content = rights.open_bundle(
            request.dbsession, request.registry, request.actor, context.person, bundle, kind
        )
    except (ValidationError, keys.Shredded):
        raise HTTPNotFound() from None
    return Response(
        body=content,
        content_type="application/json" if kind == "json" else "application/pdf",
        content_disposition=f'attachment; filename="{context.person.reference}.{kind}"',
        cache_control="no-store",
    )


# --- the DPO's pages -------------------------------------------------------------------------


def _log_filters(request: Request) -> access_log.Filters:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    action = request.GET.get("action", "")
    return access_log.Filters(
        user=request.GET.get("user", "").strip()[:254],
        reference=request.GET.get("person", "").strip().upper()[:20],
        action=action if action in services.ACTIONS else "",
        since=day("since"),
        until=day("until"),
    )


@page_view(RepositoryResource, "repository/access_log.jinja2", Permission.DPO, name="access-log")
def access_log_page(context: RepositoryResource, request: Request) -> dict[str, Any]:
    filters = _log_filters(request)
    page = access_log.page(
        request.dbsession, context.tenant.id, filters, page_number(request.GET.get("page"))
    )
    return {
        "page": page,
        "filters": filters,
        "actions": services.ACTIONS,
        "purposes": services.PURPOSES,
        "field_labels": services.FIELD_LABELS,
        "query": filters.query(),
    }


@view_config(
    context=RepositoryResource,
    name="access-log.csv",
    request_method="GET",
    permission=Permission.DPO,
)
def access_log_csv(context: RepositoryResource, request: Request) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["at", "user", "actor", "person", "subject", "action", "fields", "purpose"])
    for row, email, reference, subject in access_log.rows(
        request.dbsession, context.tenant.id, _log_filters(request)
    ):
        writer.writerow(
            [
                row.at.isoformat(timespec="seconds"),
                email or "",
                row.actor,
                reference or "",
                subject or "",
                row.action,
                row.fields,
                row.purpose,
            ]
        )
    return Response(
        body=buffer.getvalue().encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        content_disposition='attachment; filename="pii-access-log.csv"',
    )


@page_view(RepositoryResource, "repository/erasure.jinja2", Permission.DPO, name="erasure-requests")
def erasure_requests(context: RepositoryResource, request: Request) -> dict[str, Any]:
    return {
        "pending": rights.pending_requests(request.dbsession, context.tenant.id),
        "errors": {},
        "failed": None,
    }


@view_config(
    context=RepositoryResource,
    name="decide",
    request_method="POST",
    renderer="repository/erasure.jinja2",
    permission=Permission.DPO,
)
def decide(context: RepositoryResource, request: Request) -> Any:
    try:
        request_id = int(request.POST.get("request", ""))
    except ValueError:
        raise HTTPNotFound() from None
    row = request.dbsession.get(ErasureRequest, request_id)
    if row is None or row.tenant_id != context.tenant.id:
        raise HTTPNotFound()
    person = request.dbsession.get(Person, row.person_id)
    decision = request.POST.get("decision")
    try:
        if decision not in ("erase", "refuse"):
            raise ValidationError("decision", _("Choose erase or refuse."))
        rights.decide_erasure(
            request.dbsession,
            request.actor,
            person,
            row,
            erase=decision == "erase",
            reason=request.POST.get("reason", "")[:2000],
        )
    except ValidationError as error:
        request.response.status_int = 422
        return {
            "pending": rights.pending_requests(request.dbsession, context.tenant.id),
            "errors": {error.field: error.message},
            "failed": row.id,
        }
    request.session.flash(request.localizer.translate(_("The decision is recorded.")))
    return redirect(request, request.resource_path(context, "@@erasure-requests"))


@page_view(RepositoryResource, "repository/retention.jinja2", Permission.DPO, name="retention")
def retention_page(context: RepositoryResource, request: Request) -> dict[str, Any]:
    return _retention(request, context)


def _retention(request: Request, context: RepositoryResource, **extra: Any) -> dict[str, Any]:
    return {
        "policies": rights.policies(request.dbsession, context.tenant.id),
        "categories": rights.CATEGORIES,
        "runs": rights.runs(request.dbsession, context.tenant.id),
        "held": rights.held(request.dbsession, context.tenant.id),
        "errors": {},
        **extra,
    }


@view_config(
    context=RepositoryResource,
    name="retention",
    request_method="POST",
    renderer="repository/retention.jinja2",
    permission=Permission.DPO,
)
def retention_post(context: RepositoryResource, request: Request) -> Any:
    try:
        if "hold" in request.POST:
            reference = request.POST.get("reference", "").strip().upper()[:20]
            person = request.dbsession.scalar(
                select(Person).where(
                    Person.tenant_id == context.tenant.id, Person.reference == reference
                )
            )
            if person is None:
                raise ValidationError("reference", _("No person with this reference."))
            rights.set_legal_hold(
                request.dbsession,
                request.actor,
                person,
                hold=request.POST.get("hold") == "on",
                reason=request.POST.get("hold_reason", "")[:500],
            )
        elif "run" in request.POST:
            rights.run_retention(
                request.dbsession,
                request.actor,
                context.tenant.id,
                dry_run=request.POST.get("run") != "apply",
            )
        else:
            try:
                days = int(request.POST.get("days", ""))
            except ValueError:
                raise ValidationError(
                    "days", _("Enter a number of days between 1 and 73050.")
                ) from None
            rights.set_policy(
                request.dbsession,
                request.actor,
                context.tenant.id,
                request.POST.get("category", ""),
                days,
            )
    except ValidationError as error:
        request.response.status_int = 422
        return _retention(request, context, errors={error.field: error.message})
    request.session.flash(request.localizer.translate(_("Done.")))
    return redirect(request, request.resource_path(context, "@@retention"))
