"""Randomisation as a study administrator and site staff use it: a design saved from the page,
lists generated or imported (a bad row refuses the file, with its line), a subject randomised
from the casebook once its stratification items are answered on a complete form, never twice,
the arm concealed from blinded roles, a randomisation marked in error, go-live swapping the
test list out, and the pages of another site or tenant not found."""

from __future__ import annotations

import io

import pytest
import webtest
from openpyxl import Workbook
from sqlalchemy import func, select

from datacapt.ecrf.versions import published_design
from datacapt.models import (
    AuditEvent,
    Environment,
    FormInstance,
    FormStatus,
    Randomisation,
    RandomisationSlot,
)
from datacapt.randomisation import services
from datacapt.randomisation.events import SubjectRandomised
from datacapt.reactions import Reactions
from tests.factories import (
    PASSWORD,
    SETUP,
    build_world,
    enter_values,
    login,
    make_subject,
)

PAGE = "/acme/demo/randomisation/"
SUBJECT = "/acme/demo/subjects/par01-0001/"
HTMX = {"HX-Request": "true"}
DEMOGRAPHICS = {
    "initials": "AB",
    "birth_date": "01/02/1970",
    "sex": "2",
    "pregnant": "0",
    "height_cm": "170",
    "weight_kg": "65",
}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def as_user(testapp, world, role):
    testapp.reset()
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def save_design(testapp, **fields):
    form = testapp.get(PAGE).forms["design-form"]
    values = {
        "method": "stratified",
        "arms": "A Placebo\nB Active",
        "ratio": "1:1",
        "block_sizes": "4",
        "list_length": "10",
        "blinded": True,
    } | fields
    for name, value in values.items():
        if name in {"by_site", "blinded"}:
            form[name] = value
        elif name == "items":
            for checkbox in form.fields["items"]:
                checkbox.checked = checkbox._value in value
        else:
            form[name] = value
    return form.submit(status="*")


def complete_demographics(dbsession, registry, world, label="par01-0001", reason="", **values):
    subject = world.subjects[label]
    enter_values(
        dbsession,
        registry,
        world.study,
        subject,
        "screening",
        "demographics",
        DEMOGRAPHICS | values,
        complete=True,
        reason=reason,
    )
    status = dbsession.scalar(
        select(FormInstance.status).where(
            FormInstance.subject_id == subject.id, FormInstance.form == "demographics"
        )
    )
    assert status is FormStatus.COMPLETE


def randomise(testapp, url=SUBJECT, status=200):
    panel = testapp.get(url + "@@randomisation", headers=HTMX)
    token = panel.html.find("input", attrs={"name": "csrf_token"})
    token = (
        token["value"]
        if token
        else testapp.get(url).html.find("input", attrs={"name": "csrf_token"})["value"]
    )
    return testapp.post(url + "@@randomise", {"csrf_token": token}, headers=HTMX, status=status)


def designed(testapp, dbsession, registry, world, **fields):
    """A study administrator saves a stratified design (site × sex) and generates its lists."""
    admin = as_user(testapp, world, "study_admin")
    assert save_design(admin, by_site=True, items=["sex"], **fields).status_int == 303
    page = admin.get(PAGE)
    assert page.forms["generate-form"].submit().status_int == 303
    return admin


