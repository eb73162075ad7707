"""What pages show of monitoring: every signature of a node, valid or broken, with the signer's
printed name, the date and time, and the meaning (21 CFR Part 11 §11.50); and which of freeze,
lock and unlock apply to it."""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.request import Request
from sqlalchemy import bindparam, select

from datacapt.models import (
    FormInstance,
    LockState,
    Signature,
    SignatureScope,
    SignatureState,
    SignedForm,
    Subject,
    VisitInstance,
)
from datacapt.resources import FormEntryResource, SubjectResource, VisitResource

#: A node's signatures, newest first, built once: SQLAlchemy neither rebuilds them nor computes
#: their cache keys per request (a form page that asks none built one for nothing).
_NEWEST_FIRST = select(Signature).order_by(Signature.signed_at.desc(), Signature.id.desc())
_OF_FORM = _NEWEST_FIRST.where(
    Signature.id.in_(
        select(SignedForm.signature_id).where(SignedForm.form_instance_id == bindparam("node"))
    )
)
_OF_VISIT = _NEWEST_FIRST.where(
    Signature.scope == SignatureScope.VISIT, Signature.visit_instance_id == bindparam("node")
)
_OF_CASEBOOK = _NEWEST_FIRST.where(
    Signature.scope == SignatureScope.CASEBOOK, Signature.subject_id == bindparam("node")
)


def signatures_of(request: Request, context: object) -> list[Signature]:
    """The signatures of a form (any that covers it), a visit, or a casebook; newest first.

    A form never signed has none and is not asked: signing marks every form it covers signed,
    and a form stays signed or broken after that (every form page would otherwise ask)."""
    if isinstance(context, FormEntryResource) and context.instance is not None:
        if context.instance.signature_state is SignatureState.UNSIGNED:
            return []
        statement, node = _OF_FORM, context.instance.id
    elif isinstance(context, VisitResource) and context.instance is not None:
        statement, node = _OF_VISIT, context.instance.id
    elif isinstance(context, SubjectResource):
        statement, node = _OF_CASEBOOK, context.subject.id
    else:
        return []
    return list(request.dbsession.scalars(statement, {"node": node}))


@dataclass(frozen=True)
class StateActions:
    """Which of freeze, lock and unlock apply to a node in its present state, and whether its
    queries not closed yet keep it from being locked (the page says so instead of a refusal)."""

    freeze: bool
    lock: bool
    unlock: bool
    queries_block_lock: bool = False


def state_actions(request: Request, context: object) -> StateActions | None:
    """What a form, a visit or a casebook can be moved to from its own state; None where there
    is no data to freeze yet. Reads the rows the resource holds, no query."""
    signed = False
    blocked = False
    if isinstance(context, FormEntryResource):
        node: FormInstance | VisitInstance | Subject | None = context.instance
        if context.instance is not None:
            signed = context.instance.signature_state is SignatureState.SIGNED
            blocked = context.instance.open_queries > 0  # not closed, answered ones included
    elif isinstance(context, VisitResource):
        node = context.instance
    elif isinstance(context, SubjectResource):
        node = context.subject
    else:
        return None
    if node is None:
        return None
    state = node.lock_state
    can_lock = state is not LockState.LOCKED
    return StateActions(
        freeze=state is LockState.OPEN,
        lock=can_lock and not blocked,
        unlock=state is not LockState.OPEN or signed,
        queries_block_lock=can_lock and blocked,
    )
