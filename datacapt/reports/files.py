"""A report as a file: its chart as SVG or PNG, its table as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date

from datacapt.exports.cells import neutralised
from datacapt.reports.presentation import Cell, Report, Share

#: PNG pixels per SVG unit: sharp on high-density screens and in documents.
PNG_SCALE = 2
FORMATS = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "csv": "text/csv",
}


def csv_cell(value: Cell) -> str:
    """Dates in ISO 8601, shares as percentages with one decimal, text that cannot run as a
    formula in a spreadsheet."""
    if isinstance(value, Share):
        return f"{value * 100:.1f}"
    if isinstance(value, date):
        return value.isoformat()
    return neutralised(str(value))


def table_csv(report: Report) -> bytes:
    """RFC 4180, UTF-8 with a BOM (so spreadsheets read the accents), the table's header
    first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralised(column) for column in report.columns])
    writer.writerows([csv_cell(value) for value in row] for row in report.rows)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def chart_png(report: Report) -> bytes:
    """The chart's SVG rasterised on the server (cairo), the same drawing as the page's."""
    # Imported here: cairosvg and cairocffi take about a second to load, which every web, job
    # and command-line process would pay at start for the few that draw a PNG.
    import cairosvg

    return cairosvg.svg2png(bytestring=report.svg().encode("utf-8"), scale=PNG_SCALE)


def content(report: Report, file_format: str) -> bytes:
    if file_format == "png":
        return chart_png(report)
    if file_format == "csv":
        return table_csv(report)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + report.svg()).encode("utf-8")
