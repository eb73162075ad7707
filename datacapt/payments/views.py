"""The study's payments page (plan, orders), an order's page and its bank files, and the bank
details panel of a subject's page. Views parse, call one service, render."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import OrderState, SubjectBankAccount
from datacapt.payments import bank, files, money, services
from datacapt.permissions import Permission
from datacapt.resources import PaymentOrderResource, PaymentsResource, SubjectResource
from datacapt.validation import ValidationError

PAGE = "payments/page.jinja2"
ORDER = "payments/order.jinja2"
PANEL = "payments/_bank.jinja2"


def _definition(context: Any) -> Any:
    design = context.study_node.design
    return design.definition if design else None


def _plan_values(context: PaymentsResource, request: Request) -> dict[str, str]:
    plan = services.plan_of(request.dbsession, context.study)
    if plan is None:
        return {"currency": "EUR"}
    values = {
        "currency": plan.currency,
        "completion": money.plain(plan.completion_cents, plan.currency)
        if plan.completion_cents
        else "",
        "debtor_name": plan.debtor_name,
        "debtor_iban": plan.debtor_iban,
        "debtor_bic": plan.debtor_bic,
        "reference": plan.reference,
    }
    for name, cents in services.visit_amounts(request.dbsession, context.study).items():
        values[f"visit-{name}"] = money.plain(cents, plan.currency)
    return values


def _page(context: PaymentsResource, request: Request, **extra: Any) -> dict[str, Any]:
    definition = _definition(context)
    plan = services.plan_of(request.dbsession, context.study)
    return {
        "plan": plan,
        "definition": definition,
        "visits": definition.schedule.visits if definition else [],
        "orders": services.orders(request.dbsession, context.study),
        "earned": len(services.earned(request.dbsession, context.study, definition)),
        "state_labels": services.STATE_LABELS,
        "money": lambda cents, currency: money.shown(cents, currency, request.locale_name),
        "values": extra.pop("values", None) or _plan_values(context, request),
        "errors": {},
        "refusal": None,
        **extra,
    }


@page_view(PaymentsResource, PAGE, Permission.MANAGE_PAYMENTS)
def payments_page(context: PaymentsResource, request: Request) -> dict[str, Any]:
    return _page(context, request)


@view_config(
    context=PaymentsResource,
    name="plan",
    request_method="POST",
    renderer=PAGE,
    permission=Permission.MANAGE_PAYMENTS,
)
def save_plan(context: PaymentsResource, request: Request) -> Any:
    definition = _definition(context)
    names = [visit.name for visit in definition.schedule.visits] if definition else []
    values, errors = services.parse_plan(request.POST, names)
    if values is None:
        request.response.status_int = 422
        return _page(context, request, values=dict(request.POST), errors=errors)
    services.save_plan(request.dbsession, context.study, values, request.actor)
    request.session.flash(request.localizer.translate(_("The compensation plan was saved.")))
    return redirect(request, request.resource_url(context))


@view_config(
    context=PaymentsResource,
    name="create-order",
    request_method="POST",
    renderer=PAGE,
    permission=Permission.MANAGE_PAYMENTS,
)
def create_order(context: PaymentsResource, request: Request) -> Any:
    try:
        order = services.create_order(
            request.dbsession, context.study, _definition(context), request.actor
        )
    except services.Refused as refusal:
        request.response.status_int = 422
        return _page(context, request, refusal=refusal.message)
    return redirect(request, request.resource_url(context, str(order.number), ""))


# --- an order --------------------------------------------------------------------------------


def _order(context: PaymentOrderResource, request: Request, **extra: Any) -> dict[str, Any]:
    order = context.order
    lines = services.order_lines(request.dbsession, order)
    return {
        "order": order,
        "lines": lines,
        "total": sum(row.line.amount_cents for row in lines),
        "definition": _definition(context),
        "parse_earning": services.parse_earning,
        "state_labels": services.STATE_LABELS,
        "states": list(OrderState),
        "money": lambda cents: money.shown(cents, order.currency, request.locale_name),
        "plain": lambda cents: money.plain(cents, order.currency),
        "errors": {},
        "values": {},
        "editing": None,
        "refusal": None,
        **extra,
    }


@page_view(PaymentOrderResource, ORDER, Permission.MANAGE_PAYMENTS)
def order_page(context: PaymentOrderResource, request: Request) -> dict[str, Any]:
    raw = request.GET.get("edit", "")
    editing = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None
    return _order(context, request, editing=editing)


@view_config(
    context=PaymentOrderResource,
    name="line",
    request_method="POST",
    renderer=ORDER,
    permission=Permission.MANAGE_PAYMENTS,
)
def change_line(context: PaymentOrderResource, request: Request) -> Any:
    raw_id = request.POST.get("line", "")
    if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 12):
        raise HTTPNotFound()
    try:
        services.change_line(
            request.dbsession,
            context.order,
            int(raw_id),
            request.POST.get("amount", ""),
            request.POST.get("reason", ""),
            request.actor,
        )
    except LookupError:
        raise HTTPNotFound() from None
    except ValidationError as error:
        request.response.status_int = 422
        return _order(
            context,
            request,
            errors={error.field: error.message},
            values=dict(request.POST),
            editing=int(raw_id),
        )
    except services.Refused as refusal:
        request.response.status_int = 422
        return _order(context, request, refusal=refusal.message)
    request.session.flash(request.localizer.translate(_("The line was changed.")))
    return redirect(request, request.resource_url(context))


def _transition(context: PaymentOrderResource, request: Request, act: Any, done: Any) -> Any:
    try:
        act()
    except ValidationError as error:
        request.response.status_int = 422
        return _order(
            context, request, errors={error.field: error.message}, values=dict(request.POST)
        )
    except services.Refused as refusal:
        request.response.status_int = 422
        return _order(context, request, refusal=refusal.message)
    request.session.flash(request.localizer.translate(done))
    return redirect(request, request.resource_url(context))


@view_config(
    context=PaymentOrderResource,
    name="validate",
    request_method="POST",
    renderer=ORDER,
    permission=Permission.MANAGE_PAYMENTS,
)
def validate_order(context: PaymentOrderResource, request: Request) -> Any:
    return _transition(
        context,
        request,
        lambda: services.validate(request.dbsession, context.order, request.actor),
        _("The order was validated."),
    )


@view_config(
    context=PaymentOrderResource,
    name="paid",
    request_method="POST",
    renderer=ORDER,
    permission=Permission.MANAGE_PAYMENTS,
)
def mark_paid(context: PaymentOrderResource, request: Request) -> Any:
    def act() -> None:
        try:
            paid_on = date.fromisoformat(request.POST.get("paid_on", "").strip())
        except ValueError:
            raise ValidationError(
                "paid_on",
                _("Enter a date, for example ${example}.", mapping={"example": "2026-01-31"}),
            ) from None
        services.mark_paid(request.dbsession, context.order, paid_on, request.today, request.actor)

    return _transition(context, request, act, _("The order was marked paid."))


@view_config(
    context=PaymentOrderResource,
    name="export",
    request_method="POST",
    renderer=ORDER,
    permission=Permission.MANAGE_PAYMENTS,
)
def export_order(context: PaymentOrderResource, request: Request) -> Any:
    """The bank file (SEPA XML or CSV): a download, recorded; the first marks it exported."""
    order = context.order
    file_format = request.POST.get("format", "")
    if file_format not in ("xml", "csv"):
        request.response.status_int = 422
        return _order(context, request, errors={"format": _("Choose one of the options offered.")})
    if order.state not in (OrderState.VALIDATED, OrderState.EXPORTED):
        request.response.status_int = 422
        return _order(context, request, refusal=_("Validate the order before exporting it."))
    plan = services.plan_of(request.dbsession, context.study)
    try:
        payees = services.payees(request.registry, request.dbsession, order, request.actor)
        if file_format == "xml":
            body = files.pain001(order, plan, payees, datetime.now(UTC), request.today)
        else:
            body = files.csv_file(order, plan, payees)
        services.record_export(request.dbsession, order, file_format, payees, request.actor)
    except services.Refused as refusal:
        request.response.status_int = 422
        return _order(context, request, refusal=refusal.message)
    name = f"{context.study.code}-payments-{order.number}.{file_format}"
    return Response(
        body=body,
        content_type="application/xml" if file_format == "xml" else "text/csv",
        charset="utf-8",
        content_disposition=f'attachment; filename="{name}"',
        cache_control="no-store",
    )


# --- a subject's bank details ----------------------------------------------------------------


def _panel(context: SubjectResource, request: Request, **extra: Any) -> dict[str, Any]:
    row = request.dbsession.get(SubjectBankAccount, context.subject.id)
    balance = services.ledger_balance(request.dbsession, context.subject.id)
    return {
        "masked": row.masked if row else None,
        "balance": [
            (
                money.shown(credited, currency, request.locale_name),
                money.shown(paid, currency, request.locale_name),
            )
            for currency, (credited, paid) in sorted(balance.items())
        ],
        "details": None,
        "editing": False,
        "editable": request.has_permission(Permission.CHANGE_CONTACT, context),
        "can_reveal": request.has_permission(Permission.VIEW_PII, context),
        "errors": {},
        "values": {},
        **extra,
    }


@page_view(SubjectResource, PANEL, Permission.VIEW_SUBJECT, name="bank-details")
def bank_panel(context: SubjectResource, request: Request) -> dict[str, Any]:
    """The subject's bank details, masked; the edit form on request for site staff."""
    return _panel(context, request, editing=request.GET.get("edit") == "1")