def test_a_design_is_saved_and_its_lists_generated_for_every_stratum(
    testapp, dbsession, registry, world
):
    admin = designed(testapp, dbsession, registry, world)
    page = admin.get(PAGE)
    rows = [
        [cell.get_text(strip=True) for cell in row.find_all(["th", "td"])]
        for row in page.html.find(id="list-summary").find("tbody").find_all("tr")
    ]
    # 2 sites × 2 sexes × 10 places, in each list
    assert rows == [
        ["Test", "40", "0", "Download (CSV)"],
        ["Production", "40", "0", "Download (CSV)"],
    ]
    test_numbers = dbsession.scalars(
        select(RandomisationSlot.number).where(RandomisationSlot.environment == Environment.TEST)
    ).all()
    assert all(number.startswith("T-") for number in test_numbers)
    download = admin.get(PAGE + "@@list?environment=production")
    assert download.content_type == "text/csv"
    lines = download.text.splitlines()
    assert lines[0] == "number,arm,stratum,position,block,block_size,subject"
    assert len(lines) == 41
    first = lines[1].split(",")
    assert first[2] == "site=ber01|sex=1" and first[3] == "1" and first[5] == "4"
    block = [line.split(",")[1] for line in lines[1:5]]
    assert sorted(block) == ["A", "A", "B", "B"]  # a complete block holds the ratio
    admin.get(PAGE + "@@list?environment=staging", status=404)
    events = dbsession.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("randomisation.%"))
    ).all()
    assert events == ["randomisation.design_saved", "randomisation.lists_generated"]
    assert "Randomisation" in admin.get("/acme/demo/").text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"block_sizes": "3"}, "block_sizes", "multiple of the ratio"),
        ({"arms": "A"}, "arms", "at least two arms"),
        ({"ratio": "2:1:1"}, "ratio", "one part per arm"),
        ({"method": "minimisation", "items": [], "by_site": False}, "items", "Stratify by"),
        ({"list_length": "0"}, "list_length", "from 1 to 10000"),
    ],
)
def test_a_bad_design_is_refused_next_to_its_field(testapp, world, fields, field, message):
    admin = as_user(testapp, world, "study_admin")
    response = save_design(admin, **fields)
    assert response.status_int == 422
    assert message in response.html.find(id=f"field-{field}-error").get_text()


def test_randomising_waits_for_a_complete_stratification_form_then_conceals_the_arm(
    testapp, dbsession, registry, world
):
    designed(testapp, dbsession, registry, world)
    coordinator = as_user(testapp, world, "coordinator")
    assert "@@randomisation" in coordinator.get(SUBJECT).text
    panel = coordinator.get(SUBJECT + "@@randomisation", headers=HTMX)
    assert "Sex" in panel.html.find(id="randomisation-panel").get_text()
    assert panel.html.find(id="randomise-form") is None
    refused = randomise(coordinator, status=422)
    assert "complete form" in refused.html.find(id="randomisation-refusal").get_text()
    enter_values(
        dbsession,
        registry,
        world.study,
        world.subjects["par01-0001"],
        "screening",
        "demographics",
        {"sex": "2"},
    )  # a value, but the form is still in progress
    assert randomise(coordinator, status=422)
    assert dbsession.scalar(select(func.count()).select_from(Randomisation)) == 0

    complete_demographics(dbsession, registry, world)
    done = randomise(coordinator)
    number = done.html.find(id="randomisation-number").get_text(strip=True)
    assert number.startswith("T-")
    assert "Concealed" in done.html.find(id="randomisation-arm").get_text()
    row = dbsession.scalar(select(Randomisation))
    assert row.levels == {"site": "par01", "sex": "2"}
    assert row.stratum == "site=par01|sex=2" and row.arm in {"A", "B"}
    event = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "randomisation.randomised")
    )
    assert event.new_value == f"main {number} (test)" and event.subject_id == row.subject_id
    assert row.arm not in (event.new_value or "").split()

    again = randomise(coordinator)  # a double click: the same randomisation, never two
    assert again.html.find(id="randomisation-number").get_text(strip=True) == number
    assert dbsession.scalar(select(func.count()).select_from(Randomisation)) == 1

    monitor = as_user(testapp, world, "monitor")
    seen = monitor.get(SUBJECT + "@@randomisation", headers=HTMX)
    assert "Concealed" in seen.html.find(id="randomisation-arm").get_text()
    assert seen.html.find(id="randomise-form") is None
    assert monitor.get(PAGE, status=404)


def test_an_open_label_study_shows_the_arm(testapp, dbsession, registry, world):
    designed(testapp, dbsession, registry, world, blinded=False)
    complete_demographics(dbsession, registry, world)
    coordinator = as_user(testapp, world, "coordinator")
    arm = randomise(coordinator).html.find(id="randomisation-arm").get_text()
    assert dbsession.scalar(select(Randomisation.arm)) in arm
    assert "Concealed" not in arm


