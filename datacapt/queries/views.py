"""A field's (or a form's) queries as a panel beside the form: raising, answering (optionally by
correcting the value), closing and re-opening. Each step answers with the panel, plus the
field's badge and the status message out of band; without htmx it navigates to the panel page.

A whole visit and the subject have their panel too (shown on the visit and casebook pages), for
what no value shows: a visit date missing in the source, a consent form copy not on file.
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.traversal import find_resource
from pyramid.view import view_config
from sqlalchemy import select

from datacapt.ecrf.casebook import form_key, visit_key
from datacapt.ecrf.definition import Definition, Item, form_items
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import (
    FormInstance,
    ItemValue,
    Query,
    QueryMessage,
    QueryStep,
    Subject,
    User,
    VisitInstance,
)
from datacapt.permissions import Permission
from datacapt.queries import services
from datacapt.queries.correction import Step, correctable, take_step
from datacapt.queries.summary import counts_by_item
from datacapt.resources import (
    FormEntryResource,
    QueryResource,
    SubjectResource,
    VisitResource,
)
from datacapt.validation import whole_number

PANEL = "queries/panel.jinja2"
#: What the status region says after each step.
DONE = {
    QueryStep.ANSWERED: _("The query was answered."),
    QueryStep.CLOSED: _("The query was closed."),
    QueryStep.REOPENED: _("The query was re-opened."),
}


def _item(form: FormEntryResource, oid: str | None) -> Item | None:
    """The item named by ``oid`` (None or "": the whole form); 404 for an unknown one."""
    if not oid:
        return None
    found = next((i for i in form_items(form.form) if i.oid == oid), None)
    if found is None:
        raise HTTPNotFound()
    return found


def _language(request: Request, definition: Definition) -> str:
    """The design's language the reader reads, else the design's own."""
    return (
        request.locale_name
        if request.locale_name in definition.languages
        else (definition.default_language)
    )


def panel_data(
    request: Request,
    form: FormEntryResource,
    item: Item | None,
    *,
    errors: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
    failed: int | None = None,
    with_badge: bool = False,
) -> dict[str, Any]:
    """The queries of one item (or of the form) with their threads, and what this user may do."""
    instance = form.instance
    queries: list[Query] = []
    threads: dict[int, list[tuple[QueryMessage, str | None]]] = {}
    if instance is not None:
        queries = list(
            request.dbsession.scalars(
                select(Query)
                .where(
                    Query.form_instance_id == instance.id,
                    Query.item_oid == item.oid if item else Query.item_oid.is_(None),
                )
                .order_by(Query.number)
            )
        )
        if queries:
            for message, author in request.dbsession.execute(
                select(QueryMessage, User.name)
                .outerjoin(User, User.id == QueryMessage.author_id)
                .where(QueryMessage.query_id.in_([q.id for q in queries]))
                .order_by(QueryMessage.id)
            ):
                threads.setdefault(message.query_id, []).append((message, author))
    masked = bool(item and item.identifier) and not request.has_permission(
        Permission.VIEW_PII, form
    )
    current = None  # the item's value as saved now, read beside its queries (never personal data)
    if instance is not None and item is not None and not item.identifier:
        current = request.dbsession.execute(
            select(ItemValue.value, ItemValue.missing_code).where(
                ItemValue.form_instance_id == instance.id, ItemValue.item_oid == item.oid
            )
        ).first()
    return {
        "node": form,
        "scope": "item" if item else "form",
        "current": current,
        "shows_current": instance is not None and item is not None and not item.identifier,
        "item": item,
        "queries": queries,
        "threads": threads,
        "definition": form.visit_node.design.definition,
        "language": _language(request, form.visit_node.design.definition),
        "counts": counts_by_item(request, instance).get(item.oid if item else None),
        "can_raise": instance is not None
        and bool(request.has_permission(Permission.RAISE_QUERY, form)),
        "can_answer": bool(request.has_permission(Permission.ANSWER_QUERY, form)),
        "can_correct": correctable(item)
        and not masked
        and bool(request.has_permission(Permission.ENTER_DATA, form)),
        "lock": instance.lock_version if instance is not None else "",
        "errors": errors or {},
        "values": values or {},
        "failed": failed,
        "with_badge": with_badge,
        "state_labels": services.STATE_LABELS,
        "max_message": services.MAX_MESSAGE,
        "shown_body": services.shown_body,
    }


def _panel(request: Request, data: dict[str, Any], status: int = 200) -> Response:
    response = render_to_response(PANEL, data, request=request)
    response.status_int = status
    return response


@page_view(FormEntryResource, PANEL, Permission.VIEW_SUBJECT, name="queries")
def queries_panel(context: FormEntryResource, request: Request) -> dict[str, Any]:
    return panel_data(request, context, _item(context, request.GET.get("item")))


def _after_step(
    request: Request, form: FormEntryResource, item: Item | None, message: Any
) -> Response:
    """Success: the panel and the field's badge (htmx), or the panel page."""
    request.session.flash(request.localizer.translate(message))
    if not request.is_htmx:
        query = f"?item={item.oid}" if item else ""
        return redirect(request, request.resource_url(form, "@@queries") + query)
    return _panel(request, panel_data(request, form, item, with_badge=True))


