"""A file of a form, to whoever may see the form: images shown in the browser, every other kind
downloaded; each time an access event in the audit trail."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt import audit
from datacapt.ecrf.definition import form_items
from datacapt.permissions import Permission
from datacapt.resources import FormEntryResource
from datacapt.uploads import services
from datacapt.validation import whole_number


@view_config(
    context=FormEntryResource,
    name="file",
    request_method=("GET", "HEAD"),
    permission=Permission.VIEW_SUBJECT,
)
def download(context: FormEntryResource, request: Request) -> Response:
    """``?id=N``: a file of this form (of any of its item's values, past or present); ``&view=1``
    shows an image in the browser. A file of another form, subject or site is not found."""
    found = services.files_of(request.dbsession, context.instance, [request.GET.get("id")])
    record = next(iter(found.values()), None)
    item = next((i for i in form_items(context.form) if record and i.oid == record.item_oid), None)
    if record is None or item is None:
        raise HTTPNotFound()
    if item.identifier and not request.has_permission(Permission.VIEW_PII, context):
        raise HTTPNotFound()
    audit.record_subject(
        request.dbsession,
        request.actor,
        context.subject,
        action="entry.file_downloaded",
        entity_type="uploaded_file",
        entity_id=record.id,
        field=record.item_oid,
        new=record.sha256,
    )
    response = services.file_response(
        request, record, view=whole_number(request.GET.get("view")) == 1
    )
    if response is None:
        raise HTTPNotFound()
    return response
