"""The subject's pages (a link's Start, their questionnaires, page by page) and the site's page
that hands a subject their link."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import segno
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from datacapt.actor import Actor
from datacapt.clock import today_in
from datacapt.db import keep_writes
from datacapt.ecrf.runtime import FormState, form_state
from datacapt.ecrf.values import Parsed
from datacapt.entry.services import SaveRefused
from datacapt.epro import services
from datacapt.htmx import READ, page_view, redirect
from datacapt.i18n import _
from datacapt.models import EproOccurrence
from datacapt.permissions import Permission
from datacapt.reactions import reactions_of
from datacapt.resources import SubjectResource
from datacapt.resources.subject_area import (
    SUBJECT_HOME_NAME,
    QuestionnaireResource,
    SubjectArea,
    SubjectHome,
)
from datacapt.security import open_subject_session
from datacapt.validation import ValidationError, whole_number

UNAVAILABLE = "errors/subject_unavailable.jinja2"
QUESTIONNAIRE = "epro/questionnaire.jinja2"


def _address(request: Request) -> str:
    return request.client_address or "unknown"


def _unavailable(request: Request, status: int = 404) -> Response:
    """One answer for a bad, used or expired link (and a session that ended)."""
    response = render_to_response(UNAVAILABLE, {}, request=request)
    response.status_int = status
    return response


def _throttled(request: Request) -> Response | None:
    throttle = services.link_throttle(request.dbsession, request.registry, _address(request))
    if not throttle.blocked:
        return None
    response = render_to_response(
        "epro/wait.jinja2", {"minutes": max(1, -(-throttle.wait_seconds // 60))}, request=request
    )
    response.status_int = 429
    return response


@view_config(
    context=SubjectArea, name="start", request_method=READ, permission=NO_PERMISSION_REQUIRED
)
def start_page(context: SubjectArea, request: Request) -> Response:
    """What a link opens: a page with a Start button. Nothing is consumed or submitted here
    (mail scanners and link previews fetch links)."""
    throttled = _throttled(request)
    if throttled is not None:
        return throttled
    token = request.subpath[0] if len(request.subpath) == 1 else ""
    link = services.find_link(request.dbsession, request.registry, token, _address(request))
    if link is None:
        keep_writes(request)
        return _unavailable(request)
    if not services.link_open(request.dbsession, link):
        return _closed_page(request)
    return render_to_response(
        "epro/start.jinja2",
        {"token": token, "action": request.resource_path(context, "@@start")},
        request=request,
    )


@view_config(
    context=SubjectArea, name="start", request_method="POST", permission=NO_PERMISSION_REQUIRED
)
def start(context: SubjectArea, request: Request) -> Response:
    """The Start: the link is spent for a short subject session, and the page it leads to has
    no token in its address."""
    throttled = _throttled(request)
    if throttled is not None:
        return throttled
    token = request.POST.get("token", "")
    link = services.find_link(request.dbsession, request.registry, token, _address(request))
    if link is None:
        keep_writes(request)
        return _unavailable(request)
    if not services.link_open(request.dbsession, link):
        return _closed_page(request)
    request.session.invalidate()  # nothing of an earlier visitor's cookie session carries over
    target = request.resource_url(context, SUBJECT_HOME_NAME, "")
    if link.occurrence_id is not None:
        target = request.resource_url(context, SUBJECT_HOME_NAME, str(link.occurrence_id), "")
    elif link.landing is not None:
        target = request.resource_url(context, SUBJECT_HOME_NAME, *link.landing.split("/"))
    response = HTTPSeeOther(location=target)
    open_subject_session(
        request,
        response,
        tenant_id=link.tenant_id,
        study_id=link.study_id,
        subject_id=link.subject_id,
        link_id=link.id,
    )
    actor = Actor.subject(
        link.subject_id,
        tenant_id=link.tenant_id,
        address=request.client_address,
        request_id=request.request_id,
    )
    services.use_link(request.dbsession, link, actor)
    return response


@view_config(context=SubjectArea, request_method=READ, permission=NO_PERMISSION_REQUIRED)
def area_page(context: SubjectArea, request: Request) -> Response:
    return _unavailable(request)


@page_view(SubjectHome, "epro/home.jinja2", Permission.RESPOND)
def home(context: SubjectHome, request: Request) -> dict[str, Any]:
    now = datetime.now(UTC)
    occurrences = services.occurrences_of(request.dbsession, context.subject)
    return {
        "open": [o for o in occurrences if services.is_open(o, now)],
        "design": context.design,
    }


# --- a questionnaire, page by page -------------------------------------------------------------


def _page_number(context: QuestionnaireResource, value: str | None) -> int:
    """The page asked for, within the questionnaire's (the first one if none or nonsense)."""
    return min(whole_number(value) or 0, services.pages(context.form) - 1)


