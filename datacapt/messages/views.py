"""The study's message threads: the list with unread counts and a new thread's form, a thread,
its reply form and its files; on a subject's page, the way to their threads."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.messages import services
from datacapt.models import MessageThread
from datacapt.pagination import page_number
from datacapt.permissions import Permission
from datacapt.resources import MessagesResource, SubjectResource, ThreadResource
from datacapt.uploads import services as uploads
from datacapt.validation import whole_number

LIST = "messages/list.jinja2"
THREAD = "messages/thread.jinja2"
PANEL = "messages/_subject_panel.jinja2"


def attachment(request: Request) -> services.Attachment | None:
    """The file sent with a message, if one was chosen."""
    sent = request.POST.get(services.ATTACHMENT)
    if hasattr(sent, "file") and sent.filename:
        return services.Attachment(sent.file, sent.filename)
    return None


def download(request: Request, thread: MessageThread) -> Response:
    """``?id=N``: a file of ``thread``, to whoever may read the thread (audited); ``&view=1``
    shows an image. A file of another thread is not found."""
    found = services.downloaded(request.dbsession, request.actor, thread, request.GET.get("id"))
    if found is None:
        raise HTTPNotFound()
    response = uploads.file_response(
        request, found, view=whole_number(request.GET.get("view")) == 1
    )
    if response is None:
        raise HTTPNotFound()
    return response


def _list(
    context: MessagesResource,
    request: Request,
    errors: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    of_subject = request.GET.get("subject", "")[:40].strip()
    return {
        "page": services.threads_of(
            request.dbsession,
            request.identity,
            context.study,
            page_number(request.GET.get("page")),
            subject_label=of_subject or None,
        ),
        "of_subject": of_subject,
        "sites": services.sites_to_message(request.dbsession, request.identity, context.study),
        "errors": errors or {},
        "values": values or {"subject": of_subject},
        "max_topic": services.MAX_TOPIC,
        "max_body": services.MAX_BODY,
        "file_rules": uploads.rules(request.registry),
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
            request.registry,
            request.actor,
            context.study,
            site,
            values["topic"],
            values["body"],
            subject,
            attachment(request),
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
        "file_rules": uploads.rules(request.registry),
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
        services.post(
            request.dbsession,
            request.registry,
            request.actor,
            context.thread,
            body,
            attachment=attachment(request),
        )
    except services.MessageRefused as refused:
        request.response.status_int = 422
        return _thread(context, request, refused.errors, body[: services.MAX_BODY * 2])
    request.session.flash(request.localizer.translate(_("Your message was sent.")))
    return redirect(request, request.resource_url(context))


@view_config(
    context=ThreadResource,
    name="attachment",
    request_method=("GET", "HEAD"),
    permission=Permission.MESSAGE,
)
def thread_attachment(context: ThreadResource, request: Request) -> Response:
    return download(request, context.thread)


@page_view(SubjectResource, PANEL, Permission.VIEW_SUBJECT, name="messages")
def subject_panel(context: SubjectResource, request: Request) -> dict[str, Any]:
    """The subject's threads with their site, for whoever may message there: how many and how
    many unread, linking to the list of them."""
    shown = bool(context.study.subject_messages) and request.has_permission(
        Permission.MESSAGE, context
    )
    return {
        "shown": shown,
        "counts": services.subject_thread_counts(
            request.dbsession, context.subject, request.identity.user.id
        )
        if shown
        else None,
    }