def test_the_arm_of_the_study_administrator_list_and_marking_in_error(
    testapp, dbsession, registry, world
):
    designed(testapp, dbsession, registry, world)
    complete_demographics(dbsession, registry, world)
    randomise(as_user(testapp, world, "coordinator"))
    row = dbsession.scalar(select(Randomisation))
    admin = as_user(testapp, world, "study_admin")
    listed = admin.get(PAGE).html.find(id="randomisation-list").get_text()
    assert row.number in listed and "par01-0001" in listed

    form = next(f for f in admin.get(PAGE).forms.values() if f.action.endswith("@@in-error"))
    refused = form.submit(status=422)
    assert "Give the reason" in refused.html.find(id=f"field-reason-{row.id}-error").get_text()
    form["reason"] = "Duplicate subject"
    assert form.submit().status_int == 303
    dbsession.refresh(row)
    assert row.in_error and row.error_reason == "Duplicate subject"
    event = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "randomisation.marked_in_error")
    )
    assert event.reason == "Duplicate subject"
    coordinator = as_user(testapp, world, "coordinator")
    panel = coordinator.get(SUBJECT + "@@randomisation", headers=HTMX)
    assert "Marked in error" in panel.text
    assert panel.html.find(id="randomise-form") is None  # never randomised again


def test_go_live_sets_the_test_list_aside(testapp, dbsession, registry, world):
    admin = designed(testapp, dbsession, registry, world)
    complete_demographics(dbsession, registry, world)
    randomise(as_user(testapp, world, "coordinator"))
    admin = as_user(testapp, world, "study_admin")
    assert admin.get(PAGE).forms["go-live-form"].submit().status_int == 303
    page = admin.get(PAGE)
    assert "Live since" in page.html.find(id="randomisation-state").get_text()
    assert "design-form" not in page.forms
    coordinator = as_user(testapp, world, "coordinator")
    panel = randomise(coordinator)
    number = panel.html.find(id="randomisation-number").get_text(strip=True)
    assert not number.startswith("T-")
    environments = dbsession.scalars(select(Randomisation.environment)).all()
    assert sorted(environments) == [Environment.PRODUCTION, Environment.TEST]


def test_go_live_is_refused_without_a_production_list(testapp, dbsession, registry, world):
    admin = as_user(testapp, world, "study_admin")
    assert save_design(admin, method="blocks").status_int == 303
    refused = admin.get(PAGE).forms["go-live-form"].submit(status=422)
    assert "production list first" in refused.html.find(id="field-go-live-error").get_text()


def upload(admin, name, data, environment="test", status="*"):
    form = admin.get(PAGE).forms["list-import-form"]
    form["environment"] = environment
    form["file"] = (name, data)
    return form.submit(status=status)


def test_an_imported_list_with_a_bad_row_is_refused_whole_with_its_lines(testapp, dbsession, world):
    admin = as_user(testapp, world, "study_admin")
    assert save_design(admin, method="blocks").status_int == 303
    bad = b"number,arm\n101,A\n102,C\n101,B\n,A\n"
    refused = upload(admin, "list.csv", bad, status=422)
    lines = [
        [cell.get_text(strip=True) for cell in row.find_all("td")]
        for row in refused.html.find(id="line-errors").find("tbody").find_all("tr")
    ]
    assert [line[0] for line in lines] == ["3", "4", "5"]
    assert "Unknown arm" in lines[0][1] and "already on line 2" in lines[1][1]
    assert dbsession.scalar(select(func.count()).select_from(RandomisationSlot)) == 0

    assert upload(admin, "list.csv", b"Number,Arm\n101,A\n=HYPERLINK(1),B\n").status_int == 303
    download = admin.get(PAGE + "@@list?environment=test").text.splitlines()
    assert download[2].startswith("'=HYPERLINK(1),B,")  # never a formula in a spreadsheet
    assert upload(admin, "list.csv", b"Number,Arm\n101,A\n102,B\n").status_int == 303
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["number", "arm"])
    for number, arm in ((1, "B"), (2, "A"), (3, "A")):
        sheet.append([number, arm])
    data = io.BytesIO()
    workbook.save(data)
    assert upload(admin, "list.xlsx", data.getvalue(), "production").status_int == 303
    slots = dbsession.execute(
        select(
            RandomisationSlot.environment, RandomisationSlot.number, RandomisationSlot.arm
        ).order_by(RandomisationSlot.environment, RandomisationSlot.position)
    ).all()
    assert [tuple(s) for s in slots] == [
        (Environment.PRODUCTION, "1", "B"),
        (Environment.PRODUCTION, "2", "A"),
        (Environment.PRODUCTION, "3", "A"),
        (Environment.TEST, "101", "A"),
        (Environment.TEST, "102", "B"),
    ]
    assert upload(admin, "list.xlsx", b"not a workbook", status=422)


