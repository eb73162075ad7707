"""Visits and forms of a subject: showing, evaluating while typing, saving, history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from babel import Locale, UnknownLocaleError
from pyramid.httpexceptions import HTTPConflict, HTTPForbidden, HTTPNotFound
from pyramid.i18n import TranslationString
from pyramid.registry import Registry
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from datacapt import clock, personal_values
from datacapt.ecrf.casebook import cells, form_key, is_log
from datacapt.ecrf.compiled_form import compiled_form
from datacapt.ecrf.definition import Form, Item, ItemType, file_items
from datacapt.ecrf.page_values import Who
from datacapt.ecrf.runtime import FormState, Page, form_state
from datacapt.ecrf.values import Parsed, holds_numbers
from datacapt.entry import changes, log_rows, services
from datacapt.entry.events import FormShown
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import AuditEvent, FormInstance, FormStatus, UploadedFile
from datacapt.numbers import shown_number, typed_number
from datacapt.permissions import Permission, closed_by
from datacapt.reactions import reactions_of
from datacapt.resources import FormEntryResource, VisitResource
from datacapt.subjects import visit_dates
from datacapt.uploads import services as uploads
from datacapt.validation import ValidationError, whole_number

FORM_PAGE = "entry/form.jinja2"


@page_view(VisitResource, "entry/visit.jinja2", Permission.VIEW_SUBJECT)
def visit_page(context: VisitResource, request: Request) -> dict[str, Any]:
    instances = []
    if context.instance is not None:
        instances = list(
            request.dbsession.scalars(
                select(FormInstance).where(FormInstance.visit_instance_id == context.instance.id)
            )
        )
    schedule = context.design.definition.schedule
    timing = visit_dates.visit_timing(
        request.dbsession, context.subject, schedule, context.name, context.repeat
    )
    return {
        "definition": context.design.definition,
        "cells": cells(context.design.definition, context.name, instances),
        "can_enter": request.has_permission(Permission.ENTER_DATA, context),
        "timing": timing,
        "overdue": timing is not None
        and visit_dates.is_overdue(context.subject.status, timing, request.today),
        "errors": {},
        "values": {},
    }


@view_config(
    context=VisitResource, name="add-row", request_method="POST", permission=Permission.ENTER_DATA
)
def add_row(context: VisitResource, request: Request) -> Response:
    """A new row of a log form (an adverse event, a medication)."""
    form = next((f for f in context.forms if f.name == request.POST.get("form")), None)
    if form is None or not is_log(form):
        raise HTTPNotFound()
    row = log_rows.add_row(
        request.dbsession,
        context.subject,
        context.instance,
        (context.name, context.repeat),
        form,
        context.design.number,
        request.actor,
    )
    return redirect(request, request.resource_url(context, form_key(form, row.repeat), ""))


# --- the form --------------------------------------------------------------------------------


def next_form(context: FormEntryResource) -> Form | None:
    """The form after this one in its visit (log forms aside), for "Save and go to ..."."""
    forms = [form for form in context.visit_node.forms if not is_log(form)]
    names = [form.name for form in forms]
    if context.form.name not in names:
        return None
    index = names.index(context.form.name)
    return forms[index + 1] if index + 1 < len(forms) else None


def _language(request: Request, context: FormEntryResource) -> str:
    definition = context.visit_node.design.definition
    if request.locale_name in definition.languages:
        return request.locale_name
    return definition.default_language


def _language_name(language: str, reader: str) -> str:
    """``language`` named in the reader's language (a form shown in another than theirs)."""
    try:
        return Locale.parse(language).get_display_name(reader) or language
    except (ValueError, UnknownLocaleError):
        return language


def _who(request: Request, context: FormEntryResource) -> Who:
    """The subject, site and user the smart variables name."""
    identity = request.identity
    return Who(
        record=context.subject.label,
        site_code=context.site.code,
        site_name=context.site.name,
        user=identity.user.email if identity is not None else "",
    )


def _now(request: Request) -> datetime:
    return clock.now().astimezone(request.timezone)


def _state(
    request: Request,
    context: FormEntryResource,
    posted: dict[str, list[str]],
    *,
    opening: bool = False,
) -> FormState:
    """The form's state for ``posted``; ``opening``: the page is being opened (action tags fill
    a new form in, @SETVALUE sets its value)."""
    visit = context.visit_node
    saved = None if context.instance is None else posted
    return services.entry_state(
        request.dbsession,
        visit.design.definition,
        context.subject,
        (visit.name, visit.repeat),
        context.form,
        posted,
        today=request.today,
        page=Page(saved=saved, opening=opening, now=_now(request)),
        who=_who(request, context),
    )


