"""The everyday worklists, read from the status rows (one per subject × form) and the queries:
forms to complete and queries to answer (site staff), forms awaiting SDV and answered queries to
close (monitors), forms ready to lock (data managers), forms awaiting signature (investigators).

Each leaves out what the form's state forbids doing (a locked form takes no entry, SDV or query
answer), so a list never offers work its reader would be refused.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased

from datacapt.i18n import _
from datacapt.models import (
    FormInstance,
    FormStatus,
    LockState,
    Query,
    QueryState,
    SdvStatus,
    SignatureState,
    Site,
    Subject,
    VisitInstance,
)
from datacapt.permissions import Permission
from datacapt.worklists.registry import Scope, Worklist

FORMS = "worklists/_forms.jinja2"
QUERIES = "worklists/_queries.jinja2"


def _forms(scope: Scope, *conditions: Any) -> Select[Any]:
    """Forms of the scope's sites meeting ``conditions``, the longest untouched first.

    The subject and the site are outer joins (their keys are never null, so the rows are the
    same): read for the page's columns only, PostgreSQL leaves them out of the count."""
    return (
        select(
            FormInstance.id,
            FormInstance.visit,
            FormInstance.visit_repeat,
            FormInstance.form,
            FormInstance.repeat,
            FormInstance.status,
            FormInstance.sdv_status,
            FormInstance.review_status,
            FormInstance.lock_state,
            FormInstance.signature_state,
            FormInstance.open_queries,
            FormInstance.updated_at,
            Subject.label,
            Site.code.label("site_code"),
        )
        .outerjoin(Subject, Subject.id == FormInstance.subject_id)
        .outerjoin(Site, Site.id == FormInstance.site_id)
        .where(
            FormInstance.study_id == scope.study.id,
            FormInstance.site_id.in_(scope.site_ids),
            FormInstance.status != FormStatus.REMOVED,
            *conditions,
        )
        .order_by(FormInstance.updated_at, FormInstance.id)
    )


def _queries(scope: Scope, state: QueryState) -> Select[Any]:
    """Queries in ``state`` that can still be answered, the oldest first: on an item or a
    form not locked, on a whole visit (a visit is not locked while it has one) or on the
    subject.

    Whether its form is locked is a query's own subquery, looked up by the form's key: as a
    join, PostgreSQL read every form of the study (a 74,000-form study: 23 ms a count) to keep
    the few the queries name. The form, visit, subject and site are outer joins read for the
    page's columns only, so the count leaves them out and the page joins the rows it shows."""
    return (
        select(
            Query.number,
            Query.item_oid,
            Query.raised_at,
            Query.answered_at,
            func.coalesce(FormInstance.visit, VisitInstance.visit).label("visit"),
            func.coalesce(FormInstance.visit_repeat, VisitInstance.repeat).label("visit_repeat"),
            FormInstance.form,
            FormInstance.repeat,
            Subject.label,
            Site.code.label("site_code"),
        )
        .outerjoin(FormInstance, FormInstance.id == Query.form_instance_id)
        .outerjoin(VisitInstance, VisitInstance.id == Query.visit_instance_id)
        .outerjoin(Subject, Subject.id == Query.subject_id)
        .outerjoin(Site, Site.id == Query.site_id)
        .where(
            Query.study_id == scope.study.id,
            Query.site_id.in_(scope.site_ids),
            Query.state == state,
            or_(Query.form_instance_id.is_(None), _form_lock_state() != LockState.LOCKED),
        )
        .order_by(Query.number)
    )


def _form_lock_state() -> Any:
    """The lock state of a query's form, a scalar subquery (never flattened into a join)."""
    lookup = aliased(FormInstance, name="query_form")
    return select(lookup.lock_state).where(lookup.id == Query.form_instance_id).scalar_subquery()


def forms_to_complete(scope: Scope) -> Select[Any]:
    return _forms(
        scope,
        FormInstance.status == FormStatus.IN_PROGRESS,
        FormInstance.lock_state == LockState.OPEN,
    )


def queries_to_answer(scope: Scope) -> Select[Any]:
    return _queries(scope, QueryState.OPEN)


def forms_awaiting_sdv(scope: Scope) -> Select[Any]:
    return _forms(
        scope,
        FormInstance.sdv_status.in_((SdvStatus.AWAITING, SdvStatus.CHANGED)),
        FormInstance.lock_state != LockState.LOCKED,
    )


def queries_to_close(scope: Scope) -> Select[Any]:
    return _queries(scope, QueryState.ANSWERED)


def forms_ready_to_lock(scope: Scope) -> Select[Any]:
    """Complete, nothing left to verify, no open query, not locked yet."""
    return _forms(
        scope,
        FormInstance.status == FormStatus.COMPLETE,
        FormInstance.sdv_status.in_((SdvStatus.NOT_REQUIRED, SdvStatus.VERIFIED)),
        FormInstance.open_queries == 0,
        FormInstance.lock_state != LockState.LOCKED,
    )


def forms_awaiting_signature(scope: Scope) -> Select[Any]:
    """Complete forms no signature covers (never signed, or the signature was invalidated)."""
    return _forms(
        scope,
        FormInstance.status == FormStatus.COMPLETE,
        FormInstance.signature_state != SignatureState.SIGNED,
    )


STANDARD_WORKLISTS = (
    Worklist(
        "forms-to-complete",
        _("Forms to complete"),
        Permission.ENTER_DATA,
        forms_to_complete,
        FORMS,
        order=10,
    ),
    Worklist(
        "queries-to-answer",
        _("Open queries to answer"),
        Permission.ANSWER_QUERY,
        queries_to_answer,
        QUERIES,
        order=30,
        key=Query.number,
    ),
    Worklist(
        "forms-awaiting-sdv",
        _("Forms awaiting SDV"),
        Permission.VERIFY_SOURCE,
        forms_awaiting_sdv,
        FORMS,
        order=40,
    ),
    Worklist(
        "queries-to-close",
        _("Answered queries to close"),
        Permission.RAISE_QUERY,
        queries_to_close,
        QUERIES,
        order=50,
        key=Query.number,
    ),
    Worklist(
        "forms-ready-to-lock",
        _("Forms ready to lock"),
        Permission.LOCK_DATA,
        forms_ready_to_lock,
        FORMS,
        order=60,
    ),
    Worklist(
        "forms-awaiting-signature",
        _("Forms awaiting signature"),
        Permission.SIGN,
        forms_awaiting_signature,
        FORMS,
        order=70,
    ),
)
