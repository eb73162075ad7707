"""The rules of a query's life: open → answered → closed, re-opened when needed, never deleted.

Every step adds a message to the thread, is audited (old state → new state, the message as the
reason), and recounts the queries not closed and the answered ones on the form instance, the
status row dashboards read, in the same transaction. The recount does not move the form's lock:
a query raised while someone edits the form must not make their save stale.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyramid.i18n import TranslationString
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from datacapt import audit
from datacapt.actor import Actor
from datacapt.counters import next_number
from datacapt.i18n import _
from datacapt.models import (
    FormInstance,
    Query,
    QueryMessage,
    QueryOrigin,
    QueryState,
    QueryStep,
)

#: Long enough for a careful explanation, short enough to read in a thread.
MAX_MESSAGE = 4000
#: The note the system leaves when the data no longer raises the check behind its query.
AUTO_CLOSE_NOTE = "Closed automatically: the data no longer raises the check."

#: step → (the states it may start from, the state it leads to)
MOVES: dict[QueryStep, tuple[frozenset[QueryState], QueryState]] = {
    QueryStep.ANSWERED: (frozenset({QueryState.OPEN}), QueryState.ANSWERED),
    QueryStep.CLOSED: (frozenset({QueryState.OPEN, QueryState.ANSWERED}), QueryState.CLOSED),
    QueryStep.REOPENED: (frozenset({QueryState.ANSWERED, QueryState.CLOSED}), QueryState.OPEN),
}

STATE_LABELS = {
    QueryState.OPEN: _("Open"),
    QueryState.ANSWERED: _("Answered"),
    QueryState.CLOSED: _("Closed"),
}


class QueryRefused(Exception):
    """Nothing was changed; ``message`` says why, next to the input named ``field``."""

    def __init__(self, field: str, message: TranslationString) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def clean_message(raw: str, field: str = "message") -> str:
    """A person's text, trimmed; refused when empty or longer than :data:`MAX_MESSAGE`."""
    text = raw.replace("\r\n", "\n").strip()
    if not text:
        raise QueryRefused(field, _("Write a message."))
    if len(text) > MAX_MESSAGE:
        raise QueryRefused(
            field,
            _(
                "A message holds at most ${limit} characters; this one has ${count}. Shorten it.",
                mapping={"limit": MAX_MESSAGE, "count": len(text)},
            ),
        )
    return text


def recount(dbsession: Session, instance_id: int) -> None:
    """Set the form instance's counts of queries not closed and of answered ones (without
    raising its lock)."""
    dbsession.flush()
    found = dict(
        dbsession.execute(
            select(Query.state, func.count())
            .where(Query.form_instance_id == instance_id, Query.state != QueryState.CLOSED)
            .group_by(Query.state)
        ).all()
    )
    answered = found.get(QueryState.ANSWERED, 0)
    counts = {
        "open_queries": found.get(QueryState.OPEN, 0) + answered,
        "answered_queries": answered,
    }
    dbsession.execute(
        update(FormInstance)
        .where(FormInstance.id == instance_id)
        .values(**counts)
        .execution_options(synchronize_session=False)
    )
    loaded = dbsession.identity_map.get((FormInstance, (instance_id,), None))
    if loaded is not None:
        for name, count in counts.items():
            set_committed_value(loaded, name, count)


def _audit(
    dbsession: Session,
    query: Query,
    step: QueryStep,
    actor: Actor,
    old: QueryState | None,
    body: str,
) -> None:
    audit.record(
        dbsession,
        actor,
        tenant_id=query.tenant_id,
        study_id=query.study_id,
        site_id=query.site_id,
        subject_id=query.subject_id,
        action=f"query.{step.value}",
        entity_type="data_query",
        entity_id=query.id,
        field=query.item_oid,
        old=old.value if old is not None else None,
        new=query.state.value,
        reason=body,
    )


def _message(
    dbsession: Session,
    query: Query,
    step: QueryStep,
    body: str,
    actor: Actor,
    now: datetime,
    *,
    corrected: bool = False,
    system: bool = False,
) -> None:
    dbsession.add(
        QueryMessage(
            tenant_id=query.tenant_id,
            query_id=query.id,
            step=step,
            state=query.state,
            body=body,
            corrected=corrected,
            author_id=None if system else actor.user_id,
            created_at=now,
        )
    )


def raise_query(
    dbsession: Session,
    instance: FormInstance,
    item_oid: str | None,
    body: str,
    actor: Actor,
    *,
    warning_id: int | None = None,
) -> Query:
    """A new open query on an item (``item_oid``) or a whole form (None). With ``warning_id``
    it is a system query following that warning."""
    now = datetime.now(UTC)
    highest = select(func.max(Query.number)).where(Query.study_id == instance.study_id)
    number = next_number(
        dbsession, instance.tenant_id, instance.study_id, "query", highest.scalar_subquery()
    )
    system = warning_id is not None
    query = Query(
        tenant_id=instance.tenant_id,
        study_id=instance.study_id,
        number=number,
        site_id=instance.site_id,
        subject_id=instance.subject_id,
        form_instance_id=instance.id,
        item_oid=item_oid,
        origin=QueryOrigin.SYSTEM if system else QueryOrigin.MANUAL,
        warning_id=warning_id,
        state=QueryState.OPEN,
        raised_at=now,
        raised_by_id=None if system else actor.user_id,
        updated_at=now,
    )
    dbsession.add(query)
    dbsession.flush()
    _message(dbsession, query, QueryStep.RAISED, body, actor, now, system=system)
    _audit(dbsession, query, QueryStep.RAISED, actor, None, body)
    recount(dbsession, instance.id)
    return query


def can_take(query: Query, step: QueryStep) -> bool:
    return query.state in MOVES[step][0]


def move(
    dbsession: Session,
    query: Query,
    step: QueryStep,
    body: str,
    actor: Actor,
    *,
    corrected: bool = False,
    system: bool = False,
) -> None:
    """Take one step (answer, close, re-open); refused if the query's state does not allow it
    (someone else took a step since the page was shown)."""
    if not can_take(query, step):
        raise QueryRefused(
            "message",
            _(
                "This query is ${state} now: someone acted on it since you opened it. "
                "Reload to see the thread.",
                mapping={"state": STATE_LABELS[query.state]},
            ),
        )
    now = datetime.now(UTC)
    old = query.state
    query.state = MOVES[step][1]
    query.updated_at = now
    if step is QueryStep.ANSWERED and query.answered_at is None:
        query.answered_at = now
    query.closed_at = now if query.state is QueryState.CLOSED else None
    _message(dbsession, query, step, body, actor, now, corrected=corrected, system=system)
    _audit(dbsession, query, step, actor, old, body)
    recount(dbsession, query.form_instance_id)
