"""The form editor: settings, the outline of sections, sub-sections and blocks, the block editor,
keyboard-friendly moves (up/down buttons, no drag), and the preview.

With htmx every action re-renders the designer region (outline and editor panel) in place, so
every form in it carries the draft's current lock; without JavaScript every action is a plain
form post followed by a redirect.
"""

from __future__ import annotations

import json
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt import clock
from datacapt.design import editing
from datacapt.design.forms import (
    DATE_FORMATS,
    MAX_CHECKS,
    WIDGETS,
    Reader,
    item_form_values,
    read_item,
    read_static,
    read_titled,
)
from datacapt.design.views import DESIGN, save
from datacapt.ecrf.checks import check_expression, symbols
from datacapt.ecrf.definition import (
    Block,
    Form,
    Item,
    ItemType,
    SdvRequirement,
    Severity,
    Static,
    Validation,
    form_blocks,
    to_json,
)
from datacapt.ecrf.page_values import choice_labels
from datacapt.ecrf.runtime import Page, evaluate_form, form_state
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.resources import FormDesignResource
from datacapt.validation import whole_number

FORM_PAGE = "design/form.jinja2"


def _element_json(element: Any) -> Any:
    return to_json(element) if element is not None else None  # type: ignore[arg-type]


def _after_save(request: Request, context: FormDesignResource, anchor: str = "") -> Response:
    """After a change: the designer re-rendered in place (htmx, focus on what changed) or the
    form page (plain post)."""
    request.session.flash(request.localizer.translate(_("Saved.")))
    if request.wants_fragment:
        return render_to_response(FORM_PAGE, _page(context, request, focus=anchor), request=request)
    url = request.resource_url(context) + (f"#{anchor}" if anchor else "")
    return redirect(request, url)


def _page(context: FormDesignResource, request: Request, **extra: Any) -> dict[str, Any]:
    design = context.design
    return {
        "definition": design.definition,
        "form": context.form,
        "editable": design.draft is not None,
        "lock": design.draft.lock_version if design.draft else "",
        "editor": None,
        "focus": "",
        "errors": {},
        "values": {},
        **extra,
    }


@page_view(FormDesignResource, FORM_PAGE, DESIGN)
def form_page(context: FormDesignResource, request: Request) -> dict[str, Any]:
    return _page(context, request)


def _reply(request: Request, context: FormDesignResource, errors: dict[str, Any]) -> Response:
    """Re-render after a refused change: 422, with the messages next to the fields."""
    data = _page(context, request, errors=errors, values=request.POST)
    response = render_to_response(FORM_PAGE, data, request=request)
    response.status_int = 422
    return response


def _settings(form: Form) -> dict[str, Any]:
    return {
        "title": form.title,
        "repeating": form.repeating,
        "epro": form.epro,
        "one_per_screen": form.one_per_screen,
        "sdv": form.sdv.value,
        "sdv_items": list(form.sdv_items),
    }


@view_config(context=FormDesignResource, name="settings", request_method="POST", permission=DESIGN)
def form_settings(context: FormDesignResource, request: Request) -> Response:
    definition = context.design.definition
    titled = read_titled(request.POST, definition, required=True)
    if titled.errors:
        return _reply(request, context, titled.errors)
    sdv = request.POST.get("sdv", SdvRequirement.ALL.value)
    if sdv not in SdvRequirement.__members__.values():
        return _reply(request, context, {"sdv": _("Choose one of the offered requirements.")})
    names = {block.name for block in form_blocks(context.form) if isinstance(block, Item)}
    targeted = [name for name in request.POST.getall("sdv_items") if name in names]
    if sdv == SdvRequirement.TARGETED and not targeted:
        return _reply(request, context, {"sdv_items": _("Choose the questions to verify.")})
    old = _settings(context.form)
    context.form.title = titled.value
    context.form.repeating = request.POST.get("repeating") == "1"
    context.form.epro = request.POST.get("epro") == "1"
    context.form.one_per_screen = context.form.epro and request.POST.get("one_per_screen") == "1"
    context.form.sdv = SdvRequirement(sdv)
    context.form.sdv_items = targeted if sdv == SdvRequirement.TARGETED else []
    save(
        request,
        context,
        definition,
        action="design.form_changed",
        element=context.form.oid,
        old=old,
        new=_settings(context.form),
    )
    return _after_save(request, context)


@view_config(context=FormDesignResource, name="delete", request_method="POST", permission=DESIGN)
def delete_form(context: FormDesignResource, request: Request) -> Response:
    definition = context.design.definition
    editing.delete_form(definition, context.form.name)
    save(
        request,
        context,
        definition,
        action="design.form_deleted",
        element=context.form.oid,
        old=_element_json(context.form),
    )
    return redirect(request, request.resource_url(context.design))


