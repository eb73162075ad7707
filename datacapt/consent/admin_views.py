"""The study's consent pages: the dashboard of consents per site and status (names only with
the personal-data permission), the documents and their versions (study administrators), and the
study's consent settings."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from datacapt import audit
from datacapt.consent import documents, services
from datacapt.htmx import READ, redirect
from datacapt.i18n import _
from datacapt.models import ConsentDocument, Site
from datacapt.models.consent import VersionState
from datacapt.permissions import STUDY_ROLE_PERMISSIONS, Permission
from datacapt.resources.consent import ConsentResource, ConsentVersionResource
from datacapt.validation import ValidationError

STATUSES = (
    "needs_signature",
    "needs_countersignature",
    "signed",
    "rejected",
    "requires_reconsent",
    "withdrawn",
)


def _render(request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
    response = render_to_response(template, data, request=request)
    response.status_int = status
    return response


def pii_sites(request: Request, study_id: int) -> frozenset[int] | None:
    """The sites whose personal data the user may see (None: every site)."""
    found: set[int] = set()
    for grant in request.identity.roles_in_study(study_id):
        if Permission.VIEW_PII in STUDY_ROLE_PERMISSIONS[grant.role]:
            if grant.site_ids is None:
                return None
            found |= set(grant.site_ids)
    return frozenset(found)


@view_config(
    context=ConsentResource,
    request_method=READ,
    permission=Permission.LIST_SUBJECTS,
    renderer="consent/dashboard.jinja2",
)
def dashboard(context: ConsentResource, request: Request) -> dict[str, Any]:
    visible = request.identity.visible_site_ids(context.study)
    rows, counts = services.dashboard(request.dbsession, context.study, visible)
    named = pii_sites(request, context.study.id)
    shown = [row for row in rows if named is None or row.record.site_id in named]
    if any(row.record.signer_name for row in shown):
        audit.record(
            request.dbsession,
            request.actor,
            tenant_id=context.study.tenant_id,
            study_id=context.study.id,
            action="consent.pii_read",
            entity_type="study",
            entity_id=context.study.id,
            new={"records": len(shown)},
        )
    sites = sorted({code for code, _status in counts})
    return {
        "rows": rows,
        "counts": counts,
        "sites": sites,
        "statuses": STATUSES,
        "named": named,
        "status_of": services.status_of,
    }


# --- documents ---------------------------------------------------------------------------------


def _documents_data(request: Request, context: ConsentResource, **extra: Any) -> dict[str, Any]:
    return {
        "documents": documents.documents(request.dbsession, context.study),
        "settings": services.settings_of(request.dbsession, context.study),
        "errors": {},
        "values": {},
        **extra,
    }


@view_config(
    context=ConsentResource,
    name="documents",
    request_method=READ,
    permission=Permission.DESIGN_STUDY,
    renderer="consent/documents.jinja2",
)
def documents_page(context: ConsentResource, request: Request) -> dict[str, Any]:
    return _documents_data(request, context)


@view_config(
    context=ConsentResource,
    name="documents",
    request_method="POST",
    permission=Permission.DESIGN_STUDY,
)
def create_document(context: ConsentResource, request: Request) -> Response:
    languages = list(context.study.languages or ["en"])
    try:
        version = documents.create_document(
            request.dbsession,
            request.actor,
            context.study,
            request.POST.get("title", ""),
            languages[0],
        )
    except ValidationError as error:
        data = _documents_data(
            request, context, errors={error.field: error.message}, values=request.POST
        )
        return _render(request, "consent/documents.jinja2", data, 422)
    return redirect(request, request.resource_url(context, "versions", str(version.id), ""))


@view_config(
    context=ConsentResource,
    name="settings",
    request_method="POST",
    permission=Permission.MANAGE_STUDY,
)
def save_settings(context: ConsentResource, request: Request) -> Response:
    try:
        services.save_settings(
            request.dbsession,
            request.actor,
            context.study,
            request.POST.get("identity_method", ""),
            request.POST.get("block_entry") == "1",
        )
    except ValidationError as error:
        data = _documents_data(request, context, errors={error.field: error.message})
        return _render(request, "consent/documents.jinja2", data, 422)
    request.session.flash(request.localizer.translate(_("The consent settings are saved.")))
    return redirect(request, request.resource_url(context, "@@documents"))


# --- one version ---------------------------------------------------------------------------------


def _version_data(
    request: Request, context: ConsentVersionResource, **extra: Any
) -> dict[str, Any]:
    version = context.version
    languages = list(context.study.languages or ["en"])
    language = request.params.get("language", "")
    if language not in languages:
        language = languages[0]
    text = version.content.get(language, {})
    sites = request.dbsession.scalars(
        select(Site).where(Site.study_id == context.study.id).order_by(Site.code)
    ).all()
    return {
        "version": version,
        "document": request.dbsession.get(ConsentDocument, version.document_id),
        "language": language,
        "languages": languages,
        "text": text,
        "questions": documents.questions_text(text.get("questions", [])),
        "sites": sites,
        "draft": version.state is VersionState.DRAFT,
        "errors": {},
        "values": None,
        **extra,
    }


@view_config(
    context=ConsentVersionResource,
    request_method=READ,
    permission=Permission.DESIGN_STUDY,
    renderer="consent/version.jinja2",
)
def version_page(context: ConsentVersionResource, request: Request) -> dict[str, Any]:
    return _version_data(request, context)


@view_config(
    context=ConsentVersionResource,
    name="save",
    request_method="POST",
    permission=Permission.DESIGN_STUDY,
)
def save(context: ConsentVersionResource, request: Request) -> Response:
    post = request.POST
    sites = request.dbsession.scalars(select(Site).where(Site.study_id == context.study.id)).all()
    chosen = None
    if post.get("all_sites") != "1":
        chosen = [int(v) for v in post.getall("site") if v.isdigit() and len(v) < 10]
    try:
        documents.save_draft(
            request.dbsession,
            request.actor,
            context.version,
            language=post.get("language", ""),
            languages=list(context.study.languages or ["en"]),
            title=post.get("title", ""),
            text=post.get("text", ""),
            questions=post.get("questions", ""),
            number=post.get("number", ""),
            version_date=post.get("version_date", ""),
            ethics_approved_on=post.get("ethics_approved_on", ""),
            site_ids=chosen,
            study_sites=list(sites),
        )
    except documents.Frozen:
        return _render(
            request,
            "consent/version.jinja2",
            _version_data(
                request,
                context,
                errors={"text": _("A live version never changes: make a new version.")},
            ),
            409,
        )
    except ValidationError as error:
        data = _version_data(request, context, errors={error.field: error.message}, values=post)
        return _render(request, "consent/version.jinja2", data, 422)
    request.session.flash(request.localizer.translate(_("The draft is saved.")))
    return redirect(
        request, request.resource_url(context, query={"language": post.get("language", "")})
    )


@view_config(
    context=ConsentVersionResource,
    name="publish",
    request_method="POST",
    permission=Permission.DESIGN_STUDY,
)
def publish(context: ConsentVersionResource, request: Request) -> Response:
    try:
        count = documents.publish(request.dbsession, request.actor, context.version)
    except documents.Frozen:
        raise HTTPNotFound() from None
    except ValidationError as error:
        data = _version_data(request, context, errors={error.field: error.message})
        return _render(request, "consent/version.jinja2", data, 422)
    message = request.localizer.pluralize(
        "The version is live; ${count} subject must consent again.",
        "The version is live; ${count} subjects must consent again.",
        count,
        domain="datacapt",
        mapping={"count": count},
    )
    request.session.flash(message)
    return redirect(request, request.resource_url(context))


@view_config(
    context=ConsentVersionResource,
    name="new-version",
    request_method="POST",
    permission=Permission.DESIGN_STUDY,
)
def new_version(context: ConsentVersionResource, request: Request) -> Response:
    draft = documents.new_version(request.dbsession, request.actor, context.version)
    return redirect(request, request.resource_url(context.__parent__, str(draft.id), ""))
