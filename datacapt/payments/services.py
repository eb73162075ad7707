"""The rules of payments: the plan, what subjects earned, orders and their state machine, the
ledger.

**What is earned** is computed when an order is made (not by reacting to each save): a visit of
the plan is earned once every form the design lists for it is complete (and none is in
progress), the study's completion once the subject's status is *completed*. Each earning is in
one order at most, ever (a unique constraint), so an order takes what no earlier order took,
and a visit re-opened later is not paid twice. Reading the casebook at that moment keeps the
payments capability out of the data-entry transaction and its hot path.

**Orders** move draft → validated → exported → paid, never back: a draft's lines may be changed
(with a reason), validating credits each line to the ledger, the first download of its bank file
marks it exported, and marking it paid (with the day of payment) records the payments. Every
step is one audit event (who, old → new state); line changes record old → new amount and the
reason. The ledger is append-only (database triggers refuse UPDATE and DELETE).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pyramid.registry import Registry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.ecrf.definition import Definition
from datacapt.i18n import _
from datacapt.models import (
    FormInstance,
    FormStatus,
    LedgerKind,
    OrderState,
    PaymentLedgerEntry,
    PaymentLine,
    PaymentOrder,
    PaymentPlan,
    PaymentPlanVisit,
    Site,
    Study,
    Subject,
    SubjectBankAccount,
    SubjectStatus,
)
from datacapt.payments import bank, money
from datacapt.validation import ValidationError

COMPLETION = "completion"
TRANSITIONS = {
    OrderState.DRAFT: OrderState.VALIDATED,
    OrderState.VALIDATED: OrderState.EXPORTED,
    OrderState.EXPORTED: OrderState.PAID,
}
STATE_LABELS = {
    OrderState.DRAFT: _("Draft"),
    OrderState.VALIDATED: _("Validated"),
    OrderState.EXPORTED: _("Exported"),
    OrderState.PAID: _("Paid"),
}


class Refused(Exception):
    """The act is not possible now; the message says why (shown to the user, 422)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanValues:
    currency: str
    completion_cents: int | None
    visits: Mapping[str, int]  # visit name -> cents (visits that pay nothing are left out)
    debtor_name: str
    debtor_iban: str
    debtor_bic: str
    reference: str


def plan_of(dbsession: Session, study: Study) -> PaymentPlan | None:
    return dbsession.get(PaymentPlan, study.id)


def visit_amounts(dbsession: Session, study: Study) -> dict[str, int]:
    return dict(
        dbsession.execute(
            select(PaymentPlanVisit.visit, PaymentPlanVisit.amount_cents).where(
                PaymentPlanVisit.study_id == study.id
            )
        ).all()
    )


def parse_plan(
    form: Mapping[str, str], visit_names: Iterable[str]
) -> tuple[PlanValues | None, dict[str, Any]]:
    """The plan's form → its values, or the errors by field (every field is checked)."""
    errors: dict[str, Any] = {}
    try:
        currency = money.clean_currency(form.get("currency", ""))
    except ValidationError as error:
        errors[error.field] = error.message
        currency = "EUR"  # to check the amounts' form all the same
    completion = None
    try:
        completion = money.optional_amount(form.get("completion", ""), currency, "completion")
    except ValidationError as error:
        errors[error.field] = error.message
    visits: dict[str, int] = {}
    for name in visit_names:
        field = f"visit-{name}"
        try:
            cents = money.optional_amount(form.get(field, ""), currency, field)
        except ValidationError as error:
            errors[error.field] = error.message
            continue
        if cents:
            visits[name] = cents
    debtor_name = " ".join(form.get("debtor_name", "").split())
    if len(debtor_name) > bank.MAX_HOLDER:
        errors["debtor_name"] = _(
            "At most ${count} characters.", mapping={"count": bank.MAX_HOLDER}
        )
    debtor_iban = ""
    if form.get("debtor_iban", "").strip():
        try:
            debtor_iban = bank.clean_iban(form["debtor_iban"], "debtor_iban")
        except ValidationError as error:
            errors[error.field] = error.message
    try:
        debtor_bic = bank.clean_bic(form.get("debtor_bic", ""), "debtor_bic")
    except ValidationError as error:
        errors[error.field] = error.message
        debtor_bic = ""
    reference = " ".join(form.get("reference", "").split())
    if len(reference) > 100:
        errors["reference"] = _("At most ${count} characters.", mapping={"count": 100})
    if errors:
        return None, errors
    return PlanValues(
        currency, completion, visits, debtor_name, debtor_iban, debtor_bic, reference
    ), {}


