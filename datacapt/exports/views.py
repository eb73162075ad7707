"""The study's Exports page: choose what to export, follow the job, download the file."""

from __future__ import annotations

from dataclasses import replace
from functools import cache, partial
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import FileResponse, Response
from pyramid.view import view_config
from webob.multidict import MultiDict

from datacapt.exports import definitions, services
from datacapt.exports.forms import parse_options
from datacapt.exports.options import Coded, ExportFormat, ExportOptions
from datacapt.exports.retry import NotRetryable, retry_export, retryable
from datacapt.exports.source import catalogue
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _, request_timezone, timezone_choices
from datacapt.models.entry import FormStatus, LockState
from datacapt.models.exports import Every, ExportState
from datacapt.permissions import NEVER_PERSONAL_DATA, Permission
from datacapt.resources import ExportResource, ExportsResource
from datacapt.resources.base import StudyChild
from datacapt.studies.services import study_sites

PAGE = "exports/page.jinja2"
ROW = "exports/_row.jinja2"
FORMAT_LABELS = {
    ExportFormat.CSV: _("CSV (zip: values, a table per form, codebook)"),
    ExportFormat.XLSX: _("Excel workbook (a sheet per form, codebook)"),
    ExportFormat.SAS: _("SAS transport, XPORT v5 (zip: a dataset per form, codebook)"),
    ExportFormat.SPSS: _("SPSS .sav (zip: a dataset per form, codebook)"),
    ExportFormat.STATA: _("Stata .dta (zip: a dataset per form, codebook)"),
    ExportFormat.CSV_WIDE: _(
        "Wide CSV (zip: a row per subject, a column per visit, form and item)"
    ),
    ExportFormat.R: _("R (zip: the CSV tables and a script reading them with labels and factors)"),
    ExportFormat.DATASET_JSON: _("CDISC Dataset-JSON 1.1 (zip: a dataset per form, codebook)"),
    ExportFormat.DATASET_NDJSON: _("CDISC Dataset-JSON 1.1 as NDJSON (zip: a dataset per form)"),
    ExportFormat.PDF: _("PDF casebooks, PDF/A (zip: one per subject, codebook)"),
    ExportFormat.ODM: _("CDISC ODM 1.3.2 XML (metadata, users and sites, clinical data)"),
}
CODED_LABELS = {
    Coded.CODES: _("Codes"),
    Coded.LABELS: _("Labels"),
    Coded.BOTH: _("Codes and labels"),
}
STATUS_LABELS = {FormStatus.IN_PROGRESS: _("In progress"), FormStatus.COMPLETE: _("Complete")}
LOCK_LABELS = {
    LockState.OPEN: _("Open"),
    LockState.FROZEN: _("Frozen"),
    LockState.LOCKED: _("Locked"),
}
STATE_LABELS = {
    ExportState.QUEUED: _("Waiting"),
    ExportState.RUNNING: _("Running"),
    ExportState.DONE: _("Ready"),
    ExportState.FAILED: _("Failed"),
}
EVERY_LABELS = {Every.DAY: _("Every day"), Every.WEEK: _("Every week")}
WEEKDAY_LABELS = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)


@cache
def _timezone_options() -> list[tuple[str, str]]:
    """The zones a saved export's schedule may use (read from the system once)."""
    return [(zone, zone) for zone in timezone_choices()]


def may_take_personal_data(request: Request, context: StudyChild) -> bool:
    """Whether the requester may have personal-data items in an export: who sees personal data
    study-wide (``VIEW_PII``), and never a sponsor viewer, whatever else they hold."""
    roles = {grant.role for grant in request.identity.roles_in_study(context.study.id)}
    return not roles & NEVER_PERSONAL_DATA and bool(
        request.has_permission(Permission.VIEW_PII, context.study_node)
    )


def may_see_allocations(request: Request, context: StudyChild) -> bool:
    """Whether the requester's exports carry concealed allocations (arms, what split-body
    products are): who may see them on the pages (``VIEW_ALLOCATION``)."""
    return bool(request.has_permission(Permission.VIEW_ALLOCATION, context.study_node))


