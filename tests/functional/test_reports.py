"""The Reports page and the study home's summary: on a study whose subjects, forms and queries
are laid out below, every table holds the numbers those rows give, every chart draws one mark
per number, the files (SVG, PNG, CSV) carry the same, filters and site restrictions narrow
them, and the page costs the same statements whatever the study's size."""

from __future__ import annotations

import csv
import io
import struct
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import webtest
from lxml import etree
from sqlalchemy import literal, select

from datacapt.actor import Actor
from datacapt.cli.demo_design import demo_definition
from datacapt.config import get_app_settings
from datacapt.entry.services import new_form_instance
from datacapt.models import (
    AuditEvent,
    FormStatus,
    QueryState,
    SdvStatus,
    SignatureState,
    SubjectStatus,
    VisitInstance,
)
from datacapt.models.types import UTCDateTime
from datacapt.queries import services as queries
from datacapt.reports.charts import SVG_NS
from datacapt.reports.presentation import MOST_SITE_LINES
from datacapt.reports.services import QUARTER_HOUR, quarter_hour
from datacapt.studies.services import create_site
from tests.factories import SETUP, build_world, login, make_subject

REPORTS = "/acme/demo/reports/"
HTMX = {"HX-Request": "true"}
SITES = ("ber01", "par01")  # as the reports list them: by code
#: The labels of the enrolment table's rows under the dates, when a site has a target.
TARGET_ROWS = ("Target", "Share of target")
SCR, INC, FAIL = SubjectStatus.SCREENING, SubjectStatus.INCLUDED, SubjectStatus.SCREEN_FAILURE
#: (subject, days before today it was enrolled, status); the first two come from build_world.
SUBJECTS = (
    ("par01-0001", 0, SCR),
    ("ber01-0001", 0, SCR),
    ("par01-0002", 40, INC),
    ("par01-0003", 20, FAIL),
    ("par01-0004", 5, INC),
    ("ber01-0002", 40, FAIL),
    ("ber01-0003", 12, INC),
)
C, P = FormStatus.COMPLETE, FormStatus.IN_PROGRESS
V, A, CH, NR = SdvStatus.VERIFIED, SdvStatus.AWAITING, SdvStatus.CHANGED, SdvStatus.NOT_REQUIRED
SG, U, B = SignatureState.SIGNED, SignatureState.UNSIGNED, SignatureState.BROKEN
#: (subject, visit, form, status, SDV, signature)
FORMS = (
    ("par01-0002", "screening", "consent", C, V, SG),
    ("par01-0002", "screening", "demographics", C, A, U),
    ("par01-0002", "screening", "vital_signs", P, NR, U),
    ("par01-0002", "baseline", "vital_signs", C, CH, B),
    ("par01-0004", "screening", "consent", P, A, U),
    ("ber01-0003", "screening", "consent", C, V, SG),
    ("ber01-0003", "screening", "demographics", C, V, U),
    ("ber01-0003", "week4", "vital_signs", P, A, U),
)
#: (subject, visit, form, days since raised, closed)
QUERIES = (
    ("par01-0002", "screening", "demographics", 2, False),
    ("par01-0002", "screening", "consent", 10, False),
    ("par01-0004", "screening", "consent", 45, False),
    ("ber01-0003", "screening", "consent", 3, False),
    ("ber01-0003", "screening", "demographics", 60, True),
)


def noon(days_ago: int) -> datetime:
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=days_ago), time(12), UTC)


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    for label, days_ago, status in SUBJECTS:
        subject = world.subjects.get(label) or make_subject(
            dbsession, world.sites[label[:5]], label
        )
        subject.status, subject.created_at = status, noon(days_ago)
        world.subjects[label] = subject
    instances = {}
    visits: dict[tuple[str, str], VisitInstance] = {}
    for label, visit, form, status, sdv, signature in FORMS:
        subject = world.subjects[label]
        if (label, visit) not in visits:
            visits[label, visit] = _visit(dbsession, subject, visit)
        instance = new_form_instance(
            dbsession,
            subject,
            visits[label, visit],
            form,
            1,
            status=status,
            version_number=1,
            actor=SETUP,
        )
        instance.sdv_status, instance.signature_state = sdv, signature
        instances[label, visit, form] = instance
    dbsession.flush()
    raiser = Actor(world.users["data_manager"].id)
    for label, visit, form, days, closed in QUERIES:
        query = queries.raise_query(
            dbsession, instances[label, visit, form], None, "Please check.", raiser
        )
        query.raised_at = datetime.now(UTC) - timedelta(days=days, hours=1)
        if closed:
            query.state = QueryState.CLOSED
    dbsession.flush()
    return world