def _page(
    request: Request,
    context: FormEntryResource,
    state: FormState,
    *,
    missing: dict[str, str],
    errors: dict[str, Any] | None = None,
    conflict: list[dict[str, Any]] | None = None,
    reason: str = "",
    complete: bool | None = None,
    rows: dict[str, Any] | None = None,
    evaluation: bool = False,
) -> dict[str, Any]:
    """What the form's templates read. For an ``evaluation`` (answered while typing, touching
    no field) the query badges and SDV marks are left out: they cost queries and show nowhere."""
    instance = context.instance
    definition = context.visit_node.design.definition
    can_enter = request.has_permission(Permission.ENTER_DATA, context)
    masked = set()
    if not request.has_permission(Permission.VIEW_PII, context):
        masked = {item.name for item in context.items if item.identifier}
    language = _language(request, context)
    data = {
        "definition": definition,
        "language": language,
        "fallback": _language_name(language, request.locale_name)
        if language != request.locale_name
        else None,
        "state": state,
        "instance": instance,
        "readonly": not can_enter,
        "closed_by": closed_by(can_enter),
        "entry": {
            "codes": [
                (code, request.localizer.translate(TranslationString(label, domain="datacapt")))
                for code, label in context.study.missing_codes
            ],
            "missing": missing,
            "history": request.resource_path(context, "@@history"),
            "masked": masked,
            "files": {} if evaluation else _files_shown(request, context, state),
            "file_url": request.resource_path(context, "@@file"),
            "file_rules": uploads.rules(request.registry),
            **({} if evaluation else _monitoring(request, context, rows)),
        },
        "errors": errors or {},
        "conflict": conflict,
        "reason": reason,
        "complete": (instance is not None and instance.status is FormStatus.COMPLETE)
        if complete is None
        else complete,
        "next_form": next_form(context),
        "lock": instance.lock_version if instance is not None else "",
        "log_row": is_log(context.form),
        "has_files": bool(file_items(context.form)),
    }
    design = context.visit_node.design
    version = (design.version_id, design.content_hash)
    data["compiled"] = None if evaluation else compiled_form(request, version, data)
    return data


def _files_shown(
    request: Request, context: FormEntryResource, state: FormState
) -> dict[str, UploadedFile]:
    """The files the form's file items hold now, by value (no query without one)."""
    blocks = state.blocks
    values = [blocks[item.oid].raw[0] for item in file_items(context.form) if blocks[item.oid].raw]
    return uploads.files_of(request.dbsession, context.instance, values)


def _monitoring(
    request: Request, context: FormEntryResource, rows: dict[str, Any] | None
) -> dict[str, Any]:
    """The SDV marks beside the fields, and what other capabilities show there
    (:class:`FormShown`: the query badges). SDV marks are monitoring's: site staff, who cannot
    verify or review, would only read "Awaiting SDV" under every field."""
    shown = FormShown(request.dbsession, request.actor, request, context)
    reactions_of(request.registry).publish(shown)
    monitoring = {"queries": None, **shown.shown}
    can_verify = bool(request.has_permission(Permission.VERIFY_SOURCE, context))
    if can_verify or request.has_permission(Permission.REVIEW_DATA, context):
        monitoring["sdv"] = {
            "rows": services.stored_values(request.dbsession, context.instance)
            if rows is None
            else rows,
            "can_verify": can_verify,
        }
    return monitoring


def _saved_missing(rows: dict[str, Any], context: FormEntryResource) -> dict[str, str]:
    by_oid = {item.oid: item.name for item in context.items}
    return {
        by_oid[oid]: row.missing_code
        for oid, row in rows.items()
        if row.missing_code and oid in by_oid
    }


def _saved_page(request: Request, context: FormEntryResource, **extra: Any) -> dict[str, Any]:
    """The form as it is saved (``extra`` as for :func:`_page`)."""
    rows = services.shown_values(request.dbsession, context.instance)
    posted = services.posted_from_stored(context.form, rows)
    return _page(
        request,
        context,
        _state(request, context, posted, opening=True),
        missing=_saved_missing(rows, context),
        rows=rows,
        **extra,
    )


@page_view(FormEntryResource, FORM_PAGE, Permission.VIEW_SUBJECT)
def form_page(context: FormEntryResource, request: Request) -> dict[str, Any]:
    return _saved_page(request, context)


