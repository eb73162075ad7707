"""The public application page ``/apply/{token}``: no sign-in, CSRF-protected, slowed down per
client address. The applicant answers the pre-screening questionnaire (its branching asked of
the server as they go), gives their identity and contacts and their consent; the thank-you page
tells them nothing of the verdict. Beside it, ``/apply/contact/{token}``: where a person mailed
by a campaign withdraws their agreement to hear of future studies, its misses counted in a bucket
of their own (:mod:`datacapt.recruitment.campaigns`)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from datacapt.accounts.services import Throttle
from datacapt.actor import Actor
from datacapt.db import keep_writes
from datacapt.ecrf.definition import Form, form_items
from datacapt.ecrf.runtime import FormState, form_state
from datacapt.htmx import READ, redirect
from datacapt.i18n import _
from datacapt.models import Recruitment, Site
from datacapt.recruitment import campaigns
from datacapt.recruitment.services import applying, configuring
from datacapt.repository import services as repository
from datacapt.resources import ApplyArea, ApplyResource, WithdrawalArea, WithdrawalResource
from datacapt.validation import ValidationError

PAGE = "recruitment/apply.jinja2"
UNAVAILABLE = "recruitment/unavailable.jinja2"
WITHDRAWAL = "recruitment/withdrawal.jinja2"
WAIT = "recruitment/wait.jinja2"
#: The most an evaluation request may carry: a questionnaire's answers and the applicant's
#: fields fit many times over.
MAX_EVALUATION_BYTES = 64 * 1024
#: The applicant's own fields, named apart from the questionnaire's items.
PREFIX = "applicant_"
FIELDS = (*repository.FIELDS, "site", "consent", "opt_in")


def _address(request: Request) -> str:
    return request.client_address or "unknown"


def _wait(request: Request, throttle: Throttle) -> Response | None:
    if not throttle.blocked:
        return None
    response = render_to_response(
        WAIT, {"minutes": max(1, -(-throttle.wait_seconds // 60))}, request=request
    )
    response.status_int = 429
    response.headers["Retry-After"] = str(throttle.wait_seconds)
    return response


def _throttled(request: Request) -> Response | None:
    return _wait(
        request, applying.apply_throttle(request.dbsession, request.registry, _address(request))
    )


def _unavailable(request: Request) -> Response:
    """One page for an unknown token and a closed recruitment (the miss counted)."""
    applying.count_attempt(request.dbsession, request.registry, _address(request))
    return _not_found(request)


def _not_found(request: Request) -> Response:
    keep_writes(request)
    response = render_to_response(UNAVAILABLE, {}, request=request)
    response.status_int = 404
    return response


def _withdrawal_throttled(request: Request) -> Response | None:
    return _wait(
        request,
        campaigns.withdrawal_throttle(request.dbsession, request.registry, _address(request)),
    )


def _unknown_withdrawal(request: Request) -> Response:
    """The same page as an unknown recruitment's, the miss counted in the withdrawals' bucket."""
    campaigns.count_withdrawal_miss(request.dbsession, request.registry, _address(request))
    return _not_found(request)


def _open(request: Request, context: ApplyResource) -> tuple[Recruitment, Any, Form] | None:
    recruitment = context.recruitment
    if recruitment is None:
        return None
    found = applying.questionnaire_of(request.dbsession, recruitment, request.today)
    return None if found is None else (recruitment, *found)


def _language(request: Request, definition: Any) -> str:
    if request.locale_name in definition.languages:
        return request.locale_name
    return str(definition.default_language)


def _posted(request: Request, form: Form) -> dict[str, list[str]]:
    return {
        item.name: [v for v in request.POST.getall(item.name) if v] for item in form_items(form)
    }


def _render(
    request: Request,
    context: ApplyResource,
    opened: tuple[Recruitment, Any, Form],
    state: FormState,
    sites: list[Site],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    recruitment, definition, form = opened
    data = {
        "recruitment": recruitment,
        "definition": definition,
        "form": form,
        "language": _language(request, definition),
        "state": state,
        "sites": sites,
        "site_options": [("", "")] + [(str(site.id), site.name) for site in sites],
        "values": values or {},
        "errors": errors or {},
        "field_labels": repository.FIELD_LABELS,
    }
    response = render_to_response(PAGE, data, request=request)
    response.status_int = status
    return response


@view_config(context=ApplyArea, request_method=READ, permission=NO_PERMISSION_REQUIRED)
def area(context: ApplyArea, request: Request) -> Response:
    return _unavailable(request)


@view_config(context=WithdrawalArea, request_method=READ, permission=NO_PERMISSION_REQUIRED)
def withdrawal_area(context: WithdrawalArea, request: Request) -> Response:
    return _unknown_withdrawal(request)


@view_config(context=ApplyResource, request_method=READ, permission=NO_PERMISSION_REQUIRED)
def apply_page(context: ApplyResource, request: Request) -> Response:
    throttled = _throttled(request)
    if throttled is not None:
        return throttled
    opened = _open(request, context)
    if opened is None:
        return _unavailable(request)
    state = applying.questionnaire_state(opened[2], {}, request.today)
    sites = configuring.sites_of(request.dbsession, opened[0])
    return _render(request, context, opened, state, sites)


@view_config(
    context=ApplyResource,
    name="evaluate",
    request_method="POST",
    permission=NO_PERMISSION_REQUIRED,
)
def evaluate(context: ApplyResource, request: Request) -> Response:
    """While answering: branching and calculations, sent back out of band; nothing saved but
    the count of evaluations asked from this address, which has its own, generous, limit."""
    throttled = _wait(
        request,
        applying.evaluation_throttle(request.dbsession, request.registry, _address(request)),
    )
    if throttled is not None:
        return throttled
    if (request.content_length or 0) > MAX_EVALUATION_BYTES or len(
        request.body
    ) > MAX_EVALUATION_BYTES:
        return Response(status=413)
    opened = _open(request, context)
    if opened is None:
        return _unavailable(request)
    applying.count_evaluation(request.dbsession, request.registry, _address(request))
    _recruitment, definition, form = opened
    state = applying.questionnaire_state(form, _posted(request, form), request.today)
    data = {"definition": definition, "language": _language(request, definition), "state": state}
    response = render_to_response("ecrf/_evaluation.jinja2", data, request=request)
    response.headers["HX-Trigger"] = json.dumps({"datacapt:form-state": form_state(state)})
    return response


def _questionnaire_errors(state: FormState) -> dict[str, Any]:
    """Refused values and required questions left blank, by item."""
    errors: dict[str, Any] = dict(state.errors)
    for block_state in state.items():
        if block_state.missing and block_state.name and block_state.name not in errors:
            errors[block_state.name] = _("Please answer this question.")
    return errors


@view_config(context=ApplyResource, request_method="POST", permission=NO_PERMISSION_REQUIRED)
def submit(context: ApplyResource, request: Request) -> Response:
    throttled = _throttled(request)
    if throttled is not None:
        return throttled
    opened = _open(request, context)
    if opened is None:
        return _unavailable(request)
    recruitment, _definition, form = opened
    applying.count_attempt(request.dbsession, request.registry, _address(request))
    state = applying.questionnaire_state(form, _posted(request, form), request.today)
    sites = configuring.sites_of(request.dbsession, recruitment)
    values = {name: request.POST.get(PREFIX + name, "") for name in FIELDS}
    errors = _questionnaire_errors(state)
    site = next((s for s in sites if str(s.id) == values["site"]), None)
    if site is None and len(sites) == 1:
        site = sites[0]
    if site is None:
        errors[PREFIX + "site"] = _("Choose where you would take part.")
    person = None
    try:
        person = repository.clean(values, request.today)
        if not person.email and not person.phone:
            raise ValidationError("email", _("Give an e-mail address or a phone number."))
    except ValidationError as error:
        errors[PREFIX + error.field] = error.message
    if values["consent"] != "yes":
        errors[PREFIX + "consent"] = _("Your consent is needed to process your application.")
    if errors or person is None or site is None:
        keep_writes(request)
        return _render(
            request, context, opened, state, sites, values=values, errors=errors, status=422
        )
    actor = replace(
        Actor.system("applicant", tenant_id=recruitment.tenant_id),
        address=request.client_address,
        request_id=request.request_id,
    )
    applying.submit(
        request.dbsession,
        request.registry,
        recruitment,
        site,
        person,
        state,
        opt_in=values["opt_in"] == "yes",
        today=request.today,
        actor=actor,
    )
    return redirect(request, request.resource_url(context, "thanks"))


@view_config(
    context=ApplyResource, name="thanks", request_method=READ, permission=NO_PERMISSION_REQUIRED
)
def thanks(context: ApplyResource, request: Request) -> Response:
    if context.recruitment is None:
        return _unavailable(request)
    return render_to_response(
        "recruitment/thanks.jinja2", {"recruitment": context.recruitment}, request=request
    )


@view_config(context=WithdrawalResource, request_method=READ, permission=NO_PERMISSION_REQUIRED)
def withdrawal_page(context: WithdrawalResource, request: Request) -> Response:
    """What the link in a campaign's mail opens: a button to confirm, so that a mail scanner
    following links changes nothing."""
    throttled = _withdrawal_throttled(request)
    if throttled is not None:
        return throttled
    person = campaigns.withdrawal_person(request.dbsession, request.registry, context.__name__)
    if person is None:
        return _unknown_withdrawal(request)
    return render_to_response(WITHDRAWAL, {"done": not person.contact_opt_in}, request=request)


@view_config(context=WithdrawalResource, request_method="POST", permission=NO_PERMISSION_REQUIRED)
def withdraw(context: WithdrawalResource, request: Request) -> Response:
    """The button: the agreement cleared, then the page again, saying so."""
    throttled = _withdrawal_throttled(request)
    if throttled is not None:
        return throttled
    person = campaigns.withdrawal_person(request.dbsession, request.registry, context.__name__)
    if person is None:
        return _unknown_withdrawal(request)
    actor = replace(
        Actor.system(campaigns.WITHDRAWER, tenant_id=person.tenant_id),
        address=request.client_address,
        request_id=request.request_id,
    )
    campaigns.withdraw(request.dbsession, person, actor)
    return redirect(request, request.resource_url(context))