def _page(
    context: ExportsResource,
    request: Request,
    errors: dict[str, Any] | None = None,
    posted: MultiDict | None = None,
    editing: Any = None,
) -> dict[str, Any]:
    study = context.study
    fresh = MultiDict({"format": "csv", "coded": "codes", "hour": "7"})
    fresh["timezone"] = request_timezone(request).key
    found = catalogue(request.dbsession, study)
    return {
        "exports": services.recent_exports(request.dbsession, study),
        "definitions": definitions.definitions_of(request.dbsession, study),
        "editing": editing,
        "timezone_options": _timezone_options(),
        "weekday_options": [
            (str(number), request.localizer.translate(label))
            for number, label in enumerate(WEEKDAY_LABELS)
        ],
        "hour_options": [(str(hour), f"{hour:02d}:00") for hour in range(24)],
        "sites": [site.code for site in study_sites(request.dbsession, study)],
        "form_names": list(found.forms),
        "visit_names": list(dict.fromkeys([*found.visits, "unscheduled"])),
        "may_start": request.has_permission(Permission.EXPORT_DATA, context),
        "may_take_personal": may_take_personal_data(request, context),
        "may_see_allocations": may_see_allocations(request, context),
        "zone": request_timezone(request).key,
        "errors": errors or {},
        "posted": posted if posted is not None else fresh,
        **_labels(),
    }


def _labels() -> dict[str, Any]:
    return {
        "format_labels": FORMAT_LABELS,
        "coded_labels": CODED_LABELS,
        "status_labels": STATUS_LABELS,
        "lock_labels": LOCK_LABELS,
        "state_labels": STATE_LABELS,
        "every_labels": EVERY_LABELS,
        "weekday_labels": WEEKDAY_LABELS,
        "retryable": retryable,
        "export_as_of": lambda export: services.options_of(export.options).as_of,
    }


@page_view(ExportsResource, PAGE, Permission.VIEW_EXPORTS)
def exports_page(context: ExportsResource, request: Request) -> dict[str, Any]:
    return _page(context, request)


@view_config(
    context=ExportsResource,
    name="start",
    request_method="POST",
    renderer=PAGE,
    permission=Permission.EXPORT_DATA,
)
def start_export(context: ExportsResource, request: Request) -> Any:
    page = _page(context, request, posted=request.POST)
    options, errors = parse_options(
        request.POST,
        page["sites"],
        page["form_names"],
        page["visit_names"],
        known_subjects=partial(services.known_subjects, request.dbsession, context.study),
        zone=request_timezone(request),
        personal_allowed=page["may_take_personal"],
    )
    if errors:
        request.response.status_int = 422
        return {**page, "errors": errors}
    assert isinstance(options, ExportOptions)
    options = replace(options, allocations=may_see_allocations(request, context))
    services.request_export(
        request.dbsession,
        context.study,
        options,
        request.identity.user.id,
        application_url=request.application_url,
    )
    return redirect(request, request.resource_path(context))


@page_view(ExportResource, ROW, Permission.VIEW_EXPORTS, name="row")
def export_row(context: ExportResource, request: Request) -> dict[str, Any]:
    """One export's row, which the page polls while its job runs."""
    return {
        "export": context.export,
        "exports_node": context.__parent__,
        "may_take_personal": may_take_personal_data(request, context),
        **_labels(),
    }


@view_config(
    context=ExportResource,
    name="retry",
    request_method="POST",
    renderer=PAGE,
    permission=Permission.EXPORT_DATA,
)
def retry(context: ExportResource, request: Request) -> Any:
    """Run a failed or stuck export again, for the same snapshot (the same bytes)."""
    exports_node = context.__parent__
    try:
        retry_export(
            request.dbsession,
            context.export,
            request.actor,
            application_url=request.application_url,
        )
    except NotRetryable:
        request.response.status_int = 409
        message = _("This export is finished or still running: there is nothing to retry.")
        return {**_page(exports_node, request), "errors": {"retry": message}}
    return redirect(request, request.resource_path(exports_node))


@view_config(
    context=ExportResource,
    name="download",
    request_method="GET",
    permission=Permission.VIEW_EXPORTS,
)
def download(context: ExportResource, request: Request) -> Response:
    """The file, to a holder of ``VIEW_EXPORTS`` of this study, while it is kept; audited. An
    export holding personal data is not there (404) for who may not take personal data."""
    export = context.export
    path = services.take(
        request.dbsession,
        request.registry,
        export,
        personal_allowed=may_take_personal_data(request, context),
        actor=request.actor,
        allocations_allowed=may_see_allocations(request, context),
    )
    if path is None:
        raise HTTPNotFound()
    response = FileResponse(str(path), request=request, content_type="application/octet-stream")
    response.content_disposition = (
        f'attachment; filename="{context.study.code}-export-{export.id}{path.suffix}"'
    )
    response.cache_control = "no-store"
    return response
