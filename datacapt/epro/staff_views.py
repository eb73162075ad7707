"""Site staff entering a subject's questionnaire on their behalf (a phone interview, a paper
questionnaire transcribed): the values' originator stays the subject, the staff member is
recorded as the one who entered them, with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.ecrf.runtime import FormState
from datacapt.ecrf.values import Parsed
from datacapt.entry.services import SaveRefused
from datacapt.epro import services
from datacapt.htmx import READ, redirect
from datacapt.i18n import _
from datacapt.models import EproOccurrence
from datacapt.permissions import Permission
from datacapt.reactions import reactions_of
from datacapt.resources import SubjectResource
from datacapt.validation import whole_number

ON_BEHALF = "epro/on_behalf.jinja2"


def _occurrence(context: SubjectResource, request: Request, value: str | None) -> EproOccurrence:
    occurrence = services.occurrence_of(request.dbsession, context.subject, whole_number(value))
    design = context.design
    form = design.definition.form(occurrence.form) if design and occurrence else None
    if occurrence is None or form is None or not form.epro:
        raise HTTPNotFound()
    return occurrence


def _state(
    context: SubjectResource,
    request: Request,
    occurrence: EproOccurrence,
    posted: dict[str, list[str]] | None,
) -> FormState:
    definition = context.design.definition
    form = definition.form(occurrence.form)
    instance = services.saved_form(request.dbsession, context.subject, occurrence)
    answers = services.merged_answers(request.dbsession, form, instance, -1, None)
    if posted is not None:
        answers.update(posted)
    return services.answers_state(
        request.dbsession,
        definition,
        context.subject,
        occurrence,
        form,
        answers,
        request.today,
        saved=instance is not None,
    )


def _render(
    context: SubjectResource,
    request: Request,
    occurrence: EproOccurrence,
    state: FormState,
    *,
    errors: dict[str, Any] | None = None,
    reason: str = "",
    status: int = 200,
) -> Response:
    definition = context.design.definition
    language = request.locale_name
    data = {
        "occurrence": occurrence,
        "definition": definition,
        "language": language if language in definition.languages else definition.default_language,
        "form_title": definition.form(occurrence.form).title,
        "state": state,
        "reasons": services.ON_BEHALF_REASONS,
        "reason": reason,
        "open": services.is_open(occurrence, datetime.now(UTC)),
        "errors": errors or {},
    }
    response = render_to_response(ON_BEHALF, data, request=request)
    response.status_int = status
    return response


@view_config(
    context=SubjectResource,
    name="epro-on-behalf",
    request_method=READ,
    permission=Permission.ENTER_DATA,
)
def on_behalf_page(context: SubjectResource, request: Request) -> Response:
    occurrence = _occurrence(context, request, request.GET.get("occurrence"))
    return _render(context, request, occurrence, _state(context, request, occurrence, None))


@view_config(
    context=SubjectResource,
    name="epro-on-behalf",
    request_method="POST",
    permission=Permission.ENTER_DATA,
)
def on_behalf(context: SubjectResource, request: Request) -> Response:
    """Save the questionnaire as the subject's answers, entered by this staff member for the
    reason chosen (``action``: ``save`` or ``submit``)."""
    occurrence = _occurrence(context, request, request.POST.get("occurrence"))
    form = context.design.definition.form(occurrence.form)
    posted = {
        item.name: [v for v in request.POST.getall(item.name) if v]
        for item in services.all_items(form)
    }
    state = _state(context, request, occurrence, posted)
    reason = request.POST.get("reason", "")
    submit = request.POST.get("action") == "submit"
    errors: dict[str, Any] = {}
    if reason not in services.ON_BEHALF_REASONS:
        errors["reason"] = _("Say why you enter the answers for the subject.")
    if not services.is_open(occurrence, datetime.now(UTC)):
        errors[""] = _("This questionnaire is closed.")
    if submit:
        message = _("Please answer this question.")
        for block_state in state.items():
            if block_state.missing and block_state.name:
                block_state.parsed = Parsed(None, None, error=message)
                errors[block_state.name] = message
    if not errors:
        why = str(services.ON_BEHALF_REASONS[reason])  # stored in English, never free text
        try:
            services.save_answers(
                request.dbsession,
                context.study,
                context.subject,
                occurrence,
                context.design.number,
                context.design.definition,
                form,
                {s.name or "": list(s.raw) for s in state.items() if s.name},
                submit=submit,
                today=request.today,
                actor=request.actor.for_subject(context.subject.id, why),
                reactions=reactions_of(request.registry),
                reason=why,
            )
        except SaveRefused as refusal:
            errors = dict(refusal.errors) or {"": _("Some answers need attention.")}
        except services.QuestionnaireClosed:
            errors = {"": _("This questionnaire is closed.")}
    if errors:
        return _render(
            context, request, occurrence, state, errors=errors, reason=reason, status=422
        )
    request.session.flash(
        request.localizer.translate(_("The answers were saved on the subject's behalf."))
    )
    return redirect(request, request.resource_url(context, "@@epro-link"))