def _plan_fields(plan: PaymentPlan | None, visits: Mapping[str, int]) -> dict[str, Any]:
    if plan is None:
        return {}
    fields: dict[str, Any] = {
        "currency": plan.currency,
        "completion": plan.completion_cents,
        "debtor_name": plan.debtor_name,
        "debtor_iban": plan.debtor_iban,
        "debtor_bic": plan.debtor_bic,
        "reference": plan.reference,
    }
    fields.update({f"visit:{name}": cents for name, cents in visits.items()})
    return fields


def save_plan(dbsession: Session, study: Study, values: PlanValues, actor: Actor) -> None:
    """Store the plan; one audit event per changed field (old → new)."""
    plan = plan_of(dbsession, study)
    old = _plan_fields(plan, visit_amounts(dbsession, study))
    if plan is None:
        plan = PaymentPlan(study_id=study.id, tenant_id=study.tenant_id)
        dbsession.add(plan)
    plan.currency = values.currency
    plan.completion_cents = values.completion_cents
    plan.debtor_name, plan.debtor_iban = values.debtor_name, values.debtor_iban
    plan.debtor_bic, plan.reference = values.debtor_bic, values.reference
    plan.updated_at = datetime.now(UTC)
    dbsession.flush()
    existing = {
        row.visit: row
        for row in dbsession.scalars(
            select(PaymentPlanVisit).where(PaymentPlanVisit.study_id == study.id)
        )
    }
    for name, row in existing.items():
        if name not in values.visits:
            dbsession.delete(row)
    for name, cents in values.visits.items():
        row = existing.get(name) or PaymentPlanVisit(study_id=study.id, visit=name)
        row.amount_cents = cents
        dbsession.add(row)
    new = _plan_fields(plan, values.visits)
    for name in old:
        new.setdefault(name, None)
    audit.record_changes(
        dbsession,
        actor,
        old,
        new,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="payments.plan_changed",
        entity_type="payment_plan",
        entity_id=study.id,
    )


# --- earnings --------------------------------------------------------------------------------


def visit_earning(visit: str, repeat: int) -> str:
    return f"visit:{visit}:{repeat}"


def parse_earning(earning: str) -> tuple[str, str | None, int]:
    """``visit:baseline:2`` → ("visit", "baseline", 2); ``completion`` → ("completion", None, 1)."""
    if earning == COMPLETION:
        return COMPLETION, None, 1
    _prefix, rest = earning.split(":", 1)
    visit, repeat = rest.rsplit(":", 1)
    return "visit", visit, int(repeat)


def earned(
    dbsession: Session, study: Study, definition: Definition | None
) -> list[tuple[int, str, int]]:
    """What subjects of ``study`` earned and no order holds yet: (subject id, earning, cents)."""
    plan = plan_of(dbsession, study)
    if plan is None:
        return []
    amounts = visit_amounts(dbsession, study)
    required = {
        visit.name: set(visit.forms)
        for visit in (definition.schedule.visits if definition else [])
        if visit.name in amounts and visit.forms
    }
    found: list[tuple[int, str, int]] = []
    if required:
        rows = dbsession.execute(
            select(
                FormInstance.subject_id,
                FormInstance.visit,
                FormInstance.visit_repeat,
                FormInstance.form,
                FormInstance.status,
            ).where(
                FormInstance.study_id == study.id,
                FormInstance.visit.in_(list(required)),
                FormInstance.status != FormStatus.REMOVED,
            )
        ).all()
        complete: dict[tuple[int, str, int], set[str]] = {}
        unfinished: set[tuple[int, str, int]] = set()
        for subject_id, visit, repeat, form, status in rows:
            key = (subject_id, visit, repeat)
            if status == FormStatus.COMPLETE:
                complete.setdefault(key, set()).add(form)
            else:
                unfinished.add(key)
        for key, forms in sorted(complete.items()):
            subject_id, visit, repeat = key
            if key not in unfinished and required[visit] <= forms:
                found.append((subject_id, visit_earning(visit, repeat), amounts[visit]))
    if plan.completion_cents:
        for subject_id in dbsession.scalars(
            select(Subject.id)
            .where(Subject.study_id == study.id, Subject.status == SubjectStatus.COMPLETED)
            .order_by(Subject.id)
        ):
            found.append((subject_id, COMPLETION, plan.completion_cents))
    taken = set(
        dbsession.execute(
            select(PaymentLine.subject_id, PaymentLine.earning).where(
                PaymentLine.study_id == study.id
            )
        ).all()
    )
    return [entry for entry in found if (entry[0], entry[1]) not in taken]


