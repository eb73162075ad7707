"""A query's step as one use case, and answering by correcting the value: a save of the form
that changes that one item, with the answer as the reason for the change (audited like any
other change)."""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.request import Request

from datacapt.actor import Actor
from datacapt.ecrf.definition import Item, ItemType, form_items
from datacapt.entry import services as entry
from datacapt.i18n import _
from datacapt.models import FormStatus, Query, QueryStep
from datacapt.queries.services import QueryRefused, clean_message, move
from datacapt.reactions import reactions_of
from datacapt.resources import FormEntryResource

#: Items whose value an answer can replace with one typed or chosen value.
CORRECTABLE = {
    ItemType.TEXT,
    ItemType.LONG_TEXT,
    ItemType.SINGLE_CHOICE,
    ItemType.YES_NO,
    ItemType.TRUE_FALSE,
    ItemType.SLIDER,
}


def correctable(item: Item | None) -> bool:
    return item is not None and item.type in CORRECTABLE


def correct_value(
    request: Request, form: FormEntryResource, item: Item, raw: str, reason: str, lock: int | None
) -> None:
    """Save ``raw`` as the item's new value, every other value as it is; raise QueryRefused
    (nothing saved) when the value is refused or the form was saved since the page was shown."""
    instance = form.instance
    assert instance is not None
    rows = entry.stored_values(request.dbsession, instance)
    posted = entry.posted_from_stored(form.form, rows)
    posted[item.name] = [raw]
    names = {block.oid: block.name for block in form_items(form.form)}
    missing = {
        names[oid]: row.missing_code
        for oid, row in rows.items()
        if row.missing_code and oid in names and oid != item.oid
    }
    try:
        entry.save_form(
            request.dbsession,
            entry.form_scope(form),
            form.visit_node.design.definition,
            entry.EntryRequest(
                posted=posted,
                missing=missing,
                complete=instance.status is FormStatus.COMPLETE,
                reason=reason,
                lock=lock,
                today=request.today,
            ),
            missing_codes={code for code, _label in form.study.missing_codes},
            actor=request.actor,
            reactions=reactions_of(request.registry),
        )
    except entry.SaveRefused as refused:
        message = refused.errors.get(item.name) or next(iter(refused.errors.values()))
        raise QueryRefused("value", message) from None
    except entry.StaleForm:
        raise QueryRefused(
            "value",
            _("The form was saved by someone else since you opened it. Reload, then answer."),
        ) from None
    except entry.FormClosed:  # frozen or locked since the page was shown, or entry held
        raise QueryRefused("value", _("The form is frozen, locked or signed.")) from None


@dataclass(frozen=True)
class Step:
    """One step of a query as posted: the step, its message, and for an answer that corrects
    the value, the value and the form's version the page showed."""

    step: QueryStep
    message: str
    value: str = ""
    lock: int | None = None


def take_step(
    request: Request,
    form: FormEntryResource,
    query: Query,
    item: Item | None,
    posted: Step,
    actor: Actor,
    *,
    may_correct: bool,
) -> None:
    """Move ``query`` one step; an answer with a value corrects the item too. All or nothing:
    on QueryRefused neither the step nor the correction is saved."""
    savepoint = request.dbsession.begin_nested()
    try:
        body = clean_message(posted.message)
        move(request.dbsession, query, posted.step, body, actor, corrected=bool(posted.value))
        if posted.value:
            if not (correctable(item) and may_correct):
                raise QueryRefused("value", _("This value cannot be corrected here."))
            assert item is not None
            correct_value(request, form, item, posted.value, body, posted.lock)
    except QueryRefused:
        savepoint.rollback()
        raise
    savepoint.commit()