@view_config(
    context=FormEntryResource,
    name="raise-query",
    request_method="POST",
    permission=Permission.RAISE_QUERY,
)
def raise_query(context: FormEntryResource, request: Request) -> Response:
    item = _item(context, request.POST.get("item"))
    try:
        body = services.clean_message(request.POST.get("message", ""))
    except services.QueryRefused as refused:
        data = panel_data(
            request,
            context,
            item,
            errors={refused.field: refused.message},
            values={"message": request.POST.get("message", "")[: services.MAX_MESSAGE * 2]},
        )
        return _panel(request, data, 422)
    if context.instance is None:
        raise HTTPNotFound()  # nothing saved on this form yet: nothing to query
    services.raise_query(
        request.dbsession, context.instance, item.oid if item else None, body, request.actor
    )
    return _after_step(request, context, item, _("The query was raised."))


NodeContext = VisitResource | SubjectResource


def node_panel_data(
    request: Request,
    node: NodeContext,
    *,
    errors: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
    failed: int | None = None,
) -> dict[str, Any]:
    """The queries on a whole visit or on the subject, with their threads."""
    visit = node.instance if isinstance(node, VisitResource) else None
    queries: list[Query] = []
    if visit is not None or isinstance(node, SubjectResource):
        queries = services.node_queries(request.dbsession, node.subject, visit)
    threads: dict[int, list[tuple[QueryMessage, str | None]]] = {}
    if queries:
        for message, author in request.dbsession.execute(
            select(QueryMessage, User.name)
            .outerjoin(User, User.id == QueryMessage.author_id)
            .where(QueryMessage.query_id.in_([q.id for q in queries]))
            .order_by(QueryMessage.id)
        ):
            threads.setdefault(message.query_id, []).append((message, author))
    is_visit = isinstance(node, VisitResource)
    definition = node.design.definition
    return {
        "node": node,
        "definition": definition,
        "language": _language(request, definition),
        "scope": "visit" if is_visit else "subject",
        "item": None,
        "queries": queries,
        "threads": threads,
        "can_raise": (visit is not None or not is_visit)
        and bool(request.has_permission(Permission.RAISE_QUERY, node)),
        "can_answer": bool(request.has_permission(Permission.ANSWER_QUERY, node)),
        "can_correct": False,
        "lock": "",
        "errors": errors or {},
        "values": values or {},
        "failed": failed,
        "with_badge": False,
        "state_labels": services.STATE_LABELS,
        "max_message": services.MAX_MESSAGE,
        "auto_close_note": services.AUTO_CLOSE_NOTE,
        "shown_body": services.shown_body,
    }


@page_view(VisitResource, PANEL, Permission.VIEW_SUBJECT, name="queries")
@page_view(SubjectResource, PANEL, Permission.VIEW_SUBJECT, name="queries")
def node_queries_panel(context: NodeContext, request: Request) -> dict[str, Any]:
    return node_panel_data(request, context)


def _node_place(context: NodeContext) -> services.Place:
    if isinstance(context, VisitResource):
        if context.instance is None:
            raise HTTPNotFound()  # a visit not entered yet: nothing to query on it
        return services.Place.of_visit(context.subject, context.instance)
    return services.Place.of_subject(context.subject)


@view_config(
    context=VisitResource,
    name="raise-query",
    request_method="POST",
    permission=Permission.RAISE_QUERY,
)
@view_config(
    context=SubjectResource,
    name="raise-query",
    request_method="POST",
    permission=Permission.RAISE_QUERY,
)
def raise_node_query(context: NodeContext, request: Request) -> Response:
    """A query on a whole visit or on the subject."""
    place = _node_place(context)
    try:
        body = services.clean_message(request.POST.get("message", ""))
    except services.QueryRefused as refused:
        data = node_panel_data(
            request,
            context,
            errors={refused.field: refused.message},
            values={"message": request.POST.get("message", "")[: services.MAX_MESSAGE * 2]},
        )
        return _panel(request, data, 422)
    services.raise_query_at(request.dbsession, place, body, request.actor)
    return _after_node_step(request, context, _("The query was raised."))