# --- orders ----------------------------------------------------------------------------------


def create_order(
    dbsession: Session, study: Study, definition: Definition | None, actor: Actor
) -> PaymentOrder:
    # the plan's row locked: two orders made at once do not both take the same earnings
    plan = dbsession.get(PaymentPlan, study.id, with_for_update=True)
    if plan is None:
        raise Refused(_("Set the compensation plan first."))
    earnings = earned(dbsession, study, definition)
    if not earnings:
        raise Refused(_("No subject has earned anything that is not in an order yet."))
    number = (
        dbsession.scalar(
            select(func.max(PaymentOrder.number)).where(PaymentOrder.study_id == study.id)
        )
        or 0
    ) + 1
    order = PaymentOrder(
        tenant_id=study.tenant_id,
        study_id=study.id,
        number=number,
        state=OrderState.DRAFT,
        currency=plan.currency,
        created_by_id=actor.user_id,
    )
    dbsession.add(order)
    dbsession.flush()
    dbsession.add_all(
        PaymentLine(
            tenant_id=study.tenant_id,
            study_id=study.id,
            order_id=order.id,
            subject_id=subject_id,
            earning=earning,
            planned_cents=cents,
            amount_cents=cents,
        )
        for subject_id, earning, cents in earnings
    )
    dbsession.flush()
    _order_event(dbsession, actor, order, "payments.order_created", None, OrderState.DRAFT)
    return order


def _order_event(
    dbsession: Session,
    actor: Actor,
    order: PaymentOrder,
    action: str,
    old: Any,
    new: Any,
    reason: str | None = None,
) -> None:
    audit.record(
        dbsession,
        actor,
        tenant_id=order.tenant_id,
        study_id=order.study_id,
        action=action,
        entity_type="payment_order",
        entity_id=order.id,
        field="state",
        old=old,
        new=new,
        reason=reason,
    )


@dataclass(frozen=True)
class OrderSummary:
    order: PaymentOrder
    lines: int
    total_cents: int


def orders(dbsession: Session, study: Study) -> list[OrderSummary]:
    """The study's orders, newest first, with their number of lines and total (one query)."""
    rows = dbsession.execute(
        select(
            PaymentOrder,
            func.count(PaymentLine.id),
            func.coalesce(func.sum(PaymentLine.amount_cents), 0),
        )
        .outerjoin(PaymentLine, PaymentLine.order_id == PaymentOrder.id)
        .where(PaymentOrder.study_id == study.id)
        .group_by(PaymentOrder.id)
        .order_by(PaymentOrder.number.desc())
    ).all()
    return [OrderSummary(order, count, int(total)) for order, count, total in rows]


@dataclass(frozen=True)
class LineRow:
    line: PaymentLine
    label: str
    site_code: str
    masked: str | None  # None: no bank details


def order_lines(dbsession: Session, order: PaymentOrder) -> list[LineRow]:
    rows = dbsession.execute(
        select(PaymentLine, Subject.label, Site.code, SubjectBankAccount.masked)
        .join(Subject, Subject.id == PaymentLine.subject_id)
        .join(Site, Site.id == Subject.site_id)
        .outerjoin(SubjectBankAccount, SubjectBankAccount.subject_id == PaymentLine.subject_id)
        .where(PaymentLine.order_id == order.id)
        .order_by(Subject.label, PaymentLine.id)
    ).all()
    return [LineRow(line, label, site, masked) for line, label, site, masked in rows]


def _lock(dbsession: Session, order: PaymentOrder) -> None:
    """Serialise acts on one order (PostgreSQL row lock; SQLite locks the database)."""
    dbsession.refresh(order, with_for_update=True)


