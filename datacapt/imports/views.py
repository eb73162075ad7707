"""The study's Imports page: upload a file, follow its dry run, read its report, confirm it."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPConflict
from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.imports import services
from datacapt.imports.cells import Unreadable
from datacapt.models import DataImport, ImportFormat, ImportState
from datacapt.permissions import Permission
from datacapt.resources import ImportResource, ImportsResource

PAGE = "imports/page.jinja2"
IMPORT = "imports/import.jinja2"
REPORT = "imports/_report.jinja2"
FORMAT_LABELS = {
    ImportFormat.CSV: _("Datacapt long CSV (values.csv of a CSV export)"),
    ImportFormat.REDCAP: _("REDCap records, flat CSV export"),
    ImportFormat.ODM: _("CDISC ODM 1.3.2 ClinicalData (XML)"),
}
STATE_LABELS = {
    ImportState.QUEUED: _("Waiting"),
    ImportState.CHECKING: _("Checking"),
    ImportState.READY: _("Checked: waits for confirmation"),
    ImportState.REFUSED: _("Refused: nothing written"),
    ImportState.WRITING: _("Writing"),
    ImportState.DONE: _("Imported"),
    ImportState.FAILED: _("Unreadable: nothing written"),
}


def _labels() -> dict[str, Any]:
    return {"format_labels": FORMAT_LABELS, "state_labels": STATE_LABELS}


def _page(
    context: ImportsResource, request: Request, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "imports": services.recent_imports(request.dbsession, context.study),
        "errors": errors or {},
        "chosen": request.POST.get("format", ImportFormat.CSV.value),
        "max_megabytes": request.registry["imports.max_bytes"] // (1024 * 1024),
        **_labels(),
    }


@page_view(ImportsResource, PAGE, Permission.IMPORT_DATA)
def imports_page(context: ImportsResource, request: Request) -> dict[str, Any]:
    return _page(context, request)


@view_config(
    context=ImportsResource,
    name="upload",
    request_method="POST",
    renderer=PAGE,
    permission=Permission.IMPORT_DATA,
)
def upload(context: ImportsResource, request: Request) -> Any:
    """Keep the file and ask for its dry run; a file too big, of another format or unreadable
    is refused next to the field (422), keeping nothing."""
    errors: dict[str, Any] = {}
    kind = request.POST.get("format", "")
    if kind not in {f.value for f in ImportFormat}:
        errors["format"] = _("Choose the file's format.")
    sent = request.POST.get("file")
    if not hasattr(sent, "file"):
        errors["file"] = _("Choose a file to import.")
    if not errors:
        try:
            row = services.receive(
                request.dbsession,
                request.registry,
                context.study,
                source=sent.file,
                file_name=sent.filename or "",
                kind=ImportFormat(kind),
                requested_by_id=request.identity.user.id,
            )
        except services.TooBig:
            errors["file"] = _(
                "This file is larger than ${size} MB.",
                mapping={"size": request.registry["imports.max_bytes"] // (1024 * 1024)},
            )
        except Unreadable as unreadable:
            errors["file"] = unreadable.message
        else:
            services.request_check(request.dbsession, row)
            return redirect(request, request.resource_path(context, str(row.id), ""))
    request.response.status_int = 422
    return _page(context, request, errors)


def _message(entry: dict[str, Any]) -> TranslationString:
    return TranslationString(entry["text"], domain="datacapt", mapping=entry.get("mapping"))


def _import(context: ImportResource) -> dict[str, Any]:
    row: DataImport = context.data_import
    report = row.report or {}
    return {
        "data_import": row,
        "report": report,
        "refusals": [(entry, _message(entry)) for entry in report.get("refusals", [])],
        "error": _message(report["error"]) if "error" in report else None,
        "active": row.state in (ImportState.QUEUED, ImportState.CHECKING, ImportState.WRITING),
        **_labels(),
    }


@page_view(ImportResource, IMPORT, Permission.IMPORT_DATA)
def import_page(context: ImportResource, request: Request) -> dict[str, Any]:
    return _import(context)


@page_view(ImportResource, REPORT, Permission.IMPORT_DATA, name="report")
def import_report(context: ImportResource, request: Request) -> dict[str, Any]:
    """The state and report of one import, which its page polls while a job runs."""
    return _import(context)


@view_config(
    context=ImportResource,
    name="confirm",
    request_method="POST",
    permission=Permission.IMPORT_DATA,
)
def confirm(context: ImportResource, request: Request) -> Response:
    """Write a clean dry run; anything else (refused, already written, still checking) is a
    409."""
    try:
        services.confirm(request.dbsession, context.data_import, request.identity.user.id)
    except services.NotConfirmable:
        raise HTTPConflict(
            _("Only an import whose dry run refused nothing can be confirmed, and only once.")
        ) from None
    return redirect(request, request.resource_path(context, ""))