def _after_node_step(request: Request, node: NodeContext, message: Any) -> Response:
    request.session.flash(request.localizer.translate(message))
    if not request.is_htmx:
        return redirect(request, request.resource_url(node, "@@queries"))
    return _panel(request, node_panel_data(request, node))


def node_of(context: QueryResource) -> NodeContext:
    """The visit or subject node a query on a whole visit or on the subject sits on, reached
    through the tree (so its ACL and state denials apply as on its page)."""
    request = context.request
    subject = request.dbsession.get(Subject, context.query.subject_id)
    if subject is None:
        raise HTTPNotFound()
    path: tuple[str, ...] = ("subjects", subject.label)
    if context.query.visit_instance_id is not None:
        visit = request.dbsession.get(VisitInstance, context.query.visit_instance_id)
        if visit is None:
            raise HTTPNotFound()
        path += (visit_key(visit.visit, visit.repeat),)
    try:
        node = find_resource(context.study_node, path)
    except KeyError:
        raise HTTPNotFound() from None
    assert isinstance(node, VisitResource | SubjectResource)
    return node


def _node_step(context: QueryResource, request: Request, step: QueryStep) -> Response:
    node = node_of(context)
    raw = request.POST.get("message", "")
    try:
        body = services.clean_message(raw)
        services.move(request.dbsession, context.query, step, body, request.actor)
    except services.QueryRefused as refused:
        data = node_panel_data(
            request,
            node,
            errors={refused.field: refused.message},
            values={"message": raw[: services.MAX_MESSAGE * 2]},
            failed=context.query.number,
        )
        return _panel(request, data, 422)
    return _after_node_step(request, node, DONE[step])


def form_of(context: QueryResource) -> FormEntryResource:
    """The form node a query is about, reached through the tree (so its ACL and state denials
    apply as on the form page)."""
    request = context.request
    instance = request.dbsession.get(FormInstance, context.query.form_instance_id)
    subject = request.dbsession.get(Subject, context.query.subject_id)
    if instance is None or subject is None:
        raise HTTPNotFound()
    try:
        visit = find_resource(
            context.study_node,
            ("subjects", subject.label, visit_key(instance.visit, instance.visit_repeat)),
        )
        form = next(f for f in visit.forms if f.name == instance.form)
        node = visit[form_key(form, instance.repeat)]
    except (KeyError, StopIteration):
        raise HTTPNotFound() from None
    assert isinstance(node, FormEntryResource)
    return node


@page_view(QueryResource, PANEL, Permission.VIEW_SUBJECT)
def query_page(context: QueryResource, request: Request) -> dict[str, Any]:
    if context.query.form_instance_id is None:
        return node_panel_data(request, node_of(context))
    form = form_of(context)
    return panel_data(request, form, _item(form, context.query.item_oid))


def _step(context: QueryResource, request: Request, step: QueryStep) -> Response:
    if context.query.form_instance_id is None:
        return _node_step(context, request, step)
    form = form_of(context)
    item = _item(form, context.query.item_oid)
    raw = request.POST.get("message", "")
    value = request.POST.get("value", "").strip() if step is QueryStep.ANSWERED else ""
    try:
        take_step(
            request,
            form,
            context.query,
            item,
            Step(step, raw, value, whole_number(request.POST.get("lock"))),
            request.actor,
            may_correct=request.has_permission(Permission.ENTER_DATA, form),
        )
    except services.QueryRefused as refused:
        form.instance = request.dbsession.get(FormInstance, context.query.form_instance_id)
        data = panel_data(
            request,
            form,
            item,
            errors={refused.field: refused.message},
            values={"message": raw[: services.MAX_MESSAGE * 2], "value": value},
            failed=context.query.number,
        )
        return _panel(request, data, 422)
    if value:  # the form's values changed: show the form again, as saved
        request.session.flash(request.localizer.translate(DONE[step]))
        return redirect(request, request.resource_url(form))
    return _after_step(request, form, item, DONE[step])


@view_config(
    context=QueryResource, name="answer", request_method="POST", permission=Permission.ANSWER_QUERY
)
def answer_query(context: QueryResource, request: Request) -> Response:
    return _step(context, request, QueryStep.ANSWERED)


@view_config(
    context=QueryResource, name="close", request_method="POST", permission=Permission.RAISE_QUERY
)
def close_query(context: QueryResource, request: Request) -> Response:
    return _step(context, request, QueryStep.CLOSED)


@view_config(
    context=QueryResource, name="reopen", request_method="POST", permission=Permission.RAISE_QUERY
)
def reopen_query(context: QueryResource, request: Request) -> Response:
    return _step(context, request, QueryStep.REOPENED)