def test_an_imported_stratified_list_names_known_strata(testapp, dbsession, registry, world):
    admin = as_user(testapp, world, "study_admin")
    assert save_design(admin, by_site=True, items=["sex"]).status_int == 303
    refused = upload(admin, "list.csv", b"number,arm,stratum\n1,A,site=par01|sex=9\n", status=422)
    assert "Unknown stratum" in refused.html.find(id="line-errors").get_text()
    ok = b"number,arm,stratum\n1,A,site=par01|sex=2\n2,B,site=par01|sex=2\n"
    assert upload(admin, "list.csv", ok).status_int == 303
    complete_demographics(dbsession, registry, world)
    number = randomise(as_user(testapp, world, "coordinator")).html.find(id="randomisation-number")
    assert number.get_text(strip=True) == "1"


def test_minimisation_decides_at_randomisation_and_publishes_an_event(
    testapp, dbsession, registry, world
):
    admin = as_user(testapp, world, "study_admin")
    assert save_design(admin, method="minimisation", items=["sex"], p="1").status_int == 303
    complete_demographics(dbsession, registry, world)
    complete_demographics(dbsession, registry, world, "ber01-0001")
    design = services.design_of(dbsession, world.study)
    definition = published_design(dbsession, world.study).definition
    seen: list[SubjectRandomised] = []
    reactions = Reactions()
    reactions.add(SubjectRandomised, seen.append, order=1)
    arms = []
    for label in ("par01-0001", "ber01-0001"):
        subject = world.subjects[label]
        made, fresh = services.randomise(
            dbsession, reactions, world.study, definition, subject, world.sites[label[:5]], SETUP
        )
        assert fresh
        arms.append(made.arm)
    # two women, p = 1: the second goes to the arm the first did not
    assert sorted(arms) == ["A", "B"]
    assert [event.subject.label for event in seen] == ["par01-0001", "ber01-0001"]
    assert [r.number for r in dbsession.scalars(select(Randomisation))] == ["T-0001", "T-0002"]
    assert design.method.value == "minimisation"


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("foreign", SUBJECT),
        ("coordinator", "/acme/demo/subjects/ber01-0001/"),
        ("coordinator", "/globex/other/subjects/lyo01-0001/"),
    ],
)
def test_another_tenant_or_site_is_not_found(testapp, dbsession, registry, world, role, url):
    designed(testapp, dbsession, registry, world)
    complete_demographics(dbsession, registry, world, "ber01-0001")
    user = as_user(testapp, world, role)
    token = user.get("/preferences").html.find("input", attrs={"name": "csrf_token"})["value"]
    user.get(url + "@@randomisation", headers=HTMX, status=404)
    user.post(url + "@@randomise", {"csrf_token": token}, headers=HTMX, status=404)
    user.get(PAGE, status=404)
    assert dbsession.scalar(select(func.count()).select_from(Randomisation)) == 0


def unblinding(testapp, password, reason="Anaphylaxis: treating physician must know"):
    panel = testapp.get(SUBJECT + "@@randomisation", headers=HTMX)
    token = panel.html.find("input", attrs={"name": "csrf_token"})["value"]
    body = {"csrf_token": token, "unblind-reason": reason, "unblind-password": password}
    return testapp.post(SUBJECT + "@@unblind", body, headers=HTMX, status="*")