@view_config(context=FormDesignResource, name="move", request_method="POST", permission=DESIGN)
def move_form(context: FormDesignResource, request: Request) -> Response:
    definition = context.design.definition
    offset = -1 if request.POST.get("direction") == "up" else 1
    editing.move_form(definition, context.form.name, offset)
    save(
        request,
        context,
        definition,
        action="design.form_moved",
        element=context.form.oid,
        new={"offset": offset},
    )
    return redirect(request, request.resource_url(context.design))


@view_config(
    context=FormDesignResource, name="add-section", request_method="POST", permission=DESIGN
)
def add_section(context: FormDesignResource, request: Request) -> Response:
    definition = context.design.definition
    form = context.form
    titled = read_titled(request.POST, definition, required=False)
    if titled.errors:
        return _reply(request, context, titled.errors)
    section = editing.add_section(definition, form, titled.value)
    save(
        request,
        context,
        definition,
        action="design.section_added",
        element=section.oid,
        new={"title": section.title},
    )
    return _after_save(request, context, section.oid)


@view_config(
    context=FormDesignResource, name="add-subsection", request_method="POST", permission=DESIGN
)
def add_subsection(context: FormDesignResource, request: Request) -> Response:
    definition = context.design.definition
    form = context.form
    try:
        section = editing.find_section(form, request.POST.get("section", ""))
    except editing.NotFound:
        raise HTTPNotFound() from None
    titled = read_titled(request.POST, definition, required=False)
    if titled.errors:
        return _reply(request, context, titled.errors)
    subsection = editing.add_subsection(definition, section, titled.value)
    save(
        request,
        context,
        definition,
        action="design.subsection_added",
        element=subsection.oid,
        new={"title": subsection.title},
    )
    return _after_save(request, context, subsection.oid)


@view_config(context=FormDesignResource, name="group", request_method="POST", permission=DESIGN)
def change_group(context: FormDesignResource, request: Request) -> Response:
    """Title, condition (and for a sub-section: repeating) of a section or sub-section."""
    definition = context.design.definition
    form = context.form
    oid = request.POST.get("oid", "")
    try:
        group: Any = editing.find_section(form, oid)
    except editing.NotFound:
        try:
            group = editing.find_subsection(form, oid)[1]
        except editing.NotFound:
            raise HTTPNotFound() from None
    titled = read_titled(request.POST, definition, required=False)
    reader = Reader(request.POST, definition.languages)
    show_if = reader.optional("show_if")
    errors = {**titled.errors, **reader.errors}
    if show_if:
        for problem in check_expression(
            show_if, symbols(definition), oid, "show_if", condition=True
        ):
            errors["show_if"] = problem.message
    if errors:
        return _reply(request, context, errors)
    old = _element_json(group)
    group.title, group.show_if = titled.value, show_if
    if hasattr(group, "repeating"):
        group.repeating = reader.flag("repeating")
    save(
        request,
        context,
        definition,
        action="design.group_changed",
        element=oid,
        old=old,
        new=_element_json(group),
    )
    return _after_save(request, context, oid)


@view_config(
    context=FormDesignResource, name="delete-group", request_method="POST", permission=DESIGN
)
def delete_group(context: FormDesignResource, request: Request) -> Response:
    definition = context.design.definition
    form = context.form
    oid = request.POST.get("oid", "")
    try:
        try:
            editing.delete_section(form, oid)
        except editing.NotFound:
            editing.delete_subsection(form, oid)
    except editing.NotFound:
        raise HTTPNotFound() from None
    except ValueError:
        return _reply(
            request,
            context,
            {
                "outline": _(
                    "A form keeps at least one section, and a section at least one sub-section."
                )
            },
        )
    save(request, context, definition, action="design.group_deleted", element=oid)
    return _after_save(request, context)


# --- blocks ----------------------------------------------------------------------------------


def _editor(
    context: FormDesignResource,
    request: Request,
    *,
    block: Block | None,
    kind: str,
    subsection: str,
    errors: dict[str, Any],
    values: Any,
    position: str = "",
) -> dict[str, Any]:
    definition = context.design.definition
    item = block if isinstance(block, Item) else None
    filled = dict(item_form_values(item, definition.languages)) if kind == "item" else {}
    if isinstance(block, Static):
        filled = {f"content-{lang}": block.content.get(lang, "") for lang in definition.languages}
        filled["show_if"] = block.show_if or ""
    if values:
        filled = {key: values.get(key, "") for key in {*filled, *values.keys()}}
    check_count = whole_number(str(filled.get("check-count") or "1"), MAX_CHECKS) or 1
    if kind != "item":
        check_count = 0
    return _page(
        context,
        request,
        editor={
            "block": block,
            "kind": kind,
            "subsection": subsection,
            "position": position,
            "values": filled,
            "errors": errors,
            "types": list(ItemType),
            "validations": list(Validation),
            "date_formats": DATE_FORMATS,
            "widgets": WIDGETS,
            "severities": list(Severity),
            "check_count": check_count,
        },
    )