def _visit(dbsession, subject, visit):
    from datacapt.subjects.services import new_visit_instance

    return new_visit_instance(dbsession, subject, visit, 1, SETUP)


def as_user(app, world, role) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, world.users[role].email).status_int == 303
    return client


@pytest.fixture
def monitor(app, world):
    return as_user(app, world, "monitor")


# --- what the data above gives, computed from it ---------------------------------------------


def subjects_in(sites=SITES, since: int | None = None, until: int | None = None):
    """The subjects of ``sites`` enrolled between ``since`` and ``until`` days ago."""
    return [
        (label, days, status)
        for label, days, status in SUBJECTS
        if label[:5] in sites
        and (since is None or days <= since)
        and (until is None or days >= until)
    ]


def target_rows(sites, subjects, targets) -> list[list]:
    """The enrolment table's last rows when a site has a target: each line's target and the
    share of it enrolled (blank without a target); the total only if every site has one."""
    if not any(code in targets for code in sites):
        return []
    enrolled = [sum(1 for label, _d, _s in subjects if label[:5] == code) for code in sites]
    goals = [targets.get(code) for code in sites]
    if len(sites) > 1:
        total = sum(goals) if None not in goals else None
        enrolled, goals = [*enrolled, sum(enrolled)], [*goals, total]
    return [
        [TARGET_ROWS[0], *(goal if goal else "" for goal in goals)],
        [
            TARGET_ROWS[1],
            *(
                f"{100 * n / goal:.1f}" if goal else ""
                for n, goal in zip(enrolled, goals, strict=True)
            ),
        ],
    ]


def expected_tables(
    zone: ZoneInfo, sites=SITES, since=None, until=None, targets=None
) -> dict[str, list]:
    subjects = subjects_in(sites, since, until)
    labels = {label for label, _days, _status in subjects}
    forms = [row for row in FORMS if row[0] in labels]
    enrolled_on = Counter(
        (label[:5], noon(days).astimezone(zone).date()) for label, days, _ in subjects
    )
    days = sorted({day for _site, day in enrolled_on})
    enrolment = []
    for day in days:
        row = [
            sum(n for (site, d), n in enrolled_on.items() if site == code and d <= day)
            for code in sites
        ]
        enrolment.append([day.isoformat(), *row, *([sum(row)] if len(sites) > 1 else [])])
    enrolment += target_rows(sites, subjects, targets or {})
    failures = []
    for code in sites:
        total = sum(1 for label, _d, _s in subjects if label[:5] == code)
        failed = sum(1 for label, _d, status in subjects if label[:5] == code and status is FAIL)
        share = f"{100 * failed / total:.1f}" if total else "0.0"
        failures.append([code, total, failed, share])
    completion = []
    for visit in demo_definition().schedule.visits:
        status = Counter(row[3] for row in forms if row[1] == visit.name)
        expected = len(subjects) * len(visit.forms)
        completion.append([visit.name, status[C], status[P], expected - status[C] - status[P]])
    open_queries = [row for row in QUERIES if row[0] in labels and not row[4]]
    ages = []
    for code in sites:
        days_open = [row[3] for row in open_queries if row[0][:5] == code]
        ages.append(
            [
                code,
                sum(1 for d in days_open if d <= 7),
                sum(1 for d in days_open if 8 <= d <= 30),
                sum(1 for d in days_open if d > 30),
            ]
        )
    sdv = [
        [code, *(sum(1 for r in forms if r[0][:5] == code and r[4] is s) for s in (V, A, CH))]
        for code in sites
    ]
    signatures = [
        [code, *(sum(1 for r in forms if r[0][:5] == code and r[5] is s) for s in (SG, U, B))]
        for code in sites
    ]
    return {
        "enrolment": enrolment,
        "screen-failures": failures,
        "completion": completion,
        "queries": ages,
        "sdv": sdv,
        "signatures": signatures,
    }


def zone_of(registry) -> ZoneInfo:
    return ZoneInfo(get_app_settings(registry).default_timezone)


