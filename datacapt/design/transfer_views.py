"""Import (REDCap data dictionary, CDISC ODM) into the draft; export of any version."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.design.interchange import transfer
from datacapt.design.interchange.findings import InterchangeError
from datacapt.design.views import DESIGN, require_draft
from datacapt.ecrf import versions
from datacapt.htmx import page_view
from datacapt.i18n import _
from datacapt.resources import DesignResource
from datacapt.validation import whole_number

IMPORT = "design/import.jinja2"


def _page(**extra: Any) -> dict[str, Any]:
    return {
        "formats": transfer.FORMATS,
        "errors": {},
        "result": None,
        "format": "redcap",
        "imported": False,
        **extra,
    }


@page_view(DesignResource, IMPORT, DESIGN, name="import")
def import_page(context: DesignResource, request: Request) -> dict[str, Any]:
    return _page()


@view_config(
    context=DesignResource, name="import", request_method="POST", renderer=IMPORT, permission=DESIGN
)
def import_file(context: DesignResource, request: Request) -> dict[str, Any]:
    format_name = request.POST.get("format", "")
    upload = request.POST.get("file")
    errors: dict[str, Any] = {}
    if format_name not in transfer.FORMATS:
        errors["format"] = _("Choose the file's format.")
    if not hasattr(upload, "file"):
        errors["file"] = _("Choose a file to import.")
    if context.draft is not None:
        require_draft(request, context)  # a stale page must not overwrite newer work
    if errors:
        request.response.status_int = 422
        return _page(errors=errors, format=format_name or "redcap")
    data = upload.file.read(transfer.MAX_IMPORT_BYTES + 1)
    if len(data) > transfer.MAX_IMPORT_BYTES:
        request.response.status_int = 422
        return _page(
            format=format_name,
            errors={
                "file": _(
                    "This file is larger than ${size} MB.",
                    mapping={"size": transfer.MAX_IMPORT_BYTES // (1024 * 1024)},
                )
            },
        )
    try:
        result = transfer.read(format_name, data, transfer.study_language(context.study))
    except InterchangeError as error:
        request.response.status_int = 422
        return _page(
            format=format_name,
            errors={
                "file": _("This file cannot be imported: ${reason}", mapping={"reason": str(error)})
            },
        )
    if not result.ok:
        request.response.status_int = 422
        return _page(format=format_name, result=result)
    transfer.import_into_draft(
        request.dbsession,
        context.study,
        result,
        format_name=format_name,
        data=data,
        actor=request.actor,
    )
    return _page(format=format_name, result=result, imported=True)


@view_config(
    context=DesignResource, name="export", request_method=("GET", "HEAD"), permission=DESIGN
)
def export_file(context: DesignResource, request: Request) -> Response:
    format_name = request.GET.get("format", "")
    number = whole_number(request.GET.get("version"))
    if format_name not in transfer.EXPORT_FORMATS or number is None:
        raise HTTPNotFound()
    found = versions.version(request.dbsession, context.study, number)
    if found is None:
        raise HTTPNotFound()
    export = transfer.write(format_name, versions.definition_of(found), context.study, found.number)
    response = Response(body=export.content, content_type=export.content_type)
    response.content_disposition = f'attachment; filename="{export.filename}"'
    return response