def _require(order: PaymentOrder, *states: OrderState) -> None:
    if order.state not in states:
        raise Refused(_("Not possible in the order's current state."))


def change_line(
    dbsession: Session, order: PaymentOrder, line_id: int, text: str, reason: str, actor: Actor
) -> PaymentLine:
    """A draft's line gets another amount; the reason is required and audited with old → new."""
    _lock(dbsession, order)
    _require(order, OrderState.DRAFT)
    line = dbsession.scalar(
        select(PaymentLine).where(PaymentLine.order_id == order.id, PaymentLine.id == line_id)
    )
    if line is None:
        raise LookupError(line_id)
    cents = money.parse_amount(text, order.currency, "amount")
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError("reason", _("Give the reason for the change."))
    if len(reason) > 2000:
        raise ValidationError("reason", _("At most ${count} characters.", mapping={"count": 2000}))
    if cents == line.amount_cents:
        return line
    old = line.amount_cents
    line.amount_cents, line.reason = cents, reason
    audit.record(
        dbsession,
        actor,
        tenant_id=order.tenant_id,
        study_id=order.study_id,
        action="payments.line_changed",
        entity_type="payment_line",
        entity_id=line.id,
        field="amount_cents",
        old=old,
        new=cents,
        reason=reason,
    )
    return line


def validate(dbsession: Session, order: PaymentOrder, actor: Actor) -> None:
    """Draft → validated: every subject paid has bank details; each line is credited."""
    _lock(dbsession, order)
    _require(order, OrderState.DRAFT)
    lines = order_lines(dbsession, order)
    missing = sorted({row.label for row in lines if row.masked is None and row.line.amount_cents})
    if missing:
        raise Refused(
            _(
                "No bank details for: ${labels}.",
                mapping={"labels": ", ".join(missing)},
            )
        )
    if not any(row.line.amount_cents for row in lines):
        raise Refused(_("The order pays nothing."))
    _ledger(dbsession, order, [row.line for row in lines], LedgerKind.CREDITED, actor)
    order.state, order.validated_at = OrderState.VALIDATED, datetime.now(UTC)
    _order_event(
        dbsession, actor, order, "payments.order_validated", OrderState.DRAFT, OrderState.VALIDATED
    )


def _ledger(
    dbsession: Session,
    order: PaymentOrder,
    lines: Iterable[PaymentLine],
    kind: LedgerKind,
    actor: Actor,
) -> None:
    dbsession.add_all(
        PaymentLedgerEntry(
            tenant_id=order.tenant_id,
            study_id=order.study_id,
            order_id=order.id,
            line_id=line.id,
            subject_id=line.subject_id,
            kind=kind,
            amount_cents=line.amount_cents,
            currency=order.currency,
            recorded_by_id=actor.user_id,
        )
        for line in lines
        if line.amount_cents
    )


@dataclass(frozen=True)
class Payee:
    end_to_end_id: str
    holder: str
    iban: str
    cents: int
    subject_id: int = 0  # for the access log; never written into a file
    site_id: int = 0


def payees(
    registry: Registry, dbsession: Session, order: PaymentOrder, actor: Actor
) -> list[Payee]:
    """Who is paid how much, by subject (their lines added up), details opened for the file
    (each subject's in the personal-data access log)."""
    rows = dbsession.execute(
        select(
            PaymentLine.subject_id,
            func.sum(PaymentLine.amount_cents),
            func.min(PaymentLine.id),
        )
        .where(PaymentLine.order_id == order.id, PaymentLine.amount_cents > 0)
        .group_by(PaymentLine.subject_id)
        .order_by(func.min(PaymentLine.id))
    ).all()
    accounts = {
        row.subject_id: row
        for row in dbsession.scalars(
            select(SubjectBankAccount).where(
                SubjectBankAccount.subject_id.in_([subject_id for subject_id, _s, _m in rows])
            )
        )
    }
    found = []
    subjects = {
        subject.id: subject
        for subject in dbsession.scalars(select(Subject).where(Subject.id.in_(list(accounts))))
    }
    for subject_id, cents, first_line in rows:
        account = accounts.get(subject_id)
        if account is None:
            raise Refused(_("A subject of the order has no bank details any more."))
        details = bank.open_logged(dbsession, registry, account, actor, action="export")
        found.append(
            Payee(
                f"DC-{order.study_id}-{order.number}-{first_line}",
                details.holder,
                details.iban,
                int(cents),
                subject_id,
                subjects[subject_id].site_id,
            )
        )
    return found