def _render_editor(request: Request, data: dict[str, Any], status: int = 200) -> Response:
    response = render_to_response(FORM_PAGE, data, request=request)
    response.status_int = status
    return response


@view_config(
    context=FormDesignResource, name="block", request_method=("GET", "HEAD"), permission=DESIGN
)
def block_editor(context: FormDesignResource, request: Request) -> Response:
    """Edit a block (``?oid=``), or a new one (``?subsection=&kind=item|static``)."""
    oid = request.GET.get("oid")
    block = None
    if oid:
        try:
            block = editing.find_block(context.form, oid).block
        except editing.NotFound:
            raise HTTPNotFound() from None
    kind = "static" if isinstance(block, Static) or request.GET.get("kind") == "static" else "item"
    subsection = request.GET.get("subsection", "")
    data = _editor(
        context,
        request,
        block=block,
        kind=kind,
        subsection=subsection,
        errors={},
        values=None,
        position=_position(request.GET),
    )
    return _render_editor(request, data)


def _position(params: Any) -> str:
    """Where a new block goes (``?position=N``, 1 is first), or "" for the end."""
    number = whole_number(params.get("position"), 10_000)
    return str(number) if number else ""


@view_config(
    context=FormDesignResource, name="group", request_method=("GET", "HEAD"), permission=DESIGN
)
def group_editor(context: FormDesignResource, request: Request) -> Response:
    """Edit a section's or sub-section's title and condition (``?oid=``)."""
    oid = request.GET.get("oid", "")
    is_section = any(section.oid == oid for section in context.form.sections)
    try:
        group: Any = (
            editing.find_section(context.form, oid)
            if is_section
            else editing.find_subsection(context.form, oid)[1]
        )
    except editing.NotFound:
        raise HTTPNotFound() from None
    values = {f"title-{lang}": text for lang, text in group.title.items()}
    values["show_if"] = group.show_if or ""
    values["repeating"] = "1" if getattr(group, "repeating", False) else ""
    data = _page(
        context,
        request,
        editor={
            "kind": "group",
            "oid": oid,
            "is_section": is_section,
            "values": values,
            "errors": {},
        },
    )
    return _render_editor(request, data)


@view_config(context=FormDesignResource, name="block", request_method="POST", permission=DESIGN)
def save_block(context: FormDesignResource, request: Request) -> Response:
    definition = context.design.definition
    form = context.form
    oid = request.POST.get("oid", "")
    existing: Block | None = None
    target = None
    if oid:
        try:
            existing = editing.find_block(form, oid).block
        except editing.NotFound:
            raise HTTPNotFound() from None
    else:
        try:
            target = editing.find_subsection(form, request.POST.get("subsection", ""))[1]
        except editing.NotFound:
            raise HTTPNotFound() from None
    kind = (
        "static" if isinstance(existing, Static) or request.POST.get("kind") == "static" else "item"
    )
    if request.POST.get("refresh"):  # the type changed: show its fields, save nothing
        data = _editor(
            context,
            request,
            block=existing,
            kind=kind,
            subsection=request.POST.get("subsection", ""),
            errors={},
            values=request.POST,
            position=_position(request.POST),
        )
        return _render_editor(request, data)
    if kind == "static":
        parsed = read_static(
            request.POST, definition, existing if isinstance(existing, Static) else None
        )
    else:
        parsed = read_item(
            request.POST, definition, existing if isinstance(existing, Item) else None
        )
    if parsed.errors:
        data = _editor(
            context,
            request,
            block=existing,
            kind=kind,
            subsection=request.POST.get("subsection", ""),
            errors=parsed.errors,
            values=request.POST,
            position=_position(request.POST),
        )
        return _render_editor(request, data, status=422)
    block = parsed.value
    if existing is not None:
        editing.replace_block(form, oid, block)
        action = "design.block_changed"
    else:
        assert target is not None
        position = _position(request.POST)
        editing.add_block(target, block, int(position) - 1 if position else None)
        action = "design.block_added"
    save(
        request,
        context,
        definition,
        action=action,
        element=block.oid,
        old=_element_json(existing),
        new=_element_json(block),
    )
    return _after_save(request, context, block.oid)


