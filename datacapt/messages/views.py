"""The study's message threads: the list with unread counts and a new thread's form, a thread
and its reply form."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.messages import services
from datacapt.pagination import page_number
from datacapt.permissions import Permission
from datacapt.resources import MessagesResource, ThreadResource

LIST = "messages/list.jinja2"
THREAD = "messages/thread.jinja2"


def _list(
    context: MessagesResource,
    request: Request,
    errors: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "page": services.threads_of(
            request.dbsession, request.identity, context.study, page_number(request.GET.get("page"))
        ),
        "sites": services.sites_to_message(request.dbsession, request.identity, context.study),
        "errors": errors or {},
        "values": values or {},
        "max_topic": services.MAX_TOPIC,
        "max_body": services.MAX_BODY,
    }


@page_view(MessagesResource, LIST, Permission.MESSAGE)
def messages_page(context: MessagesResource, request: Request) -> dict[str, Any]:
    return _list(context, request)


@view_config(
    context=MessagesResource,
    name="start",
    request_method="POST",
    permission=Permission.MESSAGE,
    renderer=LIST,
)
def start_thread(context: MessagesResource, request: Request) -> Any:
    values = {
        name: request.POST.get(name, "")[:10_000] for name in ("site", "subject", "topic", "body")
    }
    sites = {
        site.code: site
        for site in services.sites_to_message(request.dbsession, request.identity, context.study)
    }
    try:
        site = sites.get(values["site"])
        if site is None:
            raise services.MessageRefused({"site": _("Choose one of your sites.")})
        subject = services.subject_to_message(
            request.dbsession, context.study, site, values["subject"]
        )
        thread = services.start_thread(
            request.dbsession,
            request.actor,
            context.study,
            site,
            values["topic"],
            values["body"],
            subject,
        )
    except services.MessageRefused as refused:
        request.response.status_int = 422
        return _list(context, request, refused.errors, values)
    return redirect(request, request.resource_url(context, str(thread.id), ""))


def _thread(
    context: ThreadResource, request: Request, errors: dict[str, Any] | None = None, body: str = ""
) -> dict[str, Any]:
    return {
        "messages": services.read_thread(
            request.dbsession, context.thread, request.identity.user.id
        ),
        "errors": errors or {},
        "body": body,
        "max_body": services.MAX_BODY,
    }


@page_view(ThreadResource, THREAD, Permission.MESSAGE)
def thread_page(context: ThreadResource, request: Request) -> dict[str, Any]:
    """The thread, read: what was new to the reader is marked so once (a receipt)."""
    return _thread(context, request)


@view_config(
    context=ThreadResource,
    name="reply",
    request_method="POST",
    permission=Permission.MESSAGE,
    renderer=THREAD,
)
def reply(context: ThreadResource, request: Request) -> Any:
    body = request.POST.get("body", "")
    try:
        services.post(request.dbsession, request.actor, context.thread, body)
    except services.MessageRefused as refused:
        request.response.status_int = 422
        return _thread(context, request, refused.errors, body[: services.MAX_BODY * 2])
    request.session.flash(request.localizer.translate(_("Your message was sent.")))
    return redirect(request, request.resource_url(context))