def _language(request: Request, context: QuestionnaireResource) -> str:
    definition = context.design.definition
    if request.locale_name in definition.languages:
        return request.locale_name
    return definition.default_language


def _state(
    request: Request,
    context: QuestionnaireResource,
    page: int,
    posted: dict[str, list[str]] | None,
) -> FormState:
    home = context.home
    instance = services.saved_form(request.dbsession, home.subject, context.occurrence)
    answers = services.merged_answers(request.dbsession, context.form, instance, page, posted)
    return services.answers_state(
        request.dbsession,
        context.design.definition,
        home.subject,
        context.occurrence,
        context.form,
        answers,
        request.today,
        saved=instance is not None,
    )


def _posted(context: QuestionnaireResource, request: Request, page: int) -> dict[str, list[str]]:
    return {
        item.name: [v for v in request.POST.getall(item.name) if v]
        for item in services.page_items(context.form, page)
    }


def _render(
    request: Request,
    context: QuestionnaireResource,
    state: FormState,
    page: int,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    form = context.form
    shown = services.steps_shown(state, form)
    items = services.page_items(form, page)
    by_name = {block.name: block for block in state.items()}
    data = {
        "definition": context.design.definition,
        "language": _language(request, context),
        "state": state,
        "page": page,
        "pages": services.pages(form),
        "one_per_screen": form.one_per_screen,
        "step_state": by_name.get(items[0].name) if form.one_per_screen and items else None,
        # where the subject is among the screens the branching shows
        "position": sum(shown[: page + 1]) or 1,
        "shown_count": sum(shown) or 1,
        "last": services.following_step(state, form, page, 1) is None,
        "errors": errors or {},
    }
    response = render_to_response(QUESTIONNAIRE, data, request=request)
    response.status_int = status
    return response


def _closed(request: Request, context: QuestionnaireResource) -> Response | None:
    occurrence: EproOccurrence = context.occurrence
    if occurrence.status.value == "completed":
        return render_to_response("epro/done.jinja2", {}, request=request)
    if not services.is_open(occurrence, datetime.now(UTC)):
        return _closed_page(request)
    return None


def _closed_page(request: Request) -> Response:
    response = render_to_response("epro/closed.jinja2", {}, request=request)
    response.status_int = 403
    return response


@view_config(context=QuestionnaireResource, request_method=READ, permission=Permission.RESPOND)
def questionnaire(context: QuestionnaireResource, request: Request) -> Response:
    closed = _closed(request, context)
    if closed is not None:
        return closed
    asked = request.GET.get("page")
    page = _page_number(context, asked)
    state = _state(request, context, page, None)
    if asked is None and context.form.one_per_screen:  # resume at the first question left
        page = services.first_unanswered(state, context.form)
    return _render(request, context, state, page)


@view_config(
    context=QuestionnaireResource,
    name="evaluate",
    request_method="POST",
    permission=Permission.RESPOND,
)
def evaluate(context: QuestionnaireResource, request: Request) -> Response:
    """While answering: branching and calculations, sent back out of band; nothing saved."""
    page = _page_number(context, request.POST.get("page"))
    state = _state(request, context, page, _posted(context, request, page))
    data = {
        "definition": context.design.definition,
        "language": _language(request, context),
        "state": state,
    }
    response = render_to_response("ecrf/_evaluation.jinja2", data, request=request)
    response.headers["HX-Trigger"] = json.dumps({"datacapt:form-state": form_state(state)})
    return response


@view_config(
    context=QuestionnaireResource, name="save", request_method="POST", permission=Permission.RESPOND
)
def save(context: QuestionnaireResource, request: Request) -> Response:
    """Save this page's answers (the whole questionnaire through the sites' save service), then
    go on: the next page, the previous one, leave for later, or submit."""
    closed = _closed(request, context)
    if closed is not None:
        return closed
    page = _page_number(context, request.POST.get("page"))
    action = request.POST.get("action", "next")
    home = context.home
    state = _state(request, context, page, _posted(context, request, page))
    if action == "submit" and services.following_step(state, context.form, page, 1) is not None:
        action = "next"  # this answer showed more questions: they come first
    errors: dict[str, Any] = {}
    if action in ("next", "submit"):
        errors = _unanswered(state, context, page)
    if not errors:
        try:
            services.save_answers(
                request.dbsession,
                home.study,
                home.subject,
                context.occurrence,
                home.design.number,
                context.design.definition,
                context.form,
                {s.name or "": list(s.raw) for s in state.items() if s.name},
                submit=action == "submit",
                today=request.today,
                actor=request.actor,
                reactions=reactions_of(request.registry),
            )
        except SaveRefused as refusal:
            errors = {
                name: message
                for name, message in refusal.errors.items()
                if name in {i.name for i in services.page_items(context.form, page)}
            } or {"": _("Some answers on other pages need attention.")}
        except services.QuestionnaireClosed:
            raise HTTPNotFound() from None
    if errors:
        return _render(request, context, state, page, errors, 422)
    if action == "submit":
        return redirect(request, request.resource_url(context))
    if action == "later":
        request.session.flash(
            request.localizer.translate(
                _("Your answers are saved. Open a new link to continue later.")
            )
        )
        return redirect(request, request.resource_url(context.home))
    following = services.following_step(state, context.form, page, -1 if action == "back" else 1)
    return redirect(
        request,
        request.resource_url(context, query={"page": page if following is None else following}),
    )


def _unanswered(state: FormState, context: QuestionnaireResource, page: int) -> dict[str, Any]:
    """The required questions of the page left blank, each said next to its field too."""
    message = _("Please answer this question.")
    blank = set(services.unanswered_required(state, context.form, page))
    for block_state in state.items():
        if block_state.name in blank:
            block_state.parsed = Parsed(None, None, error=message)
    return dict.fromkeys(sorted(blank), message)


# --- the site hands a link ---------------------------------------------------------------------


HAND_LINK = "epro/hand_link.jinja2"


def _subject_page(request: Request, context: SubjectResource, **extra: Any) -> dict[str, Any]:
    design = context.design
    return {
        "handed": None,
        "occurrences": services.occurrences_of(request.dbsession, context.subject),
        "questionnaires": services.questionnaires(design.definition) if design else [],
        "definition": design.definition if design else None,
        "errors": {},
        "values": {"anchor": "today", "offset": "0", "days_open": "7"},
        **extra,
    }


@page_view(SubjectResource, HAND_LINK, Permission.ENROL_SUBJECT, name="epro-link")
def hand_link_page(context: SubjectResource, request: Request) -> dict[str, Any]:
    return _subject_page(request, context)


@view_config(
    context=SubjectResource,
    name="epro-link",
    request_method="POST",
    renderer=HAND_LINK,
    permission=Permission.ENROL_SUBJECT,
)
def hand_link(context: SubjectResource, request: Request) -> dict[str, Any]:
    """A fresh one-time link and its QR code, shown once to be handed in person."""
    handed = services.hand_link(request.dbsession, context.subject, request.actor)
    url = link_url(request, handed.token)
    return _subject_page(
        request,
        context,
        handed=handed,
        url=url,
        qr=segno.make(url, error="m").svg_data_uri(scale=5, border=2),
    )


@view_config(
    context=SubjectResource,
    name="epro-schedule",
    request_method="POST",
    permission=Permission.ENROL_SUBJECT,
)
def schedule(context: SubjectResource, request: Request) -> Response:
    """Schedule a questionnaire: its window from a starting day and an offset, in the
    subject's zone (their site's, else the study's)."""
    design = context.design
    if design is None:
        raise HTTPNotFound()
    try:
        services.schedule_from_anchor(
            request.dbsession,
            context.subject,
            design.definition,
            context.site.timezone or context.study.timezone,
            questionnaire=request.POST.get("questionnaire", ""),
            anchor=request.POST.get("anchor", ""),
            offset=request.POST.get("offset", ""),
            days_open=request.POST.get("days_open", ""),
            today=today_in(ZoneInfo(context.site.timezone or context.study.timezone)),
            actor=request.actor,
            application_url=request.application_url,
        )
    except ValidationError as error:
        data = _subject_page(
            request, context, errors={error.field: error.message}, values=request.POST
        )
        response = render_to_response(HAND_LINK, data, request=request)
        response.status_int = 422
        return response
    request.session.flash(request.localizer.translate(_("The questionnaire is scheduled.")))
    return redirect(request, request.resource_url(context, "@@epro-link"))


@view_config(
    context=SubjectResource,
    name="epro-send",
    request_method="POST",
    permission=Permission.ENROL_SUBJECT,
)
def send(context: SubjectResource, request: Request) -> Response:
    """Mail the subject a link to one of their questionnaires (after commit, by a job)."""
    number = whole_number(request.POST.get("occurrence"))
    occurrence = next(
        (o for o in services.occurrences_of(request.dbsession, context.subject) if o.id == number),
        None,
    )
    if occurrence is None:
        raise HTTPNotFound()
    services.request_sending(
        request.dbsession, context.subject, occurrence, request.actor, request.application_url
    )
    request.session.flash(
        request.localizer.translate(
            _("The link is being mailed to the subject, if they have an e-mail address.")
        )
    )
    return redirect(request, request.resource_url(context, "@@epro-link"))


def link_url(request: Request, token: str) -> str:
    return f"{request.application_url}/p/@@start/{token}"