# --- reading what the app gives ---------------------------------------------------------------


def key_of(text: str) -> str:
    """A row header as the tests name it: a site's code, a visit's name, an ISO date."""
    text = " ".join(text.split())
    if text in TARGET_ROWS:
        return text
    for visit in demo_definition().schedule.visits:
        if text == visit.title["en"]:
            return visit.name
    try:
        return datetime.strptime(text, "%d %b %Y").date().isoformat()
    except ValueError:
        return text.split(" ")[0]


def number(text: str) -> int | str:
    text = text.strip().replace(",", "")
    if not text:
        return ""
    return f"{float(text[:-1]):.1f}" if text.endswith("%") else int(text)


def html_table(page, name: str) -> list[list]:
    table = page.html.find("table", id=f"table-{name}")
    if table is None:
        return []
    return [
        [key_of(row.th.text), *(number(td.text) for td in row.find_all("td"))]
        for row in table.tbody.find_all("tr")
    ]


def csv_table(app, name: str, **filters) -> tuple[list[str], list[list]]:
    response = app.get(REPORTS + "@@download", {"report": name, "format": "csv", **filters})
    assert response.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    parsed = []
    for row in rows[1:]:
        head = row[0] if name == "enrolment" else key_of(row[0])
        parsed.append([head, *(cell if "." in cell or not cell else int(cell) for cell in row[1:])])
    return rows[0], parsed


def marks(app, name: str, **filters) -> tuple[etree._Element, list[int]]:
    response = app.get(REPORTS + "@@download", {"report": name, "format": "svg", **filters})
    assert response.content_type == "image/svg+xml"
    svg = etree.fromstring(response.body)
    found = svg.xpath("//s:*[@class='mark']", namespaces={"s": SVG_NS})
    return svg, [int(mark.get("data-value")) for mark in found]


# --- the tests --------------------------------------------------------------------------------


def test_every_table_holds_the_numbers_of_the_data(monitor, registry):
    page = monitor.get(REPORTS)
    expected = expected_tables(zone_of(registry))
    for name, rows in expected.items():
        assert html_table(page, name) == rows, name
    assert len(page.html.select("svg.chart")) == len(expected)


def test_each_chart_is_an_accessible_svg_with_one_mark_per_number(monitor, registry):
    expected = expected_tables(zone_of(registry))
    for name, rows in expected.items():
        svg, values = marks(monitor, name)
        assert svg.get("role") == "img"
        title = svg.find(f"{{{SVG_NS}}}title")
        desc = svg.find(f"{{{SVG_NS}}}desc")
        assert title.text and desc.text
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        if name == "enrolment":  # a line per site and the total, a point per date
            drawn = [
                value for column in zip(*[row[1:] for row in rows], strict=True) for value in column
            ]
        elif name == "screen-failures":  # a bar per site: its failures
            drawn = [row[2] for row in rows]
        else:  # stacked bars: a segment per number, row by row
            drawn = [value for row in rows for value in row[1:]]
        assert values == drawn, name
        # every mark says what it counts, for those who cannot tell the colours apart
        for mark in svg.xpath("//s:*[@class='mark']", namespaces={"s": SVG_NS}):
            assert mark.find(f"{{{SVG_NS}}}title").text.endswith(": " + mark.get("data-value"))


def test_the_csv_files_hold_the_tables(monitor, registry, dbsession):
    page = monitor.get(REPORTS)
    expected = expected_tables(zone_of(registry))
    for name, rows in expected.items():
        header, parsed = csv_table(monitor, name)
        assert parsed == rows, name
        columns = [
            " ".join(th.text.split())
            for th in page.html.find("table", id=f"table-{name}").thead.find_all("th")
        ]
        assert header == columns
    events = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "report.downloaded")
    ).all()
    assert len(events) == len(expected)  # every file that leaves is in the audit trail


