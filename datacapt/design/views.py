"""The designer's home: the working version, its forms and problems, drafts, publication,
versions and their differences."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPConflict
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.design import editing, services
from datacapt.design.diff import diff
from datacapt.design.forms import Reader, read_languages, read_titled
from datacapt.design.translations import missing_translations
from datacapt.ecrf import versions
from datacapt.ecrf.checks import check_definition
from datacapt.ecrf.definition import Definition
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources import DesignResource, VersionResource, VersionsResource
from datacapt.resources.design import DesignChild
from datacapt.validation import whole_number

DESIGN = Permission.DESIGN_STUDY


def design_of(context: DesignResource | DesignChild) -> DesignResource:
    return context if isinstance(context, DesignResource) else context.design


def require_draft(request: Request, context: DesignResource | DesignChild) -> Any:
    """The draft a change is made to; 409 when there is none or the page was stale."""
    draft = design_of(context).draft
    if draft is None:
        raise HTTPConflict(_("There is no draft to change: start a new draft first."))
    if whole_number(request.POST.get("lock")) != draft.lock_version:
        raise HTTPConflict(
            _(
                "This draft was changed by someone else since you opened the page. "
                "Reload the page to see the changes, then make yours again."
            )
        )
    return draft


def save(
    request: Request,
    context: DesignResource | DesignChild,
    definition: Definition,
    *,
    action: str,
    element: str | None = None,
    old: Any = None,
    new: Any = None,
) -> None:
    draft = require_draft(request, context)
    services.save_draft(
        request.dbsession,
        context.study,
        draft,
        definition,
        expected_lock=draft.lock_version,
        action=action,
        element=element,
        old=old,
        new=new,
        actor=request.actor,
    )


def summary(definition: Definition) -> list[dict[str, Any]]:
    """Each form with its number of blocks and the visits it belongs to."""
    unscheduled = set(definition.schedule.unscheduled_forms)
    return [
        {
            "form": form,
            "blocks": sum(1 for _ in editing.places(form)),
            "visits": [v.name for v in definition.schedule.visits if form.name in v.forms],
            "unscheduled": form.name in unscheduled,
        }
        for form in definition.forms
    ]


@page_view(DesignResource, "design/overview.jinja2", DESIGN)
def overview(context: DesignResource, request: Request) -> dict[str, Any]:
    definition = context.definition
    problems = check_definition(definition) if context.draft is not None else []
    return {
        "definition": definition,
        "form_rows": summary(definition),
        "problems": problems,
        "errors": {},
        "values": {},
    }


@view_config(context=DesignResource, name="start-draft", request_method="POST", permission=DESIGN)
def start_draft(context: DesignResource, request: Request) -> Response:
    try:
        services.start_draft(request.dbsession, context.study, request.actor)
    except services.DraftExists:
        raise HTTPConflict(
            _(
                "A draft was already started, perhaps by someone else a moment ago. "
                "Reload the page to open it."
            )
        ) from None
    return redirect(request, request.resource_url(context))


@view_config(context=DesignResource, name="discard-draft", request_method="POST", permission=DESIGN)
def discard_draft(context: DesignResource, request: Request) -> Response:
    draft = require_draft(request, context)
    services.discard_draft(request.dbsession, context.study, draft, request.actor)
    request.session.flash(request.localizer.translate(_("The draft was discarded.")))
    return redirect(request, request.resource_url(context))


def _invalid(request: Request, context: DesignResource, errors: dict[str, Any]) -> dict[str, Any]:
    request.response.status_int = 422
    return {**overview(context, request), "errors": errors, "values": request.POST}


@view_config(
    context=DesignResource,
    name="add-form",
    request_method="POST",
    renderer="design/overview.jinja2",
    permission=DESIGN,
)
def add_form(context: DesignResource, request: Request) -> Any:
    definition = context.definition
    reader = Reader(request.POST, definition.languages)
    name = reader.name("name")
    titled = read_titled(request.POST, definition, required=True)
    errors = {**reader.errors, **titled.errors}
    if definition.form(name) is not None:
        errors["name"] = _("Another form has this name.")
    if errors:
        return _invalid(request, context, errors)
    form = editing.add_form(definition, name, titled.value)
    save(
        request,
        context,
        definition,
        action="design.form_added",
        element=form.oid,
        new={"name": name, "title": titled.value},
    )
    return redirect(request, request.resource_url(context, "forms", name, ""))


@view_config(
    context=DesignResource,
    name="languages",
    request_method="POST",
    renderer="design/overview.jinja2",
    permission=DESIGN,
)
def set_languages(context: DesignResource, request: Request) -> Any:
    definition = context.definition
    parsed = read_languages(request.POST)
    if parsed.errors:
        return _invalid(request, context, parsed.errors)
    old = {"languages": definition.languages, "default": definition.default_language}
    definition.languages, definition.default_language = parsed.value
    save(
        request,
        context,
        definition,
        action="design.languages_changed",
        old=old,
        new={"languages": definition.languages, "default": definition.default_language},
    )
    return redirect(request, request.resource_url(context))


def _publication(context: DesignResource) -> dict[str, Any]:
    draft_definition = context.definition
    base = versions.definition_of(context.published) if context.published else Definition()
    return {
        "definition": draft_definition,
        "changes": diff(base, draft_definition),
        "problems": check_definition(draft_definition),
        "untranslated": missing_translations(draft_definition),
        "errors": {},
        "reason": "",
    }


@page_view(DesignResource, "design/publish.jinja2", DESIGN, name="publish")
def publish_page(context: DesignResource, request: Request) -> Any:
    if context.draft is None:
        return redirect(request, request.resource_url(context))
    return _publication(context)


@view_config(
    context=DesignResource,
    name="publish",
    request_method="POST",
    renderer="design/publish.jinja2",
    permission=DESIGN,
)
def publish(context: DesignResource, request: Request) -> Any:
    draft = require_draft(request, context)
    reason = Reader(request.POST, []).text("reason", 2000)
    if not reason:
        request.response.status_int = 422
        return {
            **_publication(context),
            "errors": {
                "reason": _("Say why this version is published (e.g. protocol amendment 2).")
            },
        }
    try:
        published = services.publish(
            request.dbsession,
            context.study,
            draft,
            actor=request.actor,
            reason=reason,
            expected_lock=draft.lock_version,
        )
    except services.PublishRefused:
        request.response.status_int = 422
        return {
            **_publication(context),
            "reason": reason,
            "errors": {
                "form": _("This version cannot be published until the problems below are fixed.")
            },
        }
    request.session.flash(
        request.localizer.translate(
            _("Version ${number} is published.", mapping={"number": published.number})
        )
    )
    return redirect(request, request.resource_url(context, "versions", str(published.number), ""))


@page_view(VersionsResource, "design/versions.jinja2", DESIGN)
def version_list(context: VersionsResource, request: Request) -> dict[str, Any]:
    return {"versions": versions.study_versions(request.dbsession, context.study)}


@page_view(VersionResource, "design/version.jinja2", DESIGN)
def version_page(context: VersionResource, request: Request) -> dict[str, Any]:
    others = [
        v
        for v in versions.study_versions(request.dbsession, context.study)
        if v.number != context.version.number
    ]
    against_raw = request.GET.get("against", "")
    against = next((v for v in others if str(v.number) == against_raw), None)
    if against is None:
        against = next((v for v in others if v.number < context.version.number), None)
    changes = None
    if against is not None:
        changes = diff(versions.definition_of(against), context.definition)
    return {
        "definition": context.definition,
        "form_rows": summary(context.definition),
        "others": others,
        "against": against,
        "changes": changes,
    }
