"""What the form page shows of queries: per item (and for the whole form) how many are open,
answered and closed. One grouped query per form page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyramid.request import Request
from sqlalchemy import Select, String, bindparam, cast, func, select, type_coerce

from datacapt.entry.events import FormShown, HistoryAsked
from datacapt.models import AuditEvent, FormInstance, Query
from datacapt.permissions import Permission
from datacapt.plain_rows import plain_rows


@dataclass
class Counts:
    open: int = 0
    answered: int = 0
    closed: int = 0

    @property
    def total(self) -> int:
        return self.open + self.answered + self.closed


#: Built once: SQLAlchemy neither rebuilds it nor computes its cache key per request. The state
#: is read as the stored text, which names the :class:`Counts` field (no enum made per row).
_COUNTS = (
    select(Query.item_oid, type_coerce(Query.state, String), func.count())
    .where(Query.form_instance_id == bindparam("form_instance_id"))
    .group_by(Query.item_oid, Query.state)
)


def counts_by_item(request: Request, instance: FormInstance | None) -> dict[str | None, Counts]:
    """Item OID (None: the whole form) → counts of its queries by state."""
    found: dict[str | None, Counts] = {}
    if instance is None:
        return found
    # a query answered or closed in this request is counted as it is now (flushed first)
    for oid, state, number in plain_rows(
        request.dbsession, _COUNTS, {"form_instance_id": instance.id}
    ):
        counts = found.get(oid)
        if counts is None:
            found[oid] = counts = Counts()
        setattr(counts, state, number)
    return found


def form_queries(request: Request, context: Any) -> dict[str, Any]:
    """The ``queries`` part of the form page's ``entry``: counts, the panel's address, and
    whether this user may raise queries here."""
    return {
        "counts": counts_by_item(request, context.instance),
        "url": request.resource_path(context, "@@queries"),
        "can_raise": context.instance is not None
        and bool(request.has_permission(Permission.RAISE_QUERY, context)),
    }


def query_ids(instance: FormInstance) -> Select[tuple[str]]:
    """The ids of a form instance's queries as the audit trail names them (for its history)."""
    return select(cast(Query.id, String)).where(Query.form_instance_id == instance.id)


def show_queries(event: FormShown) -> None:
    """The query badges of a form page (a reaction to :class:`FormShown`)."""
    event.shown["queries"] = form_queries(event.request, event.context)


def query_history(event: HistoryAsked) -> None:
    """The steps of the item's queries belong to its history (a reaction to
    :class:`HistoryAsked`)."""
    event.conditions.append(
        (AuditEvent.entity_type == "data_query")
        & AuditEvent.entity_id.in_(query_ids(event.instance))
        & (AuditEvent.field == event.item_oid)
    )
