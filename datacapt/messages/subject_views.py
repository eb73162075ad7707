"""The subject's side of their threads with their site, under ``/p/s/messages/``: the list
with unread counts, a thread and its reply form (only where the study enables it)."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.messages import services
from datacapt.messages.views import attachment, download
from datacapt.permissions import Permission
from datacapt.resources.subject_area import SubjectMessagesResource, SubjectThreadResource
from datacapt.uploads import services as uploads

LIST = "messages/subject_list.jinja2"
THREAD = "messages/subject_thread.jinja2"


@page_view(SubjectMessagesResource, LIST, Permission.RESPOND)
def subject_messages(context: SubjectMessagesResource, request: Request) -> dict[str, Any]:
    return {"threads": services.subject_threads(request.dbsession, context.home.subject)}


def _thread(
    context: SubjectThreadResource,
    request: Request,
    errors: dict[str, Any] | None = None,
    body: str = "",
) -> dict[str, Any]:
    return {
        "messages": services.read_subject_thread(request.dbsession, context.thread),
        "errors": errors or {},
        "body": body,
        "max_body": services.MAX_BODY,
        "file_rules": uploads.rules(request.registry),
    }


@page_view(SubjectThreadResource, THREAD, Permission.RESPOND)
def subject_thread(context: SubjectThreadResource, request: Request) -> dict[str, Any]:
    return _thread(context, request)


@view_config(
    context=SubjectThreadResource,
    name="reply",
    request_method="POST",
    permission=Permission.RESPOND,
    renderer=THREAD,
)
def subject_reply(context: SubjectThreadResource, request: Request) -> Any:
    body = request.POST.get("body", "")
    try:
        services.post(
            request.dbsession,
            request.registry,
            request.actor,
            context.thread,
            body,
            subject=context.home.subject,
            attachment=attachment(request),
        )
    except services.MessageRefused as refused:
        request.response.status_int = 422
        return _thread(context, request, refused.errors, body[: services.MAX_BODY * 2])
    request.session.flash(request.localizer.translate(_("Your message was sent.")))
    return redirect(request, request.resource_url(context))


@view_config(
    context=SubjectThreadResource,
    name="attachment",
    request_method=("GET", "HEAD"),
    permission=Permission.RESPOND,
)
def subject_attachment(context: SubjectThreadResource, request: Request) -> Response:
    """A file of the subject's own thread (another thread's is not found)."""
    return download(request, context.thread)
