"""The six reports as a reader sees them: a chart and a table of the same numbers, in the
reader's language, made from :mod:`.services`' sums."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from datacapt.ecrf.definition import text_in
from datacapt.i18n import _
from datacapt.models import Site, SubjectStatus
from datacapt.reports import services
from datacapt.reports.charts import COLOURS, Series, bar_chart, line_chart
from datacapt.reports.services import AGES, SDV_STATES, SIGNATURE_STATES, Figures, Period


class Share(float):
    """A fraction shown as a percentage (0.25: 25.0 %)."""


Cell = str | int | date | Share
Translate = Callable[[Any], str]
PERIOD_COLUMNS = {Period.DAY: _("Date"), Period.WEEK: _("Week of"), Period.MONTH: _("Month of")}
PERIOD_DESCRIPTIONS = {
    Period.DAY: _(
        "Subjects enrolled by the end of each day with an enrolment, per site and in all."
    ),
    Period.WEEK: _(
        "Subjects enrolled by the end of each week (from Monday) with an enrolment, per site and "
        "in all."
    ),
    Period.MONTH: _(
        "Subjects enrolled by the end of each month with an enrolment, per site and in all."
    ),
}
#: The most sites the enrolment chart draws a line for, one colour each; with more, the lines
#: could not be told apart (and a study of 200 sites drew 6,600 points): the chart then shows
#: all sites together, the table every site, and choosing a site draws its own line.
MOST_SITE_LINES = len(COLOURS)
TOTAL_ONLY = _(
    "With this many sites the chart shows all of them together: the table gives each site, "
    "and choosing a site draws its own line."
)
NAMES = ("enrolment", "screen-failures", "completion", "queries", "sdv", "signatures")


@dataclass(frozen=True)
class Report:
    name: str  # its key in URLs and file names
    title: str
    description: str
    line: bool  # a line chart over dates (else bars over categories)
    categories: Sequence[Any]  # site or visit labels, or dates
    series: Sequence[Series]
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    target_label: str = "Target"  # what a line chart's legend calls the targets
    drawn: Sequence[Series] | None = None  # the chart's series, when not every one of the table

    def svg(self) -> str:
        if self.line:
            return line_chart(
                self.name,
                self.title,
                self.description,
                self.categories,
                self.series if self.drawn is None else self.drawn,
                self.target_label,
            )
        return bar_chart(self.name, self.title, self.description, self.categories, self.series)


def site_label(site: Site) -> str:
    return f"{site.code} {site.name}"


def _by_site(
    name: str,
    title: str,
    description: str,
    sites: Sequence[Site],
    labels: Sequence[str],
    values: Callable[[Site], Sequence[int]],
    translate: Translate,
) -> Report:
    """A stacked bar per site, a series per state, and the table with a row per site."""
    table = [[site_label(site), *values(site)] for site in sites]
    return Report(
        name,
        translate(title),
        translate(description),
        False,
        [site_label(site) for site in sites],
        [Series(label, tuple(row[i + 1] for row in table)) for i, label in enumerate(labels)],
        [translate(_("Site")), *labels],
        table,
    )


def _target_rows(lines: Sequence[Series], label: str, translate: Translate) -> list[list[Cell]]:
    """Under the enrolment table, when a line has a target: each line's target, and the share
    of it enrolled by the last date (blank for a line without one)."""
    if all(line.target is None for line in lines):
        return []
    return [
        [label, *(line.target if line.target is not None else "" for line in lines)],
        [
            translate(_("Share of target")),
            *(
                Share((line.values[-1] if line.values else 0) / line.target)
                if line.target is not None
                else ""
                for line in lines
            ),
        ],
    ]


def reports(
    found: Figures,
    sites: Sequence[Site],
    definition: Any,
    zone: ZoneInfo,
    language: str,
    translate: Translate,
) -> list[Report]:
    """Every report, in the order the page shows them."""
    site_ids = [site.id for site in sites]
    period, days, cumulative = services.enrolment(found, site_ids, zone)
    lines = [
        Series(site_label(site), tuple(cumulative[site.id]), site.target_enrolment)
        for site in sites
    ]
    totals = tuple(sum(values) for values in zip(*cumulative.values(), strict=True)) if days else ()
    if len(sites) > 1:
        lines.append(Series(translate(_("All sites")), totals, services.total_target(sites)))
    target_label = translate(_("Target"))
    description = translate(PERIOD_DESCRIPTIONS[period])
    drawn = None
    if len(sites) > MOST_SITE_LINES:
        drawn = lines[-1:]
        description += " " + translate(TOTAL_ONLY)
    enrolment = Report(
        "enrolment",
        translate(_("Enrolment over time")),
        description,
        True,
        days,
        lines,
        [translate(PERIOD_COLUMNS[period]), *(line.label for line in lines)],
        [[day, *(line.values[i] for line in lines)] for i, day in enumerate(days)]
        + _target_rows(lines, target_label, translate),
        target_label,
        drawn,
    )

    subjects = services.subjects_by_site(found)
    failures = services.subjects_by_site(found, SubjectStatus.SCREEN_FAILURE.value)
    failed = Report(
        "screen-failures",
        translate(_("Screen failures")),
        translate(_("Subjects whose screening failed, per site.")),
        False,
        [site_label(site) for site in sites],
        [Series(translate(_("Screen failures")), tuple(failures[site.id] for site in sites))],
        [
            translate(_("Site")),
            translate(_("Subjects")),
            translate(_("Screen failures")),
            translate(_("Share of subjects")),
        ],
        [
            [
                site_label(site),
                subjects[site.id],
                failures[site.id],
                Share(failures[site.id] / subjects[site.id] if subjects[site.id] else 0),
            ]
            for site in sites
        ],
    )

    states = [translate(_("Complete")), translate(_("In progress")), translate(_("Not started"))]
    visits = definition.schedule.visits if definition is not None else []
    by_visit = services.completion(found, definition, sum(subjects.values())) if definition else {}
    visit_rows = [
        [
            text_in(visit.title, language, definition.default_language),
            by_visit[visit.name].complete,
            by_visit[visit.name].in_progress,
            by_visit[visit.name].not_started,
        ]
        for visit in visits
    ]
    completion = Report(
        "completion",
        translate(_("Form completion by visit")),
        translate(
            _(
                "Forms of each visit complete, in progress and not started (each subject's "
                "forms of the visit, log forms aside)."
            )
        ),
        False,
        [row[0] for row in visit_rows],
        [Series(state, tuple(row[i + 1] for row in visit_rows)) for i, state in enumerate(states)],
        [translate(_("Visit")), *states],
        visit_rows,
    )

    ages = services.queries_by_site(found)
    age_labels = [
        translate(_("0–7 days")),
        translate(_("8–30 days")),
        translate(_("More than 30 days")),
    ]
    queries = _by_site(
        "queries",
        _("Open queries by site and age"),
        _("Queries not closed, per site, by days since they were raised."),
        sites,
        age_labels,
        lambda site: [ages[site.id][label] for label, _first, _last in AGES],
        translate,
    )

    sdv = services.forms_by_site(found, services.SDV)
    verification = _by_site(
        "sdv",
        _("Source data verification"),
        _("Forms that need verification, per site: verified, awaiting, changed since verified."),
        sites,
        [
            translate(_("Verified")),
            translate(_("Awaiting verification")),
            translate(_("Changed since verified")),
        ],
        lambda site: [sdv[site.id][state.value] for state in SDV_STATES],
        translate,
    )

    signed = services.forms_by_site(found, services.SIGNATURE)
    signatures = _by_site(
        "signatures",
        _("Signatures"),
        _("Forms entered, per site: signed, not signed, signature broken by a later change."),
        sites,
        [translate(_("Signed")), translate(_("Not signed")), translate(_("Signature broken"))],
        lambda site: [signed[site.id][state.value] for state in SIGNATURE_STATES],
        translate,
    )
    return [enrolment, failed, completion, queries, verification, signatures]