def _posted(
    request: Request, context: FormEntryResource
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The items' posted values (a list each) and missing-data codes, by item name: the body
    read in one pass, not searched once per item and field."""
    sent: dict[str, list[Any]] = {}
    for name, value in request.POST.items():
        if name in sent:
            sent[name].append(value)
        else:
            sent[name] = [value]
    posted: dict[str, list[str]] = {}
    missing: dict[str, str] = {}
    locale = request.locale_name
    for item in context.items:
        name = item.name
        if name in sent:
            values = sent[name]
            if holds_numbers(item) and not item.decimal_comma:
                values = [typed_number(v, locale) for v in values]
            posted[name] = values
        code = f"missing-{name}"
        if code in sent and sent[code][-1]:  # the last one sent, as ``MultiDict.get`` reads it
            missing[name] = sent[code][-1]
    return posted, missing


@view_config(
    context=FormEntryResource,
    name="evaluate",
    request_method="POST",
    permission=Permission.ENTER_DATA,
)
def evaluate(context: FormEntryResource, request: Request) -> Response:
    """While typing: branching, calculations and checks, sent back out of band (no input is
    replaced, nothing is saved)."""
    posted, missing = _posted(request, context)
    data = _page(
        request, context, _state(request, context, posted), missing=missing, evaluation=True
    )
    response = render_to_response("ecrf/_evaluation.jinja2", data, request=request)
    response.headers["HX-Trigger"] = json.dumps({"datacapt:form-state": form_state(data["state"])})
    return response


@view_config(
    context=FormEntryResource, name="save", request_method="POST", permission=Permission.ENTER_DATA
)
def save(context: FormEntryResource, request: Request) -> Response:
    posted, missing = _posted(request, context)
    received, refused = _received_files(request, context, posted)
    entry = services.EntryRequest(
        posted=posted,
        missing=missing,
        complete=request.POST.get("complete") == "1",
        reason=request.POST.get("reason", ""),
        lock=whole_number(request.POST.get("lock")),
        today=request.today,
        refused=refused,
        who=_who(request, context),
        now=_now(request),
    )
    try:
        result = services.save_form(
            request.dbsession,
            services.form_scope(context),
            context.visit_node.design.definition,
            entry,
            missing_codes={code for code, _label in context.study.missing_codes},
            actor=request.actor,
            reactions=reactions_of(request.registry),
        )
    except services.SaveRefused as refusal:
        _files_not_kept(refusal, received)
        data = _page(
            request,
            context,
            refusal.state,
            missing=missing,
            errors=refusal.errors,
            reason=entry.reason,
            complete=entry.complete,
        )
        return _render(request, data, 422)
    except services.StaleForm as stale:
        return _conflict(request, context, stale.instance, posted, missing)
    except services.EntryBlocked as blocked:
        message = " ".join(request.localizer.translate(text) for text in blocked.refusals)
        return _render(request, {"refusal": message}, 403, template="errors/403.jinja2")
    except services.FormClosed:
        raise HTTPForbidden() from None
    saved = {change.item.oid: change.new.value for change in result.changes}
    uploads.settle(
        request.dbsession,
        request.registry,
        [record for record, _replaced in received],
        result.instance,
        saved,
        request.actor,
    )
    message = _("Saved.") if result.changes or result.replayed else _("Nothing changed.")
    request.session.flash(
        " ".join(request.localizer.translate(text) for text in [message, *result.notes])
    )
    if request.POST.get("next") == "1":
        following = next_form(context)
        if following is not None:
            return redirect(request, request.resource_url(context.visit_node, following.name, ""))
    return redirect(request, request.resource_url(context))


def _received_files(
    request: Request, context: FormEntryResource, posted: dict[str, list[str]]
) -> tuple[list[tuple[UploadedFile, list[str]]], dict[str, Any]]:
    """The files sent with a save, checked and stored (in its transaction), each with the value
    it replaces, and why others were not taken, by item name. A file item's value never comes
    from the posted text: it is the file just received, else blank if its removal is asked,
    else the value saved."""
    items = [item for item in context.items if item.type is ItemType.FILE]
    received: list[tuple[UploadedFile, list[str]]] = []
    refused: dict[str, Any] = {}
    if not items:
        return received, refused
    rows = services.stored_values(request.dbsession, context.instance)
    for item in items:
        row = rows.get(item.oid)
        posted[item.name] = [row.value] if row is not None and row.value is not None else []
        sent = request.POST.get(f"upload-{item.name}")
        if hasattr(sent, "file") and sent.filename:
            try:
                record = uploads.receive(
                    request.dbsession,
                    request.registry,
                    context.subject,
                    item.oid,
                    source=sent.file,
                    file_name=sent.filename,
                    uploaded_by_id=request.actor.user_id,
                )
            except uploads.Refused as refusal:
                refused[item.name] = refusal.message
            else:
                received.append((record, posted[item.name]))
                posted[item.name] = [str(record.id)]
        elif request.POST.get(f"remove-{item.name}") == "1":
            posted[item.name] = []
    return received, refused


def _files_not_kept(
    refusal: services.SaveRefused, received: list[tuple[UploadedFile, list[str]]]
) -> None:
    """A refused save keeps none of its files: each item that received one shows its saved
    value again, and says so next to the field."""
    for record, saved in received:
        block_state = refusal.state.blocks.get(record.item_oid)
        if block_state is None or block_state.error is not None:
            continue
        message = _("The form was not saved, so this file was not kept: choose it again.")
        block_state.raw = saved
        block_state.parsed = Parsed(None, None, error=message)
        refusal.errors.setdefault(block_state.name or "", message)


def _render(
    request: Request, data: dict[str, Any], status: int, template: str = FORM_PAGE
) -> Response:
    response = render_to_response(template, data, request=request)
    response.status_int = status
    return response


def _conflict(
    request: Request,
    context: FormEntryResource,
    instance: FormInstance,
    posted: dict[str, list[str]],
    missing: dict[str, str],
) -> Response:
    """409: the form as it is now saved (``instance``: a form this page showed never started
    may have been started since), with, for each difference, what was typed, what is saved
    and who saved it when, so nothing typed is lost."""
    found = changes.conflict(
        request.dbsession, instance.id, context.form, posted, missing, request.today
    )
    context.instance = found.instance
    rows = found.rows
    data = _page(
        request,
        context,
        _state(request, context, services.posted_from_stored(context.form, rows)),
        missing=_saved_missing(rows, context),
        conflict=found.differences,
    )
    return _render(request, data, 409)


@view_config(
    context=FormEntryResource,
    name="history",
    request_method=("GET", "HEAD"),
    renderer="entry/_history.jinja2",
    permission=Permission.VIEW_SUBJECT,
)
def history(context: FormEntryResource, request: Request) -> dict[str, Any]:
    """Every value an item had and every step of its queries, in one line of time: who, when,
    old → new, reason, from the audit trail."""
    item = next((i for i in context.items if i.oid == request.GET.get("item")), None)
    if item is None:
        raise HTTPNotFound()
    events = changes.item_history(
        request.dbsession, request.actor, reactions_of(request.registry), context.instance, item
    )
    keys = (
        request.registry
        if item.identifier and request.has_permission(Permission.VIEW_PII, context)
        else None
    )
    shown = [
        (event, author, *_history_values(keys, context, item, event, request.locale_name))
        for event, author in events
    ]
    files = {}
    if item.type is ItemType.FILE:
        values = [value for row in shown for value in row[2:]]
        files = uploads.files_of(request.dbsession, context.instance, values)
    return {
        "item": item,
        "events": shown,
        "files": files,
        "file_url": request.resource_path(context, "@@file"),
        "language": _language(request, context),
        "definition": context.visit_node.design.definition,
    }


def _history_values(
    keys: Registry | None, context: FormEntryResource, item: Item, event: AuditEvent, locale: str
) -> tuple[str | None, str | None]:
    """An event's old and new values as this viewer may see them: personal data opened with
    ``keys`` (given to those holding VIEW_PII), left sealed (shown as "personal data") for the
    others; numbers with the reader's decimal separator."""
    values = (event.old_value, event.new_value)
    if keys is not None:
        opened = [
            personal_values.open_audited(
                keys, value or "", context.subject.id, int(event.entity_id or 0), item.oid
            )
            if personal_values.is_audited(value)
            else None
            for value in values
        ]
        values = (opened[0] or values[0], opened[1] or values[1])
    if holds_numbers(item):
        values = (
            shown_number(values[0], locale) if values[0] else values[0],
            shown_number(values[1], locale) if values[1] else values[1],
        )
    return values


@view_config(
    context=FormEntryResource,
    name="remove",
    request_method="POST",
    permission=Permission.ENTER_DATA,
)
def remove_row(context: FormEntryResource, request: Request) -> Response:
    """Take a log row out (never deleted): a reason is required and audited."""
    instance = context.instance
    if instance is None or not is_log(context.form) or instance.status is FormStatus.REMOVED:
        raise HTTPNotFound()
    try:
        log_rows.remove_row(
            request.dbsession,
            context.subject,
            instance,
            request.POST.get("remove-reason", ""),
            whole_number(request.POST.get("lock")),
            request.actor,
            reactions_of(request.registry),
        )
    except ValidationError as error:
        data = _saved_page(request, context, errors={error.field: error.message})
        return _render(request, data, 422)
    except log_rows.RowChanged:
        raise HTTPConflict(
            _(
                "This row was changed since you opened it. Reload the page to see "
                "the change, then remove it again if it still must go."
            )
        ) from None
    request.session.flash(request.localizer.translate(_("The row was removed.")))
    return redirect(request, request.resource_url(context.visit_node))
