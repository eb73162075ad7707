"""System queries: a warning check that fires on save opens one; when the data no longer raises
the warning, the query is closed with a note. They follow the warnings :mod:`datacapt.entry`
keeps (``entry_warning``): one system query per warning, linked by its id.

Soft ranges and warning-severity edit checks open queries; informational checks do not.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from datacapt.ecrf.definition import Definition, Severity
from datacapt.models import EntryWarning, FormInstance, Query, QueryState, QueryStep, WarningKind
from datacapt.queries.services import AUTO_CLOSE_NOTE, Actor, move, raise_query


def _opens_a_query(definition: Definition, warning: EntryWarning) -> bool:
    if warning.kind is WarningKind.SOFT_RANGE:
        return True
    for _form, item in definition.items():
        if item.oid == warning.item_oid:
            return any(
                check.oid == warning.check_oid and check.severity == Severity.WARNING
                for check in item.edit_checks
            )
    return False


def follow_warnings(
    dbsession: Session, instance: FormInstance, definition: Definition, actor: Actor
) -> None:
    """After a save: a query for each open warning that has none, and the queries of resolved
    warnings closed. One query finds both."""
    dbsession.flush()
    rows = dbsession.execute(
        select(EntryWarning, Query)
        .outerjoin(Query, Query.warning_id == EntryWarning.id)
        .where(
            EntryWarning.form_instance_id == instance.id,
            or_(
                and_(EntryWarning.resolved_at.is_(None), Query.id.is_(None)),
                and_(EntryWarning.resolved_at.is_not(None), Query.state != QueryState.CLOSED),
            ),
        )
        .order_by(EntryWarning.id)
    ).all()
    for warning, query in rows:
        if query is None:
            if _opens_a_query(definition, warning):
                raise_query(
                    dbsession,
                    instance,
                    warning.item_oid,
                    warning.message,
                    actor,
                    warning_id=warning.id,
                )
        else:
            move(dbsession, query, QueryStep.CLOSED, AUTO_CLOSE_NOTE, actor, system=True)
