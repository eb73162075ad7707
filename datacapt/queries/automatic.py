"""System queries: a warning check that fires on save opens one; when the data no longer raises
the warning, the query is closed with a note. They follow the warnings :mod:`datacapt.entry`
keeps (``entry_warning``): one system query per warning, linked by its id. A reaction to
:class:`~datacapt.entry.events.FormSaved`, registered in this package's ``includeme``.

Soft ranges and warning-severity edit checks open queries; informational checks do not.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from datacapt.ecrf.definition import Definition, Severity
from datacapt.ecrf.values import range_message
from datacapt.entry.events import FormSaved
from datacapt.i18n import _
from datacapt.models import EntryWarning, Query, QueryState, QueryStep, WarningKind
from datacapt.queries.services import AUTO_CLOSE_NOTE, move, raise_query


def wording_of(definition: Definition, warning: EntryWarning) -> dict[str, Any] | None:
    """How to word a warning's query for each reader: the soft range's message id and bounds,
    or the check's message in every language of the design (None: the item left the design)."""
    item = next((item for _form, item in definition.items() if item.oid == warning.item_oid), None)
    if item is None:
        return None
    if warning.kind is WarningKind.SOFT_RANGE and item.soft_range is not None:
        message = range_message(item, item.soft_range)
        return {"msgid": str(message), "mapping": dict(message.mapping or {})}
    check = next((c for c in item.edit_checks if c.oid == warning.check_oid), None)
    return {"text": dict(check.message)} if check is not None and check.message else None


def opens_a_query(definition: Definition, warning: EntryWarning) -> bool:
    """Whether ``warning`` opens a system query (soft ranges and warning-severity checks)."""
    if warning.kind is WarningKind.SOFT_RANGE:
        return True
    for _form, item in definition.items():
        if item.oid == warning.item_oid:
            return any(
                check.oid == warning.check_oid and check.severity == Severity.WARNING
                for check in item.edit_checks
            )
    return False


def follow_warnings(event: FormSaved) -> None:
    """After a save: the queries of the warnings it resolved closed, a query for each warning
    it opened. Nothing to read when the save changed no warning."""
    if not event.opened and not event.resolved:
        return
    dbsession = event.dbsession
    dbsession.flush()
    if event.resolved:
        following = dbsession.scalars(
            select(Query)
            .where(
                Query.warning_id.in_([warning.id for warning in event.resolved]),
                Query.state != QueryState.CLOSED,
            )
            .order_by(Query.warning_id)
        ).all()
        for query in following:
            move(dbsession, query, QueryStep.CLOSED, AUTO_CLOSE_NOTE, event.actor, system=True)
    raised = 0
    for warning in event.opened:
        if opens_a_query(event.definition, warning):
            raise_query(
                dbsession,
                event.instance,
                warning.item_oid,
                warning.message,
                event.actor,
                warning_id=warning.id,
                wording=wording_of(event.definition, warning),
            )
            raised += 1
    if raised:
        event.notes.append(
            _(
                "Queries opened for monitoring on values to check: ${count}.",
                mapping={"count": raised},
            )
        )
