"""The rules of a query's life: open → answered → closed, re-opened when needed, never deleted.

A query sits on an item or a whole form, or (raised by a person) on a whole visit or on the
subject: what is missing from the source rather than wrong in a value.

Every step adds a message to the thread, is audited (old state → new state, the message as the
reason), and recounts the queries not closed and the answered ones on the form instance, the
status row dashboards read, in the same transaction. The recount does not move the form's lock:
a query raised while someone edits the form must not make their save stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyramid.i18n import Localizer, TranslationString
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from datacapt import audit
from datacapt.actor import Actor
from datacapt.counters import next_number
from datacapt.ecrf.definition import text_in
from datacapt.i18n import _
from datacapt.models import (
    FormInstance,
    Query,
    QueryMessage,
    QueryOrigin,
    QueryState,
    QueryStep,
    Subject,
    VisitInstance,
)
from datacapt.queries.events import QueryMoved, QueryRaised
from datacapt.reactions import publish

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
    wording: dict[str, Any] | None = None,
) -> None:
    dbsession.add(
        QueryMessage(
            tenant_id=query.tenant_id,
            query_id=query.id,
            step=step,
            state=query.state,
            body=body,
            wording=wording,
            corrected=corrected,
            author_id=None if system else actor.user_id,
            created_at=now,
        )
    )


@dataclass(frozen=True)
class Place:
    """Where a query sits: a form instance (with an item, or none for the whole form), else a
    visit instance, else the subject itself."""

    tenant_id: int
    study_id: int
    site_id: int
    subject_id: int
    visit_instance_id: int | None = None
    form_instance_id: int | None = None
    item_oid: str | None = None

    @classmethod
    def of_form(cls, instance: FormInstance, item_oid: str | None) -> Place:
        return cls(
            instance.tenant_id,
            instance.study_id,
            instance.site_id,
            instance.subject_id,
            instance.visit_instance_id,
            instance.id,
            item_oid,
        )

    @classmethod
    def of_visit(cls, subject: Subject, visit: VisitInstance) -> Place:
        return cls(subject.tenant_id, subject.study_id, subject.site_id, subject.id, visit.id)

    @classmethod
    def of_subject(cls, subject: Subject) -> Place:
        return cls(subject.tenant_id, subject.study_id, subject.site_id, subject.id)


def raise_query(
    dbsession: Session,
    instance: FormInstance,
    item_oid: str | None,
    body: str,
    actor: Actor,
    *,
    warning_id: int | None = None,
    wording: dict[str, Any] | None = None,
) -> Query:
    """A new open query on an item (``item_oid``) or a whole form (None). With ``warning_id``
    it is a system query following that warning, ``wording`` saying how to show ``body`` in
    each reader's language (see :attr:`QueryMessage.wording`)."""
    return raise_query_at(
        dbsession,
        Place.of_form(instance, item_oid),
        body,
        actor,
        warning_id=warning_id,
        wording=wording,
    )


def raise_query_at(
    dbsession: Session,
    place: Place,
    body: str,
    actor: Actor,
    *,
    warning_id: int | None = None,
    wording: dict[str, Any] | None = None,
) -> Query:
    """A new open query at ``place`` (see :class:`Place`)."""
    now = datetime.now(UTC)
    highest = select(func.max(Query.number)).where(Query.study_id == place.study_id)
    number = next_number(
        dbsession, place.tenant_id, place.study_id, "query", highest.scalar_subquery()
    )
    system = warning_id is not None
    query = Query(
        tenant_id=place.tenant_id,
        study_id=place.study_id,
        number=number,
        site_id=place.site_id,
        subject_id=place.subject_id,
        form_instance_id=place.form_instance_id,
        # A form's query names its form; the visit is the form's (not the query's) to hold.
        visit_instance_id=None if place.form_instance_id else place.visit_instance_id,
        item_oid=place.item_oid,
        origin=QueryOrigin.SYSTEM if system else QueryOrigin.MANUAL,
        warning_id=warning_id,
        state=QueryState.OPEN,
        raised_at=now,
        raised_by_id=None if system else actor.user_id,
        updated_at=now,
    )
    dbsession.add(query)
    dbsession.flush()
    _message(dbsession, query, QueryStep.RAISED, body, actor, now, system=system, wording=wording)
    _audit(dbsession, query, QueryStep.RAISED, actor, None, body)
    if query.form_instance_id is not None:
        recount(dbsession, query.form_instance_id)
    publish(QueryRaised(dbsession, actor, query=query))
    return query


def node_queries(dbsession: Session, subject: Subject, visit: VisitInstance | None) -> list[Query]:
    """The queries on a whole visit (``visit``), or on the subject itself (None)."""
    statement = select(Query).where(
        Query.subject_id == subject.id, Query.form_instance_id.is_(None)
    )
    if visit is None:
        statement = statement.where(Query.visit_instance_id.is_(None))
    else:
        statement = statement.where(Query.visit_instance_id == visit.id)
    return list(dbsession.scalars(statement.order_by(Query.number)))


def open_visit_queries(dbsession: Session, visit_ids: Iterable[int]) -> int:
    """How many queries on these whole visits are not closed (locking waits for them)."""
    ids = list(visit_ids)
    if not ids:
        return 0
    return (
        dbsession.scalar(
            select(func.count())
            .select_from(Query)
            .where(Query.visit_instance_id.in_(ids), Query.state != QueryState.CLOSED)
        )
        or 0
    )


def shown_body(
    message: QueryMessage, localizer: Localizer, language: str, default_language: str
) -> str:
    """A message's text for its reader: a system message in their language (the design's check
    message in the form's ``language``), a person's words as written."""
    return worded(
        message.body,
        message.wording,
        message.author_id is None,
        localizer,
        language,
        default_language,
    )


def worded(
    body: str,
    wording: dict[str, Any] | None,
    system: bool,
    localizer: Localizer,
    language: str,
    default_language: str,
) -> str:
    """``body`` as :func:`shown_body` shows it, from the message's columns."""
    wording = wording or {}
    if "msgid" in wording:
        return localizer.translate(
            TranslationString(wording["msgid"], domain="datacapt", mapping=wording.get("mapping"))
        )
    if isinstance(wording.get("text"), dict) and wording["text"]:
        return text_in(wording["text"], language, default_language)
    if system and body == AUTO_CLOSE_NOTE:
        return localizer.translate(_("Closed automatically: the data no longer raises the check."))
    return body


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
    if query.form_instance_id is not None:
        recount(dbsession, query.form_instance_id)
    publish(QueryMoved(dbsession, actor, query=query, step=step))
