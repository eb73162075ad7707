"""The study's automations: its rules (list, add, edit, disable) and the log of their runs,
for the study's administrators."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.view import view_config

from datacapt.automations import services
from datacapt.automations.rules import (
    ACTION_LABELS,
    AUDIENCE_LABELS,
    MESSAGE_LABELS,
    TRIGGER_LABELS,
)
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import AutomationRule, RunState
from datacapt.pagination import page_number
from datacapt.permissions import ROLE_LABELS, Permission, StudyRole
from datacapt.resources import StudyResource
from datacapt.validation import ValidationError, errors_of

RUNS_PER_PAGE = 50
STATE_LABELS = {
    RunState.PENDING: _("Pending"),
    RunState.DONE: _("Done"),
    RunState.SKIPPED: _("Skipped"),
    RunState.FAILED: _("Failed"),
}


def _posted(params: Any) -> services.RuleInput:
    """A rule's fields from a form (or, to redraw the form, from a GET's query)."""
    return services.RuleInput(
        name=params.get("name", "")[:1000],
        trigger=params.get("trigger", "")[:50],
        item=params.get("item", "")[:200],
        condition=params.get("condition", "")[:5000],
        action=params.get("action", "")[:50],
        delay_minutes=params.get("delay_minutes", "0")[:20],
        role=params.get("role", "")[:50],
        users=tuple(value[:20] for value in params.getall("users")[:200]),
        addresses=params.get("addresses", "")[:6000],
        message=params.get("message", "")[:50],
        questionnaire=params.get("questionnaire", "")[:300],
        days_open=params.get("days_open", "7")[:20],
        audience=params.get("audience", "")[:50],
        task=params.get("task", "")[:1000],
    )


def _form(context: StudyResource, request: Request, values: services.RuleInput) -> dict[str, Any]:
    design = context.design
    definition = design.definition if design is not None else None
    translate = request.localizer.translate

    def translated(choices: Any) -> list[tuple[str, str]]:
        return [(str(value), translate(label)) for value, label in choices]

    return {
        "values": values,
        "errors": {},
        "trigger_choices": list(TRIGGER_LABELS.items()),
        "action_choices": list(ACTION_LABELS.items()),
        "role_choices": translated((role, ROLE_LABELS[role]) for role in StudyRole),
        "message_choices": translated(MESSAGE_LABELS.items()),
        "audience_choices": translated(AUDIENCE_LABELS.items()),
        "member_choices": services.member_choices(request.dbsession, context.study),
        "questionnaire_choices": services.questionnaire_choices(definition),
        "item_choices": services.item_choices(definition),
    }


def _rule(context: StudyResource, request: Request) -> AutomationRule:
    rule = services.rule_of(request.dbsession, context.study, request.params.get("rule", ""))
    if rule is None:
        raise HTTPNotFound()
    return rule


@page_view(StudyResource, "automations/rules.jinja2", Permission.MANAGE_STUDY, name="automations")
def rules_page(context: StudyResource, request: Request) -> dict[str, Any]:
    return {
        "rules": services.rules_of(request.dbsession, context.study),
        "counts": services.run_counts(request.dbsession, context.study),
        "trigger_labels": TRIGGER_LABELS,
        "action_labels": ACTION_LABELS,
    }


@page_view(StudyResource, "automations/rule.jinja2", Permission.MANAGE_STUDY, name="automation-new")
def new_rule_page(context: StudyResource, request: Request) -> dict[str, Any]:
    """The form of a new rule; redrawn (by htmx) with the event and action chosen so far."""
    values = _posted(request.GET) if request.GET else services.RuleInput()
    return {**_form(context, request, values), "rule": None}


@view_config(
    context=StudyResource,
    name="automation-new",
    request_method="POST",
    renderer="automations/rule.jinja2",
    permission=Permission.MANAGE_STUDY,
)
def create_rule_view(context: StudyResource, request: Request) -> Any:
    posted = _posted(request.POST)
    try:
        services.create_rule(request.dbsession, context.study, posted, actor=request.actor)
    except ValidationError as error:
        request.response.status_int = 422
        return {**_form(context, request, posted), "rule": None, "errors": errors_of(error)}
    request.session.flash(request.localizer.translate(_("The rule was added.")))
    return redirect(request, request.resource_url(context, "@@automations"))


@page_view(StudyResource, "automations/rule.jinja2", Permission.MANAGE_STUDY, name="automation")
def edit_rule_page(context: StudyResource, request: Request) -> dict[str, Any]:
    rule = _rule(context, request)
    redrawn = "action" in request.GET or "trigger" in request.GET
    values = _posted(request.GET) if redrawn else services.rule_input(rule)
    return {**_form(context, request, values), "rule": rule}


@view_config(
    context=StudyResource,
    name="automation",
    request_method="POST",
    renderer="automations/rule.jinja2",
    permission=Permission.MANAGE_STUDY,
)
def change_rule_view(context: StudyResource, request: Request) -> Any:
    rule = _rule(context, request)
    posted = _posted(request.POST)
    try:
        services.change_rule(request.dbsession, context.study, rule, posted, actor=request.actor)
    except ValidationError as error:
        request.response.status_int = 422
        return {**_form(context, request, posted), "rule": rule, "errors": errors_of(error)}
    request.session.flash(request.localizer.translate(_("The rule was saved.")))
    return redirect(request, request.resource_url(context, "@@automations"))


@view_config(
    context=StudyResource,
    name="automation-enabled",
    request_method="POST",
    permission=Permission.MANAGE_STUDY,
)
def enable_rule_view(context: StudyResource, request: Request) -> Any:
    rule = _rule(context, request)
    enabled = request.POST.get("enabled") == "1"
    services.set_enabled(request.dbsession, rule, enabled, actor=request.actor)
    message = _("The rule was enabled.") if enabled else _("The rule was disabled.")
    request.session.flash(request.localizer.translate(message))
    return redirect(request, request.resource_url(context, "@@automations"))


@page_view(
    StudyResource, "automations/runs.jinja2", Permission.MANAGE_STUDY, name="automation-runs"
)
def runs_page(context: StudyResource, request: Request) -> dict[str, Any]:
    """The runs, newest first, filtered by rule and state."""
    rules = services.rules_of(request.dbsession, context.study)
    rule_id = request.GET.get("rule", "")
    chosen_rule = next((rule.id for rule in rules if str(rule.id) == rule_id), None)
    state_text = request.GET.get("state", "")
    state = RunState(state_text) if state_text in RunState.__members__.values() else None
    page = services.runs_page(
        request.dbsession,
        context.study,
        page_number(request.GET.get("page")),
        RUNS_PER_PAGE,
        rule_id=chosen_rule,
        state=state,
    )
    query = {"rule": chosen_rule or "", "state": state.value if state else ""}
    return {
        "page": page,
        "rules": rules,
        "rule_id": chosen_rule,
        "state": state,
        "query": query,
        "state_labels": STATE_LABELS,
        "trigger_labels": TRIGGER_LABELS,
        "action_labels": ACTION_LABELS,
    }