def test_site_names_are_escaped_in_the_page_and_cannot_run_as_formulas(monitor, world, dbsession):
    world.sites["ber01"].code = "=ber01"
    world.sites["ber01"].name = "<b>Berlin</b>"
    dbsession.flush()
    page = monitor.get(REPORTS)
    assert "<b>Berlin" not in page.text and "&lt;b&gt;Berlin" in page.text
    assert page.html.find("table", id="table-sdv").find("b") is None
    world.sites["ber01"].name = "Berlin"
    dbsession.flush()
    response = monitor.get(REPORTS + "@@download", {"report": "sdv", "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["'=ber01 Berlin", "par01 Paris"]


def test_a_chart_downloads_as_a_png(monitor):
    png = monitor.get(REPORTS + "@@download", {"report": "queries", "format": "png"})
    assert png.content_type == "image/png"
    assert png.body[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png.body[16:24])
    svg, _values = marks(monitor, "queries")
    assert (width, height) == (2 * int(svg.get("width")), 2 * int(svg.get("height")))
    assert "attachment" in png.headers["Content-Disposition"]


def test_filters_narrow_the_numbers_and_stay_in_the_url(monitor, registry):
    zone = zone_of(registry)
    page = monitor.get(REPORTS, {"site": "ber01"})
    for name, rows in expected_tables(zone, sites=("ber01",)).items():
        assert html_table(page, name) == rows, name
    since = (datetime.now(UTC).date() - timedelta(days=25)).isoformat()
    until = (datetime.now(UTC).date() - timedelta(days=4)).isoformat()
    page = monitor.get(REPORTS, {"since": since, "until": until}, headers=HTMX)
    assert "<html" not in page.text  # the fragment htmx swaps in
    expected = expected_tables(zone, since=25, until=4)
    assert expected["enrolment"] and len(expected["enrolment"]) < len(
        expected_tables(zone)["enrolment"]
    )
    for name, rows in expected.items():
        assert html_table(page, name) == rows, name
    # each download keeps the filters of the page
    link = page.html.find(
        "a", href=lambda href: href and "format=csv" in href and "report=queries" in href
    )
    assert f"since={since}" in link["href"] and f"until={until}" in link["href"]
    _header, parsed = csv_table(monitor, "queries", since=since, until=until)
    assert parsed == expected["queries"]


def test_a_wrong_filter_is_said_next_to_its_field(monitor, registry):
    page = monitor.get(REPORTS, {"since": "2026-13-01", "site": "nowhere"}, status=422)
    assert page.html.find(id="field-since-error") is not None
    assert page.html.find(id="field-site-error") is not None
    # the numbers are those without the filters
    assert html_table(page, "sdv") == expected_tables(zone_of(registry))["sdv"]
    refused = monitor.get(REPORTS + "@@download", {"report": "sdv", "format": "gif"}, status=400)
    assert "SVG, PNG or CSV" in refused.text


def test_a_site_restricted_coordinator_sees_only_their_site(app, world, registry):
    coordinator = as_user(app, world, "coordinator")  # par01 only
    expected = expected_tables(zone_of(registry), sites=("par01",))
    page = coordinator.get(REPORTS)
    for name, rows in expected.items():
        assert html_table(page, name) == rows, name
    assert "ber01" not in page.text
    # asking for another site is refused, and still shows only theirs
    page = coordinator.get(REPORTS, {"site": "ber01"}, status=422)
    assert html_table(page, "queries") == expected["queries"]
    _header, parsed = csv_table(coordinator, "signatures")
    assert parsed == expected["signatures"]
    summary = coordinator.get(REPORTS + "@@summary")
    figures = [int(dd.text) for dd in summary.html.select("#report-summary dd")]
    assert figures[0] == len(subjects_in(("par01",)))


def test_another_tenant_and_administrators_do_not_see_reports(app, world):
    for role, status in (("foreign", 404), ("nobody", 404), ("tenant_admin", 403)):
        client = as_user(app, world, role)
        client.get(REPORTS, status=status)
        client.get(REPORTS + "@@download?report=sdv&format=csv", status=status)
    foreign = as_user(app, world, "foreign")
    foreign.get("/globex/other/reports/")  # their own study's reports open


def test_the_study_home_shows_the_summary_and_links_to_reports(monitor):
    home = monitor.get("/acme/demo/")
    assert home.html.find("a", href=REPORTS) is not None
    summary = monitor.get(REPORTS + "@@summary", headers=HTMX)
    figures = [int(dd.text) for dd in summary.html.select("#report-summary dd")]
    open_queries = sum(1 for row in QUERIES if not row[4])
    awaiting = sum(1 for row in FORMS if row[4] in (A, CH))
    failures = sum(1 for row in SUBJECTS if row[2] is FAIL)
    assert figures == [len(SUBJECTS), failures, open_queries, awaiting]


def test_reports_cost_the_same_statements_whatever_the_study_size(
    monitor, world, dbsession, query_counter
):
    set_targets(world, dbsession, TARGETS)  # read with the sites: no statement of their own

    def statements() -> list[str]:
        monitor.get(REPORTS)
        query_counter.clear()
        monitor.get(REPORTS)
        return list(query_counter)

    small = statements()
    for number in range(10, 60):
        subject = make_subject(dbsession, world.sites["ber01"], f"ber01-{number:04d}")
        visit = _visit(dbsession, subject, "screening")
        for form in ("consent", "demographics"):
            new_form_instance(
                dbsession, subject, visit, form, 1, status=C, version_number=1, actor=SETUP
            )
    dbsession.flush()
    large = statements()
    assert len(large) == len(small), "\n".join(large)
    # the session and identity, the path, the sites, and one statement for each of subjects,
    # forms and queries
    assert len(small) <= 7, "\n".join(small)
    # and the numbers are those of the larger study
    completion = html_table(monitor.get(REPORTS), "completion")
    assert completion[0][1] == expected_tables(ZoneInfo("UTC"))["completion"][0][1] + 2 * 50
    assert target_marks(monitor) == [*(TARGETS[code] for code in SITES), sum(TARGETS.values())]


def test_times_are_days_in_the_readers_zone(app, world, dbsession, registry):
    # enrolled at 18:00 UTC: the next day in the monitor's Tokyo, the same day in the default
    # zone (Paris)
    late = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), time(18), UTC)
    world.subjects["par01-0004"].created_at = late
    user = world.users["monitor"]
    user.timezone = "Asia/Tokyo"
    dbsession.flush()
    client = as_user(app, world, "monitor")
    _header, rows = csv_table(client, "enrolment")
    tokyo = late.astimezone(ZoneInfo("Asia/Tokyo")).date()
    assert tokyo != late.astimezone(zone_of(registry)).date() == late.date()
    assert tokyo.isoformat() in [row[0] for row in rows]
    assert late.date().isoformat() not in [row[0] for row in rows]
    assert isinstance(date.fromisoformat(rows[0][0]), date)