def record_export(
    dbsession: Session, order: PaymentOrder, file_format: str, payees: list[Payee], actor: Actor
) -> None:
    """A bank file was downloaded: the first marks the order exported; each download is
    audited, and in each payee's own trail the export of their bank details (without them)."""
    _lock(dbsession, order)
    _require(order, OrderState.VALIDATED, OrderState.EXPORTED)
    if order.state == OrderState.VALIDATED:
        order.state, order.exported_at = OrderState.EXPORTED, datetime.now(UTC)
        _order_event(
            dbsession,
            actor,
            order,
            "payments.order_exported",
            OrderState.VALIDATED,
            OrderState.EXPORTED,
        )
    audit.record(
        dbsession,
        actor,
        tenant_id=order.tenant_id,
        study_id=order.study_id,
        action="payments.file_downloaded",
        entity_type="payment_order",
        entity_id=order.id,
        field="format",
        new=f"{file_format} ({len(payees)})",
    )
    audit.record_many(
        dbsession,
        actor,
        [
            {
                "tenant_id": order.tenant_id,
                "study_id": order.study_id,
                "site_id": payee.site_id,
                "subject_id": payee.subject_id,
                "action": "payments.bank_details_exported",
                "entity_type": "subject_bank_account",
                "entity_id": payee.subject_id,
                "field": "format",
                "new": file_format,
                "reason": f"payment order {order.number}",
            }
            for payee in payees
        ],
    )


def mark_paid(
    dbsession: Session, order: PaymentOrder, paid_on: date, today: date, actor: Actor
) -> None:
    _lock(dbsession, order)
    _require(order, OrderState.EXPORTED)
    if paid_on > today:
        raise ValidationError("paid_on", _("The payment date cannot be in the future."))
    exported_on = order.exported_at.date() if order.exported_at else None
    if exported_on is not None and paid_on < exported_on:
        raise ValidationError("paid_on", _("The payment date cannot be before the export."))
    lines = dbsession.scalars(select(PaymentLine).where(PaymentLine.order_id == order.id))
    _ledger(dbsession, order, lines, LedgerKind.PAID, actor)
    order.state, order.paid_on = OrderState.PAID, paid_on
    _order_event(
        dbsession,
        actor,
        order,
        "payments.order_paid",
        OrderState.EXPORTED,
        OrderState.PAID,
        reason=paid_on.isoformat(),
    )


def ledger_balance(dbsession: Session, subject_id: int) -> dict[str, tuple[int, int]]:
    """A subject's credited and paid totals, by currency."""
    rows = dbsession.execute(
        select(
            PaymentLedgerEntry.currency,
            PaymentLedgerEntry.kind,
            func.sum(PaymentLedgerEntry.amount_cents),
        )
        .where(PaymentLedgerEntry.subject_id == subject_id)
        .group_by(PaymentLedgerEntry.currency, PaymentLedgerEntry.kind)
    ).all()
    totals: dict[str, list[int]] = {}
    for currency, kind, cents in rows:
        totals.setdefault(currency, [0, 0])[0 if kind == LedgerKind.CREDITED else 1] += int(cents)
    return {currency: (credited, paid) for currency, (credited, paid) in totals.items()}


def save_bank_details(
    registry: Registry,
    dbsession: Session,
    subject: Subject,
    details: bank.BankDetails,
    actor: Actor,
) -> None:
    bank.seal(registry, subject, details, dbsession)
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="payments.bank_details_changed",
        entity_type="subject_bank_account",
        entity_id=subject.id,
    )


def reveal_bank_details(
    registry: Registry, dbsession: Session, subject: Subject, actor: Actor
) -> bank.BankDetails | None:
    """The subject's bank details in full (None: none on file), logged in the personal-data
    access log and recorded in their trail (without them)."""
    row = dbsession.get(SubjectBankAccount, subject.id)
    if row is None:
        return None
    details = bank.open_logged(dbsession, registry, row, actor, action="view")
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="payments.bank_details_viewed",
        entity_type="subject_bank_account",
        entity_id=subject.id,
    )
    return details
