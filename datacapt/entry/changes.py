"""What a form's values went through: an item's history (its values and its queries' steps,
from the audit trail), and for a stale save what others saved since the page was shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.ecrf.definition import Form, Item, form_items
from datacapt.ecrf.runtime import evaluate_form
from datacapt.entry import services
from datacapt.entry.events import HistoryAsked
from datacapt.models import AuditEvent, FormInstance, ItemValue, User
from datacapt.reactions import Reactions


def item_history(
    dbsession: Session,
    actor: Actor,
    reactions: Reactions,
    instance: FormInstance | None,
    item: Item,
) -> list[Row[tuple[AuditEvent, str | None]]]:
    """Every event of ``item`` in the form instance, and those the capabilities reacting to
    :class:`HistoryAsked` add (its queries' steps, the form's review and lock states), with
    the actor's name, in the order they happened."""
    if instance is None:
        return []
    asked = HistoryAsked(dbsession, actor, instance, item.oid)
    asked.conditions.append(
        (AuditEvent.entity_type == "form_instance")
        & (AuditEvent.entity_id == audit.entity_key(instance.id))
        & (AuditEvent.field == item.oid)
    )
    reactions.publish(asked)
    return list(
        dbsession.execute(
            select(AuditEvent, User.name)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.subject_id == instance.subject_id, or_(*asked.conditions))
            .order_by(AuditEvent.id)
        ).all()
    )


@dataclass(frozen=True)
class Conflict:
    """A refused stale save: the instance as saved now, its values, and per differing item
    what was typed, what is saved, and who saved it when."""

    instance: FormInstance
    rows: dict[str, ItemValue]
    differences: list[dict[str, Any]]


def conflict(
    dbsession: Session,
    instance_id: int,
    form: Form,
    posted: dict[str, list[str]],
    missing: dict[str, str],
    today: date,
) -> Conflict:
    instance = dbsession.get(FormInstance, instance_id)
    assert instance is not None
    dbsession.refresh(instance)
    rows = services.stored_values(dbsession, instance, fresh=True)
    mine = evaluate_form(form, posted, today=today)
    items = {item.oid: item for item in form_items(form)}
    yours = services.stored_target(mine, missing)
    differences = []
    for oid, typed_in, saved in services.changes_since(dbsession, instance, yours):
        row = rows.get(oid)
        event = (
            dbsession.get(AuditEvent, row.audit_event_id) if row and row.audit_event_id else None
        )
        author = dbsession.get(User, event.actor_id) if event and event.actor_id else None
        at: datetime | None = event.occurred_at if event else None
        differences.append(
            {
                "item": items[oid],
                "yours": typed_in,
                "saved": saved,
                "by": author.name if author else None,
                "at": at,
            }
        )
    return Conflict(instance, rows, differences)