def _block_action(context: FormDesignResource, request: Request, action: str) -> Response:
    definition = context.design.definition
    form = context.form
    oid = request.POST.get("oid", "")
    try:
        before = editing.find_block(form, oid).block
        if action == "design.block_moved":
            offset = -1 if request.POST.get("direction") == "up" else 1
            editing.move_block(form, oid, offset)
            details: dict[str, Any] = {"new": {"offset": offset}}
        elif action == "design.block_duplicated":
            copy = editing.duplicate_block(definition, form, oid)
            details = {"new": _element_json(copy)}
        else:
            editing.delete_block(form, oid)
            details = {"old": _element_json(before)}
    except editing.NotFound:
        raise HTTPNotFound() from None
    save(request, context, definition, action=action, element=oid, **details)
    return _after_save(request, context, oid)


@view_config(
    context=FormDesignResource, name="move-block", request_method="POST", permission=DESIGN
)
def move_block(context: FormDesignResource, request: Request) -> Response:
    return _block_action(context, request, "design.block_moved")


@view_config(
    context=FormDesignResource, name="place-block", request_method="POST", permission=DESIGN
)
def place_block(context: FormDesignResource, request: Request) -> Response:
    """Move a block to position N of its sub-section (1 is first)."""
    definition = context.design.definition
    oid = request.POST.get("oid", "")
    try:
        place = editing.find_block(context.form, oid)
    except editing.NotFound:
        raise HTTPNotFound() from None
    count = len(place.subsection.blocks)
    number = whole_number(request.POST.get("position", "").strip(), 10_000)
    if number is None or not 1 <= number <= count:
        message = _("Enter a position between 1 and ${count}.", mapping={"count": count})
        return _reply(request, context, {f"position-{oid}": message})
    editing.place_block(context.form, oid, number - 1)
    save(
        request,
        context,
        definition,
        action="design.block_moved",
        element=oid,
        old={"position": place.index + 1},
        new={"position": number},
    )
    return _after_save(request, context, oid)


@view_config(
    context=FormDesignResource, name="duplicate-block", request_method="POST", permission=DESIGN
)
def duplicate_block(context: FormDesignResource, request: Request) -> Response:
    return _block_action(context, request, "design.block_duplicated")


@view_config(
    context=FormDesignResource, name="delete-block", request_method="POST", permission=DESIGN
)
def delete_block(context: FormDesignResource, request: Request) -> Response:
    return _block_action(context, request, "design.block_deleted")


@view_config(
    context=FormDesignResource,
    name="check-expression",
    request_method="POST",
    renderer="design/_expression_check.jinja2",
    permission=DESIGN,
)
def check_one_expression(context: FormDesignResource, request: Request) -> dict[str, Any]:
    """Live feedback while typing a condition or a calculation (htmx, on change)."""
    reader = Reader(request.POST, [])
    field = reader.choice("field", ("show_if", "calculation", "condition")) or "show_if"
    target = reader.text("target", 80)  # the textarea's name, which carries the expression
    text = reader.text(target, 4000) if target else ""
    table = symbols(context.design.definition)
    calculation = field == "calculation"
    problems = (
        list(check_expression(text, table, "", field, condition=not calculation)) if text else []
    )
    return {"problems": problems, "target": target, "text": text}


# --- preview ---------------------------------------------------------------------------------


def _preview(
    context: FormDesignResource,
    request: Request,
    posted: dict[str, list[str]],
    *,
    opening: bool = False,
) -> Any:
    """The form as a site would see it, a new one (``opening``: filled in by its action
    tags)."""
    definition = context.design.definition
    language = request.params.get("lang", "")
    if language not in definition.languages:
        language = (
            request.locale_name
            if request.locale_name in definition.languages
            else definition.default_language
        )
    return {
        "definition": definition,
        "form": context.form,
        "state": evaluate_form(
            context.form,
            posted,
            today=request.today,
            page=Page(
                labels=choice_labels(definition),
                opening=opening,
                now=clock.now().astimezone(request.timezone),
            ),
        ),
        "language": language,
    }


@page_view(FormDesignResource, "design/preview.jinja2", DESIGN, name="preview")
def preview(context: FormDesignResource, request: Request) -> Any:
    return _preview(context, request, {}, opening=True)


@view_config(
    context=FormDesignResource,
    name="preview",
    request_method="POST",
    renderer="design/preview.jinja2",
    permission=DESIGN,
)
def preview_update(context: FormDesignResource, request: Request) -> Any:
    """The preview re-evaluated with what was typed: branching, calculations, checks.

    For htmx only what the server decides goes back (messages, results, which blocks show),
    never the inputs, so nothing typed meanwhile is overwritten.
    """
    names = [item.name for _f, item in context.design.definition.items()]
    posted = {name: request.POST.getall(name) for name in names if name in request.POST}
    data = _preview(context, request, posted)
    if not request.is_htmx:
        return data
    response = render_to_response("ecrf/_evaluation.jinja2", data, request=request)
    response.headers["HX-Trigger"] = json.dumps({"datacapt:form-state": form_state(data["state"])})
    return response