@pytest.mark.parametrize("seconds", [0, 899, 900, 7 * 3600 + 7 * 60 + 30])
def test_enrolments_are_grouped_by_wholequarter_hours(dbsession, seconds):
    """Subjects enrolled within the same quarter hour make one group, whatever the database."""
    moment = datetime(2026, 12, 3, tzinfo=UTC) + timedelta(seconds=seconds)
    column = literal(moment, UTCDateTime())
    found = dbsession.scalar(select(quarter_hour(column, dbsession.get_bind().dialect.name)))
    assert found == int(moment.timestamp()) // QUARTER_HOUR
    assert isinstance(found, int)


def test_a_long_enrolment_is_added_up_by_week_then_by_month(monitor, world, dbsession, registry):
    zone = zone_of(registry)
    for days_ago, column, first_day in (
        (200, "Week of", lambda day: day.weekday() == 0),
        (500, "Month of", lambda day: day.day == 1),
    ):
        world.subjects["par01-0002"].created_at = noon(days_ago)
        dbsession.flush()
        header, rows = csv_table(monitor, "enrolment")
        assert header[0] == column
        starts = [date.fromisoformat(row[0]) for row in rows]
        assert all(first_day(start) for start in starts) and starts == sorted(set(starts))
        enrolled = {
            noon(d if label != "par01-0002" else days_ago).astimezone(zone).date()
            for label, d, _s in SUBJECTS
        }
        assert len(starts) == len({max(s for s in starts if s <= day) for day in enrolled})
        assert rows[-1][-1] == len(SUBJECTS)  # all sites, by the end
        _svg, values = marks(monitor, "enrolment")
        assert len(values) == len(rows) * (len(rows[0]) - 1)


# --- enrolment targets ------------------------------------------------------------------------

#: Subjects each fixture site means to enrol (par01 has 4 subjects, ber01 3).
TARGETS = {"par01": 10, "ber01": 8}


def set_targets(world, dbsession, targets) -> None:
    for code, site in world.sites.items():
        site.target_enrolment = targets.get(code)
    dbsession.flush()


