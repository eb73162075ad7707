"""The visit schedule: visits with their day and window, and which forms each visit holds."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.design import editing
from datacapt.design.forms import read_visit
from datacapt.design.views import DESIGN, save
from datacapt.ecrf.definition import Visit, to_json
from datacapt.htmx import page_view, redirect
from datacapt.resources import ScheduleResource

SCHEDULE = "design/schedule.jinja2"


def _page(context: ScheduleResource, **extra: Any) -> dict[str, Any]:
    definition = context.design.definition
    return {
        "definition": definition,
        "schedule": definition.schedule,
        "editing": None,
        "errors": {},
        "values": {},
        **extra,
    }


def _visit_values(visit: Visit | None) -> dict[str, str]:
    if visit is None:
        return {"window-before": "0", "window-after": "0"}
    values = {
        "name": visit.name,
        "day": "" if visit.day is None else str(visit.day),
        "window-before": str(visit.window_before),
        "window-after": str(visit.window_after),
        "repeating": "1" if visit.repeating else "",
        "anchor": visit.anchor or "",
    }
    values.update({f"title-{lang}": text for lang, text in visit.title.items()})
    return values


@page_view(ScheduleResource, SCHEDULE, DESIGN)
def schedule_page(context: ScheduleResource, request: Request) -> dict[str, Any]:
    oid = request.GET.get("visit")
    visit = None
    if oid:
        try:
            visit = editing.find_visit(context.design.definition, oid)
        except editing.NotFound:
            raise HTTPNotFound() from None
    return _page(context, editing=visit, values=_visit_values(visit))


@view_config(
    context=ScheduleResource,
    name="visit",
    request_method="POST",
    renderer=SCHEDULE,
    permission=DESIGN,
)
def save_visit(context: ScheduleResource, request: Request) -> Any:
    definition = context.design.definition
    oid = request.POST.get("oid", "")
    existing = None
    if oid:
        try:
            existing = editing.find_visit(definition, oid)
        except editing.NotFound:
            raise HTTPNotFound() from None
    parsed = read_visit(request.POST, definition, existing)
    if parsed.errors:
        request.response.status_int = 422
        return _page(context, editing=existing, errors=parsed.errors, values=request.POST)
    old = to_json(existing) if existing else None  # type: ignore[arg-type]
    if existing is not None:
        editing.replace_visit(definition, oid, parsed.value)
        action = "design.visit_changed"
    else:
        editing.add_visit(definition, parsed.value)
        action = "design.visit_added"
    save(
        request,
        context,
        definition,
        action=action,
        element=parsed.value.oid,
        old=old,
        new=to_json(parsed.value),
    )  # type: ignore[arg-type]
    return redirect(request, request.resource_url(context))


@view_config(
    context=ScheduleResource, name="visit-action", request_method="POST", permission=DESIGN
)
def visit_action(context: ScheduleResource, request: Request) -> Response:
    """Move a visit up or down, or delete it."""
    definition = context.design.definition
    oid, action = request.POST.get("oid", ""), request.POST.get("action", "")
    try:
        if action == "delete":
            editing.delete_visit(definition, oid)
        elif action in ("up", "down"):
            editing.move_visit(definition, oid, -1 if action == "up" else 1)
        else:
            raise HTTPNotFound()
    except editing.NotFound:
        raise HTTPNotFound() from None
    save(
        request,
        context,
        definition,
        action=f"design.visit_{'deleted' if action == 'delete' else 'moved'}",
        element=oid,
        new={"action": action},
    )
    return redirect(request, request.resource_url(context))


@view_config(context=ScheduleResource, name="assign", request_method="POST", permission=DESIGN)
def assign_forms(context: ScheduleResource, request: Request) -> Response:
    """The forms × visits grid, and the forms allowed at unscheduled visits, in one post."""
    definition = context.design.definition
    forms = [form.name for form in definition.forms]
    ticked = set(request.POST.getall("assign"))
    old = {v.name: v.forms for v in definition.schedule.visits}
    for visit in definition.schedule.visits:
        visit.forms = [name for name in forms if f"{visit.oid}:{name}" in ticked]
    schedule = definition.schedule
    schedule.unscheduled_allowed = request.POST.get("unscheduled-allowed") == "1"
    schedule.unscheduled_forms = [name for name in forms if f"unscheduled:{name}" in ticked]
    save(
        request,
        context,
        definition,
        action="design.forms_assigned",
        old=old,
        new={v.name: v.forms for v in definition.schedule.visits},
    )
    return redirect(request, request.resource_url(context))
