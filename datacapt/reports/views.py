"""The Reports page (charts and tables, filtered by site and enrolment dates, re-rendered by
htmx), each report as a file (SVG, PNG, CSV), and the summary on the study's home page.

Every figure is limited to the sites the reader may see, as on the record status dashboard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt import audit
from datacapt.htmx import READ, page_view
from datacapt.i18n import _
from datacapt.models import Site
from datacapt.permissions import Permission
from datacapt.reports import services
from datacapt.reports.files import FORMATS, content
from datacapt.reports.forms import Filters, parse_filters
from datacapt.reports.presentation import NAMES, Cell, Report, Share, reports, site_label
from datacapt.resources import ReportsResource
from datacapt.studies.services import study_sites


def _visible_sites(context: ReportsResource, request: Request) -> list[Site]:
    return study_sites(
        request.dbsession, context.study, request.identity.visible_site_ids(context.study)
    )


def _figures(
    context: ReportsResource, request: Request, sites: list[Site], filters: Filters
) -> services.Figures:
    scope = services.Scope(
        context.study,
        services.in_scope([site.id for site in sites], filters.site.id if filters.site else None),
        filters.since,
        filters.until,
    )
    return services.figures(request.dbsession, scope, datetime.now(UTC))


def _reports(
    context: ReportsResource, request: Request, sites: list[Site], filters: Filters
) -> list[Report]:
    design = context.study_node.design
    return reports(
        _figures(context, request, sites, filters),
        [filters.site] if filters.site else sites,
        design.definition if design else None,
        request.timezone,
        request.locale_name,
        request.localizer.translate,
    )


def display(value: Cell, locale: str) -> str:
    """A table cell as the page shows it, in the reader's language."""
    if isinstance(value, Share):
        return format_percent(value, "#,##0.0%", locale=locale)
    if isinstance(value, int):  # small counts need no grouping: spare Babel the work
        return str(value) if -1000 < value < 1000 else format_decimal(value, locale=locale)
    if isinstance(value, str):
        return value
    return format_date(value, "dd MMM yyyy", locale=locale)


@page_view(ReportsResource, "reports/page.jinja2", Permission.LIST_SUBJECTS)
def reports_page(context: ReportsResource, request: Request) -> dict[str, Any]:
    sites = _visible_sites(context, request)
    filters, errors = parse_filters(request.GET, sites, request.timezone)
    if errors:
        request.response.status_int = 422
    shown = _reports(context, request, sites, filters)
    locale = request.locale_name
    return {
        "reports": shown,
        "cells": {r.name: [[display(v, locale) for v in row] for row in r.rows] for r in shown},
        "site_options": [(site.code, site_label(site)) for site in sites],
        "filters": filters,
        "errors": errors,
        "query": filters.as_query() if not errors else {},
    }


@view_config(
    context=ReportsResource,
    name="download",
    request_method=READ,
    permission=Permission.LIST_SUBJECTS,
)
def download(context: ReportsResource, request: Request) -> Response:
    """One report as a file: ``report`` (its name) and ``format`` (svg, png, csv), with the
    page's filters. Audited, as every file that leaves the system."""
    name, file_format = request.GET.get("report", ""), request.GET.get("format", "")
    sites = _visible_sites(context, request)
    filters, errors = parse_filters(request.GET, sites, request.timezone)
    if name not in NAMES:
        errors["report"] = _("Choose a report from the list.")
    if file_format not in FORMATS:
        errors["format"] = _("Choose SVG, PNG or CSV.")
    if errors:
        message = " ".join(request.localizer.translate(text) for text in errors.values())
        return Response(message, status=400, content_type="text/plain", charset="utf-8")
    report = next(r for r in _reports(context, request, sites, filters) if r.name == name)
    audit.record(
        request.dbsession,
        request.actor,
        tenant_id=context.study.tenant_id,
        study_id=context.study.id,
        action="report.downloaded",
        entity_type="study",
        entity_id=context.study.id,
        new={"report": name, "format": file_format, **filters.as_query()},
    )
    response = Response(body=content(report, file_format), content_type=FORMATS[file_format])
    if file_format == "csv":
        response.charset = "utf-8"
    response.content_disposition = (
        f'attachment; filename="{context.study.code}-{name}.{file_format}"'
    )
    return response


@page_view(ReportsResource, "reports/_summary.jinja2", Permission.LIST_SUBJECTS, name="summary")
def summary(context: ReportsResource, request: Request) -> dict[str, Any]:
    """Enrolled subjects (against the target of the sites one sees, if set), open queries and
    forms awaiting verification, for the study's home."""
    sites = _visible_sites(context, request)
    found = _figures(context, request, sites, Filters())
    return {"summary": services.summary(found, services.total_target(sites))}