def target_marks(app, **filters) -> list[int]:
    """The values of the enrolment chart's target lines, each also named in its title."""
    svg, _values = marks(app, "enrolment", **filters)
    found = svg.xpath("//s:*[@class='target']", namespaces={"s": SVG_NS})
    for mark in found:
        assert mark.get("stroke-dasharray")
        assert mark.find(f"{{{SVG_NS}}}title").text.endswith(": " + mark.get("data-value"))
    return [int(mark.get("data-value")) for mark in found]


def summary_text(app) -> str:
    return " ".join(app.get(REPORTS + "@@summary").html.find(id="report-summary").text.split())


def test_each_site_target_is_a_dashed_line_and_a_row_of_the_tables(
    monitor, world, dbsession, registry
):
    set_targets(world, dbsession, TARGETS)
    expected = expected_tables(zone_of(registry), targets=TARGETS)["enrolment"]
    assert [row[0] for row in expected[-2:]] == list(TARGET_ROWS)
    # a line per site, by code, and the study's (their sum) on the line of all sites
    assert target_marks(monitor) == [*(TARGETS[code] for code in SITES), sum(TARGETS.values())]
    assert html_table(monitor.get(REPORTS), "enrolment") == expected
    _header, parsed = csv_table(monitor, "enrolment")
    assert parsed == expected
    # the points of the lines are still one per number of the dates' rows
    _svg, values = marks(monitor, "enrolment")
    dates = expected[:-2]
    assert values == [v for column in zip(*[row[1:] for row in dates], strict=True) for v in column]
    # one site chosen: its target only
    assert target_marks(monitor, site="ber01") == [TARGETS["ber01"]]
    page = monitor.get(REPORTS, {"site": "ber01"})
    assert (
        html_table(page, "enrolment")
        == expected_tables(zone_of(registry), sites=("ber01",), targets=TARGETS)["enrolment"]
    )


def test_without_every_site_target_the_study_has_none(monitor, world, dbsession, registry):
    only_berlin = {"ber01": TARGETS["ber01"]}
    set_targets(world, dbsession, only_berlin)
    assert target_marks(monitor) == [TARGETS["ber01"]]
    expected = expected_tables(zone_of(registry), targets=only_berlin)["enrolment"]
    assert expected[-1][2:] == ["", ""]  # neither Paris nor all sites have a share
    assert html_table(monitor.get(REPORTS), "enrolment") == expected
    assert "No enrolment target is set for this study." in summary_text(monitor)
    set_targets(world, dbsession, {})
    assert target_marks(monitor) == []
    assert (
        html_table(monitor.get(REPORTS), "enrolment")
        == expected_tables(zone_of(registry))["enrolment"]
    )
    svg, _values = marks(monitor, "enrolment")
    assert "Target" not in etree.tostring(svg, encoding="unicode")  # nor in the legend


def test_the_summary_counts_enrolment_against_the_target(app, monitor, world, dbsession):
    set_targets(world, dbsession, TARGETS)
    text = summary_text(monitor)
    assert f"{len(SUBJECTS)} of {sum(TARGETS.values())} enrolled" in text
    assert "No enrolment target" not in text
    # and each site's page says its own
    site_page = monitor.get("/acme/demo/sites/par01/")
    assert site_page.html.select_one("#site-target dd").text == str(TARGETS["par01"])
    # a coordinator of Paris sees Paris against its own target
    coordinator = as_user(app, world, "coordinator")
    paris = len(subjects_in(("par01",)))
    assert f"{paris} of {TARGETS['par01']} enrolled" in summary_text(coordinator)


def test_with_many_sites_the_enrolment_chart_draws_them_together(
    monitor, world, dbsession, registry
):
    for number in range(MOST_SITE_LINES - len(SITES) + 1):
        create_site(dbsession, world.study, f"new{number:02d}", f"New site {number}")
    dbsession.flush()
    table = html_table(monitor.get(REPORTS), "enrolment")
    assert len(table[0]) == 1 + MOST_SITE_LINES + 1 + 1  # the date, each site, all sites
    svg, values = marks(monitor, "enrolment")
    assert values == [row[-1] for row in table]  # one line: all sites
    assert "the table gives each site" in svg.find(f"{{{SVG_NS}}}desc").text
    _svg, one_site = marks(monitor, "enrolment", site="ber01")
    expected = expected_tables(zone_of(registry), sites=("ber01",))["enrolment"]
    assert one_site == [row[1] for row in expected]