def test_an_investigator_unblinds_one_subject_in_an_emergency(
    testapp, dbsession, registry, world, mailbox
):
    designed(testapp, dbsession, registry, world)
    complete_demographics(dbsession, registry, world)
    randomise(as_user(testapp, world, "coordinator"))
    row = dbsession.scalar(select(Randomisation))
    coordinator_panel = testapp.get(SUBJECT + "@@randomisation", headers=HTMX)
    assert coordinator_panel.html.find(id="unblind-form") is None

    investigator = as_user(testapp, world, "investigator")
    panel = investigator.get(SUBJECT + "@@randomisation", headers=HTMX)
    assert panel.html.find(id="unblind-form") is not None
    assert "Concealed" in panel.html.find(id="randomisation-arm").get_text()

    no_reason = unblinding(investigator, PASSWORD, reason="")
    assert no_reason.status_int == 422
    assert "Give the reason" in no_reason.html.find(id="field-unblind-reason-error").get_text()
    wrong = unblinding(investigator, "not my password")
    assert wrong.status_int == 422
    assert "not your password" in wrong.html.find(id="field-unblind-password-error").get_text()
    assert "Concealed" in wrong.html.find(id="randomisation-arm").get_text()
    dbsession.refresh(row)
    assert row.unblinded_at is None
    assert mailbox.messages() == []

    shown = unblinding(investigator, PASSWORD)
    assert shown.status_int == 200
    assert "Placebo" in shown.text or "Active" in shown.text
    assert row.arm in shown.html.find(id="randomisation-arm").get_text()
    dbsession.refresh(row)
    assert row.unblinded_at is not None and row.unblinded_by_id == world.users["investigator"].id
    actions = dbsession.execute(
        select(AuditEvent.action, AuditEvent.new_value, AuditEvent.reason).where(
            AuditEvent.action.like("randomisation.unblind%")
        )
    ).all()
    assert [a for a, _n, _r in actions] == [
        "randomisation.unblind_refused",
        "randomisation.unblinded",
    ]
    assert actions[1][1] == row.number
    assert actions[1][2] == "Anaphylaxis: treating physician must know"
    mails = {message["To"]: message for message in mailbox.messages()}
    assert sorted(mails) == ["investigator@example.org", "study-admin@example.org"]
    body = mails["study-admin@example.org"].get_content()
    assert "Anaphylaxis: treating physician must know" in body and row.number in body
    assert "Placebo" not in body and "Active" not in body
    assert "par01-0001" in mails["investigator@example.org"]["Subject"]

    again = investigator.get(SUBJECT + "@@randomisation", headers=HTMX)
    assert "Concealed" in again.html.find(id="randomisation-arm").get_text()  # screen only
    coordinator = as_user(testapp, world, "coordinator")
    seen = coordinator.get(SUBJECT + "@@randomisation", headers=HTMX)
    marker = seen.html.find(id="randomisation-unblinded").get_text()
    assert "Unblinded in an emergency" in marker and "Anaphylaxis" in marker
    assert "Concealed" in seen.html.find(id="randomisation-arm").get_text()
    token = coordinator.get(SUBJECT).html.find("input", attrs={"name": "csrf_token"})["value"]
    coordinator.post(
        SUBJECT + "@@unblind",
        {"csrf_token": token, "unblind-reason": "curious", "unblind-password": PASSWORD},
        headers=HTMX,
        status=403,
    )