@page_view(SubjectResource, PANEL, Permission.VIEW_PII, name="bank-details-shown")
def reveal_bank_details(context: SubjectResource, request: Request) -> dict[str, Any]:
    """The details in full, on request only: each showing is recorded (without them)."""
    details = services.reveal_bank_details(
        request.registry, request.dbsession, context.subject, request.actor
    )
    return _panel(context, request, details=details)


@view_config(
    context=SubjectResource,
    name="bank-details",
    request_method="POST",
    renderer=PANEL,
    permission=Permission.CHANGE_CONTACT,
)
def save_bank_details(context: SubjectResource, request: Request) -> Any:
    errors: dict[str, Any] = {}
    iban = holder = ""
    try:
        iban = bank.clean_iban(request.POST.get("iban", ""))
    except ValidationError as error:
        errors[error.field] = error.message
    try:
        holder = bank.clean_holder(request.POST.get("holder", ""))
    except ValidationError as error:
        errors[error.field] = error.message
    if errors:
        request.response.status_int = 422
        values = {
            "iban": request.POST.get("iban", "")[:50],
            "holder": request.POST.get("holder", "")[:100],
        }
        return _panel(context, request, editing=True, errors=errors, values=values)
    services.save_bank_details(
        request.registry,
        request.dbsession,
        context.subject,
        bank.BankDetails(iban, holder),
        request.actor,
    )
    request.session.flash(request.localizer.translate(_("The bank details were saved.")))
    return redirect(request, request.resource_url(context))
