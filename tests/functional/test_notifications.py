"""Staff notifications as people meet them: a query raised at a site tells that site's staff
(and nobody of another site), an answer tells the query's raiser, a completed form tells who
verifies, locks and signs it, a finished export tells its requester; the bell's count, the page,
marking read, opening one; a notification of another tenant or person is not found; each
person's choices on the preferences page."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select

from datacapt.accounts.services import grant_study_role
from datacapt.models import DataExport, Notification, NotificationKind, StudyRoleAssignment
from datacapt.permissions import StudyRole
from datacapt.studies.services import create_study
from datacapt.validation import FieldErrors
from tests.factories import add_queries, build_world, login, make_user

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"
HEIGHT = DEMOGRAPHICS + "@@queries?item=I.HEIGHT_CM"
HTMX = {"HX-Request": "true"}
K = NotificationKind


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    berlin = make_user(dbsession, registry, "coordinator-berlin@example.org")
    grant_study_role(dbsession, berlin, world.study, StudyRole.COORDINATOR, [world.sites["ber01"]])
    world.users["coordinator_berlin"] = berlin
    dbsession.flush()
    return world


def as_user(app, world, role) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, world.users[role].email).status_int == 303
    return client


def notifications_of(dbsession, world, role, kind=None):
    dbsession.expire_all()
    statement = select(Notification).where(Notification.user_id == world.users[role].id)
    if kind is not None:
        statement = statement.where(Notification.kind == kind)
    return dbsession.scalars(statement.order_by(Notification.id)).all()


def save_demographics(client, complete=False, initials="AB"):
    form = client.get(DEMOGRAPHICS).forms["entry-form"]
    values = {"initials": initials, "birth_date": "01/02/1980", "sex": "1"}
    values |= {"height_cm": "175", "weight_kg": "70.0"}
    for name, value in values.items():
        form[name] = value
    if complete:
        form["complete"] = True
    return form.submit()


def raise_on_height(client, message="Height looks wrong: please check the source."):
    form = client.get(HEIGHT).forms["raise-query"]
    form["message"] = message
    return form.submit()


def bell(client) -> str:
    return " ".join(client.get("/notification-bell", headers=HTMX).html.text.split())


@pytest.fixture
def coordinator(app, world):
    return as_user(app, world, "coordinator")


@pytest.fixture
def monitor(app, world):
    return as_user(app, world, "monitor")


def test_a_query_tells_the_staff_of_its_site_and_nobody_of_another(world, dbsession):
    add_queries(dbsession, world)  # query 1 at par01, query 2 at ber01, by the data manager
    paris = notifications_of(dbsession, world, "coordinator")
    berlin = notifications_of(dbsession, world, "coordinator_berlin")
    assert [(n.kind, n.parameters["query"]) for n in paris] == [(K.QUERY_RAISED, 1)]
    assert [(n.kind, n.parameters["query"]) for n in berlin] == [(K.QUERY_RAISED, 2)]
    assert paris[0].path == "/acme/demo/queries/1/"
    assert paris[0].parameters == {
        "study": "demo",
        "subject": "par01-0001",
        "where": "screening / consent",
        "query": 1,
    }
    # site staff who answer at par01 (investigators too); not the raiser, not the monitors
    assert notifications_of(dbsession, world, "investigator")
    for role in ("data_manager", "monitor", "sponsor_viewer", "study_admin", "foreign"):
        assert not notifications_of(dbsession, world, role), role


def test_the_coordinator_sees_the_bell_and_opens_the_query(coordinator, monitor, world, dbsession):
    save_demographics(coordinator)
    assert bell(coordinator) == "Notifications"
    raise_on_height(monitor)
    assert bell(coordinator) == "Notifications 1 1 unread"
    assert bell(as_user(coordinator.app, world, "coordinator_berlin")) == "Notifications"
    page = coordinator.get("/notifications")
    [item] = page.html.select("li.notification")
    text = " ".join(item.text.split())
    assert "Query 1 raised on par01-0001, screening / demographics" in text
    assert "Unread" in text
    [notification] = notifications_of(dbsession, world, "coordinator")
    link = item.find("a")
    assert link["href"] == "http://localhost/acme/demo/queries/1/"
    assert link["hx-post"] == f"http://localhost/acme/notifications/{notification.id}/@@open"
    token = page.forms[0]["csrf_token"].value
    opened = coordinator.post(link["hx-post"], {"csrf_token": token}, headers=HTMX)
    assert opened.headers["HX-Redirect"] == "http://localhost/acme/demo/queries/1/"
    assert "Height looks wrong" in coordinator.get("/acme/demo/queries/1/").text
    assert notifications_of(dbsession, world, "coordinator")[0].read_at is not None
    assert bell(coordinator) == "Notifications"


def test_the_bell_is_loaded_after_the_page_which_does_not_count(
    coordinator, monitor, world, dbsession, query_counter
):
    save_demographics(coordinator)
    raise_on_height(monitor)
    page = coordinator.get(DEMOGRAPHICS)
    placeholder = page.html.find(id="notification-bell")
    assert placeholder["hx-get"] == "http://localhost/notification-bell"
    assert placeholder["hx-trigger"] == "load"
    assert "1" not in placeholder.text
    query_counter.clear()
    assert bell(coordinator) == "Notifications 1 1 unread"
    # the session with its identity, and the count
    assert len(query_counter) == 2, "\n".join(query_counter)


def test_mark_one_read_in_place_and_all_read(world, dbsession, app):
    add_queries(dbsession, world)
    coordinator = as_user(app, world, "coordinator")
    page = coordinator.get("/notifications")
    token = page.forms[0]["csrf_token"].value
    [first] = notifications_of(dbsession, world, "coordinator")
    response = coordinator.post(
        f"/acme/notifications/{first.id}/@@read", {"csrf_token": token}, headers=HTMX
    )
    item = response.html.find(id=f"notification-{first.id}")
    assert "Read" in item.text and "Mark read" not in item.text
    badge = response.html.find(id="notification-bell")
    assert badge["hx-swap-oob"] == "true" and "unread" not in badge.text
    assert notifications_of(dbsession, world, "coordinator")[0].read_at is not None
    save_demographics(coordinator)
    monitor = as_user(app, world, "monitor")
    raise_on_height(monitor)
    raise_on_height(monitor, "And the weight?")
    assert bell(coordinator) == "Notifications 2 2 unread"
    page = coordinator.get("/notifications")
    assert "2 unread" in page.text
    page.forms["mark-all-read"].submit().follow()
    assert bell(coordinator) == "Notifications"
    assert all(n.read_at for n in notifications_of(dbsession, world, "coordinator"))


def test_another_tenant_s_or_person_s_notification_is_not_found(app, world, dbsession):
    add_queries(dbsession, world)
    [mine] = notifications_of(dbsession, world, "coordinator")
    owner = as_user(app, world, "coordinator")
    token = owner.get("/notifications").forms[0]["csrf_token"].value
    # through another tenant's path, even for its owner
    owner.post(f"/globex/notifications/{mine.id}/@@read", {"csrf_token": token}, status=404)
    for role in ("foreign", "coordinator_berlin", "monitor", "tenant_admin"):
        other = as_user(app, world, role)
        token = other.get("/notifications").forms[0]["csrf_token"].value
        other.post(f"/acme/notifications/{mine.id}/@@open", {"csrf_token": token}, status=404)
        other.post(f"/acme/notifications/{mine.id}/@@read", {"csrf_token": token}, status=404)
        assert "par01-0001" not in other.get("/notifications").text
    assert notifications_of(dbsession, world, "coordinator")[0].read_at is None


def test_a_revoked_site_hides_its_notifications(app, world, dbsession):
    add_queries(dbsession, world)
    [mine] = notifications_of(dbsession, world, "coordinator")
    coordinator = as_user(app, world, "coordinator")
    assert "par01-0001" in coordinator.get("/notifications").text
    assignment = dbsession.scalar(
        select(StudyRoleAssignment).where(
            StudyRoleAssignment.user_id == world.users["coordinator"].id
        )
    )
    dbsession.delete(assignment)
    dbsession.flush()
    assert "par01-0001" not in coordinator.get("/notifications").text
    token = coordinator.get("/notifications").forms[0]["csrf_token"].value
    coordinator.post(f"/acme/notifications/{mine.id}/@@open", {"csrf_token": token}, status=404)


def test_an_answer_tells_the_raiser(coordinator, monitor, world, dbsession):
    save_demographics(coordinator)
    raise_on_height(monitor)
    answer = coordinator.get(HEIGHT).forms["q1-answer"]
    answer["message"] = "The value is right: checked in the chart."
    answer.submit()
    [answered] = notifications_of(dbsession, world, "monitor")
    assert answered.kind is K.QUERY_ANSWERED and answered.path == "/acme/demo/queries/1/"
    assert "Query 1 answered on par01-0001, screening / demographics" in monitor.get(
        "/notifications"
    )
    assert not notifications_of(dbsession, world, "coordinator", K.QUERY_ANSWERED)


def test_a_completed_form_tells_who_verifies_locks_and_signs_it(coordinator, world, dbsession):
    save_demographics(coordinator)  # in progress: nobody is told
    assert not notifications_of(dbsession, world, "monitor")
    save_demographics(coordinator, complete=True).follow()
    [verify] = notifications_of(dbsession, world, "monitor")
    assert verify.kind is K.FORM_TO_VERIFY
    assert verify.path == DEMOGRAPHICS
    assert verify.parameters["where"] == "screening / demographics"
    [sign] = notifications_of(dbsession, world, "investigator")
    assert sign.kind is K.FORM_TO_SIGN
    # it waits for SDV first: not ready to lock yet
    assert not notifications_of(dbsession, world, "data_manager")
    # saved again while complete: nobody is told twice
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["weight_kg"] = "71.0"
    form["reason"] = "Typo"
    form.submit()
    assert len(notifications_of(dbsession, world, "monitor")) == 1


def test_a_verified_form_tells_the_data_managers_it_is_ready_to_lock(
    coordinator, monitor, world, dbsession
):
    save_demographics(coordinator, complete=True, initials="")  # all the monitor may verify
    token = monitor.get(DEMOGRAPHICS).forms["verify-form"]["csrf_token"].value
    monitor.post(DEMOGRAPHICS + "@@verify", {"csrf_token": token, "all": "1"})
    [lock] = notifications_of(dbsession, world, "data_manager")
    assert lock.kind is K.FORM_TO_LOCK and lock.path == "/acme/demo/subjects/par01-0001/screening/"
    assert "Ready to lock: par01-0001, screening / demographics" in as_user(
        coordinator.app, world, "data_manager"
    ).get("/notifications")


def test_a_finished_export_tells_its_requester(app, world, dbsession):
    manager = as_user(app, world, "data_manager")
    form = manager.get("/acme/demo/exports/").forms["export-form"]
    form["format"] = "csv"
    form.submit()
    row = dbsession.scalar(select(DataExport))
    [ready] = notifications_of(dbsession, world, "data_manager")
    assert ready.kind is K.EXPORT_READY and ready.site_id is None
    assert ready.path == "/acme/demo/exports/"
    assert f"Export {row.id} is ready" in manager.get("/notifications")


def test_notifications_are_worded_in_the_reader_s_language(world, dbsession, app):
    add_queries(dbsession, world)
    world.users["coordinator"].locale = "fr"
    dbsession.flush()
    coordinator = as_user(app, world, "coordinator")
    page = coordinator.get("/notifications")
    assert "Query 1 raised" not in page.text
    french = " ".join(page.html.find("li", class_="notification").text.split())
    assert "par01-0001" in french and "Requête 1" in french


def test_choices_on_the_preferences_page(coordinator, monitor, world, dbsession):
    page = coordinator.get("/preferences")
    form = page.forms["notification-choices"]
    assert form["query_raised.in_app"].checked and not form["query_raised.by_mail"].checked
    form["query_raised.in_app"] = False
    form["query_raised.by_mail"] = True
    form.submit().follow()
    form = coordinator.get("/preferences").forms["notification-choices"]
    assert not form["query_raised.in_app"].checked and form["query_raised.by_mail"].checked
    save_demographics(coordinator)
    raise_on_height(monitor)
    [told] = notifications_of(dbsession, world, "coordinator")
    assert (told.in_app, told.by_mail) == (False, True)
    assert bell(coordinator) == "Notifications"  # not in the app: in the digest only


def test_no_study_may_take_the_name_of_a_tenant_s_notifications(world, dbsession):
    with pytest.raises(FieldErrors) as refused:
        create_study(dbsession, world.tenant, "notifications", "Shadowed")
    assert "reserved" in str(refused.value.errors["code"])