def test_the_panel_and_the_page_cost_the_same_queries_however_many_are_randomised(
    testapp, dbsession, registry, world, query_counter
):
    designed(testapp, dbsession, registry, world)
    definition = published_design(dbsession, world.study).definition

    def randomise_more(count: int) -> None:
        for _ in range(count):
            label = f"par01-{len(world.subjects) + 1:04d}"
            world.subjects[label] = make_subject(dbsession, world.sites["par01"], label)
            complete_demographics(dbsession, registry, world, label)
            services.randomise(
                dbsession,
                Reactions(),
                world.study,
                definition,
                world.subjects[label],
                world.sites["par01"],
                SETUP,
            )

    def costs() -> tuple[int, int]:
        query_counter.clear()
        admin.get(PAGE)
        page = len(query_counter)
        query_counter.clear()
        coordinator.get(SUBJECT + "@@randomisation", headers=HTMX)
        return page, len(query_counter)

    complete_demographics(dbsession, registry, world)
    coordinator = webtest_client(testapp)
    randomise(as_user(coordinator, world, "coordinator"))
    admin = as_user(webtest_client(testapp), world, "study_admin")
    randomise_more(1)
    few = costs()
    randomise_more(4)
    assert costs() == few
    assert dbsession.scalar(select(func.count()).select_from(Randomisation)) == 6


def webtest_client(testapp):
    """A second browser on the same app (its own cookies)."""
    return webtest.TestApp(testapp.app, extra_environ=testapp.extra_environ)


def test_the_page_simulates_every_method_with_the_design(testapp, dbsession, registry, world):
    admin = designed(testapp, dbsession, registry, world)
    form = admin.get(PAGE).forms["simulate-form"]
    form["subjects"] = "20"
    form["trials"] = "50"
    page = form.submit()
    rows = page.html.find(id="simulation-results").find("tbody").find_all("tr")
    assert [row.th.get_text(strip=True) for row in rows] == [
        "simple",
        "block",
        "stratified",
        "efron",
        "minimisation",
    ]
    stratified = [td.get_text(strip=True) for td in rows[2].find_all("td")]
    assert float(stratified[-1]) <= 2  # blocks of 4: within a stratum never more than 2 apart
    assert admin.get(page.request.url).html.find(id="simulation-results") == page.html.find(
        id="simulation-results"
    )
    refused = admin.get(PAGE + "@@simulate?subjects=0&trials=10", status=422)
    assert "from 1 to 50000" in refused.html.find(id="field-subjects-error").get_text()
    too_much = admin.get(PAGE + "@@simulate?subjects=1000&trials=1000", status=422)
    assert "below 50000" in too_much.html.find(id="field-trials-error").get_text()


def test_a_corrected_stratum_is_shown_beside_the_original_never_re_randomised(
    testapp, dbsession, registry, world
):
    designed(testapp, dbsession, registry, world)
    complete_demographics(dbsession, registry, world)
    coordinator = as_user(testapp, world, "coordinator")
    number = randomise(coordinator).html.find(id="randomisation-number").get_text(strip=True)
    panel = coordinator.get(SUBJECT + "@@randomisation", headers=HTMX)
    assert panel.html.find(id="randomisation-levels").get_text(strip=True) == "site=par01, sex=2"

    complete_demographics(
        dbsession, registry, world, reason="Sex entered wrongly", sex="1", pregnant=""
    )
    panel = coordinator.get(SUBJECT + "@@randomisation", headers=HTMX)
    levels = panel.html.find(id="randomisation-levels").get_text(" ", strip=True)
    assert "site=par01, sex=2" in levels
    assert "Corrected since" in levels and "sex 2 → 1" in levels
    assert panel.html.find(id="randomisation-number").get_text(strip=True) == number
    row = dbsession.scalar(select(Randomisation))
    assert row.levels == {"site": "par01", "sex": "2"} and row.stratum == "site=par01|sex=2"


def test_unstratified_blocks_ignore_factors_and_need_no_form(testapp, dbsession, world):
    admin = as_user(testapp, world, "study_admin")
    saved = save_design(admin, method="blocks", by_site=True, items=["sex"], list_length="4")
    assert saved.status_int == 303
    design = services.design_of(dbsession, world.study)
    assert (design.by_site, design.items) == (False, [])
    assert admin.get(PAGE).forms["generate-form"].submit().status_int == 303
    coordinator = as_user(testapp, world, "coordinator")
    number = randomise(coordinator).html.find(id="randomisation-number").get_text(strip=True)
    assert number == "T-0001"
    row = dbsession.scalar(select(Randomisation))
    assert row.stratum == "" and row.levels == {}
