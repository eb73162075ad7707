"""Role administration through the real forms: the members of a tenant and of a study; granting,
changing and revoking roles and site restrictions; the rule, the refusals, the audit trail."""

from __future__ import annotations

import json

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from datacapt.accounts.services import grant_study_role, grant_tenant_role
from datacapt.models import AuditEvent, StudyRoleAssignment, TenantRoleAssignment
from datacapt.permissions import StudyRole, TenantRole
from datacapt.studies.services import create_site, create_study
from tests.factories import build_world, csrf_token, login, make_user

HTMX = {"HX-Request": "true"}
STUDY = "/acme/demo/"


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    # Someone of the organisation without a role in the demo study yet.
    second = create_study(dbsession, world.tenant, "second", "Second study")
    newcomer = make_user(dbsession, registry, "newcomer@example.org", name="Nora Newcomer")
    grant_study_role(dbsession, newcomer, second, StudyRole.MONITOR)
    world.users["newcomer"] = newcomer
    dbsession.flush()
    return world


def signed_in(testapp, world, role):
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def another(app, world, role):
    other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    return signed_in(other, world, role)


def assignment_of(dbsession, world, role, study=None):
    dbsession.expire_all()
    return dbsession.scalar(
        select(StudyRoleAssignment)
        .options(selectinload(StudyRoleAssignment.sites))
        .where(
            StudyRoleAssignment.study_id == (study or world.study).id,
            StudyRoleAssignment.user_id == world.users[role].id,
        )
    )


def events(dbsession, action):
    return list(
        dbsession.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def assert_no_personal_data(event):
    for value in (event.entity_id, event.field, event.old_value, event.new_value, event.reason):
        assert value is None or ("@" not in value and "Test User" not in value), value


def check_sites(form, *codes):
    for index, field in enumerate(form.fields["site"]):
        form.get("site", index=index).checked = field._value in codes


def count(dbsession, model):
    return dbsession.scalar(select(func.count()).select_from(model))


# --- the study members page -----------------------------------------------------------------


def test_the_study_page_lists_members_with_their_roles_and_sites(testapp, world):
    page = signed_in(testapp, world, "tenant_admin").get(STUDY + "@@members")
    assert page.html.find(id="status")["aria-live"] == "polite"  # where results are announced
    investigator = page.html.find(id=f"member-{world.users['investigator'].id}")
    assert "investigator@example.org" in investigator.text
    assert "Investigator" in investigator.text and "par01" in investigator.text
    monitor = page.html.find(id=f"member-{world.users['monitor'].id}")
    assert "the whole study" in monitor.text
    assert "newcomer@example.org" not in page.text  # not a member of this study
    assert "globex@example.org" not in page.text
    study_page = testapp.get(STUDY)
    assert study_page.html.find("a", href="/acme/demo/@@members") is not None


def test_the_members_link_is_shown_to_study_managers_only(testapp, world):
    assert (
        signed_in(testapp, world, "monitor").get(STUDY).html.find("a", href="/acme/demo/@@members")
        is None
    )
    testapp.reset()
    tenant = signed_in(testapp, world, "tenant_admin").get("/acme/")
    assert tenant.html.find("a", href="/acme/@@members") is not None


def test_an_organisation_administrator_grants_a_role_at_some_sites(testapp, world, dbsession):
    app = signed_in(testapp, world, "tenant_admin")
    form = app.get(STUDY + "@@members").forms["grant-form"]
    form["email"] = "  Newcomer@Example.org "
    form["role"] = "coordinator"
    form["scope"] = "sites"
    check_sites(form, "ber01")
    answer = form.submit(headers=HTMX)
    assert answer.status_int == 200 and "<html" not in answer.text
    newcomer = world.users["newcomer"]
    appended = answer.html.find(attrs={"hx-swap-oob": "beforeend:#member-list"})
    assert appended.find(id=f"member-{newcomer.id}") is not None
    assert answer.html.find(id="status").text.strip() == "The role was granted."
    assert answer.html.find(id="grant-email")["value"] == ""  # the form is ready for the next

    assignment = assignment_of(dbsession, world, "newcomer")
    assert assignment.role is StudyRole.COORDINATOR
    assert [row.site_id for row in assignment.sites] == [world.sites["ber01"].id]
    (event,) = events(dbsession, "role.granted")
    assert (event.tenant_id, event.study_id) == (world.tenant.id, world.study.id)
    assert event.actor_id == world.users["tenant_admin"].id
    assert (event.entity_type, event.entity_id) == ("study_role", str(assignment.id))
    assert json.loads(event.new_value) == {
        "user_id": newcomer.id,
        "role": "coordinator",
        "sites": ["ber01"],
    }
    assert_no_personal_data(event)

    # A second role for a listed member replaces their entry rather than adding another.
    form = answer.forms["grant-form"]
    form["email"] = "newcomer@example.org"
    form["role"] = "auditor"
    again = form.submit(headers=HTMX)
    replaced = again.html.find(id=f"member-{newcomer.id}")
    assert replaced["hx-swap-oob"] == "true" and "Auditor" in replaced.text
    assert again.html.find(attrs={"hx-swap-oob": "beforeend:#member-list"}) is None


def test_a_role_and_its_sites_are_changed_in_place(testapp, world, dbsession):
    app = signed_in(testapp, world, "tenant_admin")
    monitor = assignment_of(dbsession, world, "monitor")
    form = app.get(STUDY + "@@members").forms[f"a{monitor.id}-form"]
    form["role"] = "data_manager"
    form["scope"] = "sites"
    check_sites(form, "par01")
    answer = form.submit(headers=HTMX)
    member = answer.html.find(id=f"member-{world.users['monitor'].id}")
    assert member.name == "article" and "Data manager" in member.find(class_="current").text
    assert "par01" in member.find(class_="current").text
    assert answer.html.find(id="status").text.strip() == "The role was changed."

    changed = assignment_of(dbsession, world, "monitor")
    assert changed.id == monitor.id and changed.role is StudyRole.DATA_MANAGER
    assert [row.site_id for row in changed.sites] == [world.sites["par01"].id]
    (event,) = events(dbsession, "role.changed")
    user_id = world.users["monitor"].id
    assert json.loads(event.old_value) == {"user_id": user_id, "role": "monitor", "sites": None}
    assert json.loads(event.new_value) == {
        "user_id": user_id,
        "role": "data_manager",
        "sites": ["par01"],
    }
    assert_no_personal_data(event)

    # Back to the whole study: the restriction goes, and that is recorded too.
    form = answer.forms[f"a{monitor.id}-form"]
    form["scope"] = "study"
    form.submit(headers=HTMX)
    assert assignment_of(dbsession, world, "monitor").sites == []
    last = events(dbsession, "role.changed")[-1]
    assert json.loads(last.old_value)["sites"] == ["par01"]
    assert json.loads(last.new_value)["sites"] is None


def test_a_change_into_a_role_already_held_is_refused(testapp, world, dbsession):
    grant_study_role(dbsession, world.users["monitor"], world.study, StudyRole.AUDITOR)
    dbsession.flush()
    app = signed_in(testapp, world, "tenant_admin")
    monitor = dbsession.scalar(
        select(StudyRoleAssignment).where(
            StudyRoleAssignment.user_id == world.users["monitor"].id,
            StudyRoleAssignment.role == StudyRole.MONITOR,
        )
    )
    form = app.get(STUDY + "@@members").forms[f"a{monitor.id}-form"]
    form["scope"] = "sites"
    check_sites(form, "par01")
    form["role"] = "auditor"
    refused = form.submit(headers=HTMX, status=422)
    error = refused.html.find(id=f"a{monitor.id}-role-error")
    assert "This person already holds this role." in error.text
    assert refused.html.find(id=f"a{monitor.id}-site-par01").has_attr("checked")  # kept
    dbsession.expire_all()
    kept = dbsession.get(StudyRoleAssignment, monitor.id)
    assert kept.role is StudyRole.MONITOR
    assert events(dbsession, "role.changed") == []
    form["role"] = "monitor"
    form["scope"] = "study"
    same = form.submit(headers=HTMX)
    assert same.html.find(id="status").text.strip() == "Nothing changed."


def test_a_replayed_change_is_refused_and_shows_how_things_stand(testapp, world, dbsession):
    app = signed_in(testapp, world, "tenant_admin")
    monitor = assignment_of(dbsession, world, "monitor")
    form = app.get(STUDY + "@@members").forms[f"a{monitor.id}-form"]
    form["role"] = "auditor"
    form.submit(headers=HTMX)
    form["role"] = "sponsor_viewer"
    replay = form.submit(headers=HTMX, status=409)
    assert "were changed since the page was shown" in replay.html.find(id="status").text
    assert "Auditor" in replay.html.find(id=f"member-{world.users['monitor'].id}").text
    assert assignment_of(dbsession, world, "monitor").role is StudyRole.AUDITOR
    assert len(events(dbsession, "role.changed")) == 1


def test_a_revoked_role_is_gone_from_the_next_request(app, testapp, world, dbsession):
    monitor_app = another(app, world, "monitor")
    assert monitor_app.get(STUDY).status_int == 200
    admin = signed_in(testapp, world, "tenant_admin")
    monitor = assignment_of(dbsession, world, "monitor")
    form = admin.get(STUDY + "@@members").forms[f"a{monitor.id}-revoke-form"]
    answer = form.submit(headers=HTMX)
    assert answer.html.find("article") is None  # no role left: the member leaves the list
    assert answer.html.find(id="status").text.strip() == "The role was revoked."
    assert monitor_app.get(STUDY, status=404)
    (event,) = events(dbsession, "role.revoked")
    assert json.loads(event.old_value) == {
        "user_id": world.users["monitor"].id,
        "role": "monitor",
        "sites": None,
    }
    assert event.new_value is None
    assert form.submit(headers=HTMX, status=409)  # replayed: already gone


def test_without_htmx_a_change_reloads_the_page(testapp, world, dbsession):
    app = signed_in(testapp, world, "tenant_admin")
    monitor = assignment_of(dbsession, world, "monitor")
    form = app.get(STUDY + "@@members").forms[f"a{monitor.id}-form"]
    form["role"] = "auditor"
    page = form.submit().follow()
    assert "The role was changed." in page.text
    form = page.forms[f"a{monitor.id}-form"]
    form["scope"] = "sites"
    check_sites(form)
    refused = form.submit(status=422)
    assert "<html" in refused.text
    error = refused.html.find(id=f"a{monitor.id}-sites-error")
    assert "Choose at least one site." in error.text


# --- the rule --------------------------------------------------------------------------------


def test_a_study_administrator_grants_only_what_they_hold(testapp, world, dbsession):
    app = signed_in(testapp, world, "study_admin")
    page = app.get(STUDY + "@@members")
    form = page.forms["grant-form"]
    assert [value for value, _selected, _text in form["role"].options] == ["study_admin"]
    monitor = assignment_of(dbsession, world, "monitor")
    assert f"a{monitor.id}-form" not in page.forms  # could not have granted it: no controls

    token = csrf_token(app)
    before = count(dbsession, StudyRoleAssignment)
    refused = app.post(
        STUDY + "@@grant-role",
        {
            "csrf_token": token,
            "email": "newcomer@example.org",
            "role": "monitor",
            "scope": "study",
        },
        headers=HTMX,
        status=422,
    )
    assert "You may not grant this role." in refused.html.find(id="grant-role-error").text
    state = {"member": world.users["monitor"].id, "assignment": monitor.id, "csrf_token": token}
    state["state"] = "monitor:*"
    refused = app.post(
        STUDY + "@@change-role",
        {**state, "role": "study_admin", "scope": "study"},
        headers=HTMX,
        status=422,
    )
    assert "You may not change this role." in refused.text
    app.post(STUDY + "@@revoke-role", state, headers=HTMX, status=422)
    assert count(dbsession, StudyRoleAssignment) == before
    assert events(dbsession, "role.granted") == events(dbsession, "role.revoked") == []

    form["email"] = "newcomer@example.org"
    form["scope"] = "sites"
    check_sites(form, "par01")
    form.submit(headers=HTMX)
    granted = assignment_of(dbsession, world, "newcomer")
    assert granted.role is StudyRole.STUDY_ADMIN and len(granted.sites) == 1


def test_nobody_changes_or_revokes_their_own_administrator_role(testapp, world, dbsession):
    app = signed_in(testapp, world, "study_admin")
    own = assignment_of(dbsession, world, "study_admin")
    page = app.get(STUDY + "@@members")
    refused = page.forms[f"a{own.id}-revoke-form"].submit(headers=HTMX, status=422)
    message = refused.html.find(id=f"a{own.id}-member-error").text
    assert "You cannot change or revoke your own administrator role." in message
    form = page.forms[f"a{own.id}-form"]
    form["scope"] = "sites"
    check_sites(form, "par01")
    form.submit(headers=HTMX, status=422)
    assert assignment_of(dbsession, world, "study_admin").sites == []


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "nobody-here@example.org"}, "email", "Nobody in this organisation"),
        ({"email": "globex@example.org"}, "email", "Nobody in this organisation"),
        ({"email": "x" * 100_000 + "@example.org"}, "email", "Nobody in this organisation"),
        ({"role": "overlord"}, "role", "Choose one of the roles offered."),
        ({"scope": "everywhere"}, "sites", "Choose the whole study or some of its sites."),
        ({"scope": "sites"}, "sites", "Choose at least one site."),
        ({"scope": "sites", "site": ["lyo01"]}, "sites", "Choose sites of this study."),
        ({"scope": "sites", "site": ["par01"] * 5000}, "sites", "Choose sites of this study."),
        ({"email": "monitor@example.org"}, "role", "This person already holds this role."),
    ],
)
def test_bad_grants_are_refused_next_to_their_field(
    testapp, world, dbsession, fields, field, message
):
    app = signed_in(testapp, world, "tenant_admin")
    before = count(dbsession, StudyRoleAssignment)
    body = {
        "csrf_token": csrf_token(app),
        "email": "newcomer@example.org",
        "role": "monitor",
        "scope": "study",
        **fields,
    }
    answer = app.post(STUDY + "@@grant-role", body, headers=HTMX, status=422)
    assert message in answer.html.find(id=f"grant-{field}-error").text
    assert answer.html.find(id=f"grant-{field}")["aria-invalid"] == "true"
    assert count(dbsession, StudyRoleAssignment) == before
    assert events(dbsession, "role.granted") == []


def test_a_form_without_its_token_is_refused(testapp, world, dbsession):
    app = signed_in(testapp, world, "tenant_admin")
    app.post(STUDY + "@@grant-role", {"email": "newcomer@example.org"}, status=400)


# --- isolation -------------------------------------------------------------------------------


def test_assignments_of_other_studies_and_tenants_cannot_be_touched(testapp, world, dbsession):
    """An assignment id from elsewhere is treated as one that is gone: nothing changes and the
    answer names nobody."""
    app = signed_in(testapp, world, "tenant_admin")
    token = csrf_token(app)
    foreign = dbsession.scalar(
        select(StudyRoleAssignment).where(StudyRoleAssignment.user_id == world.users["foreign"].id)
    )
    second = dbsession.scalar(
        select(StudyRoleAssignment).where(StudyRoleAssignment.user_id == world.users["newcomer"].id)
    )
    for assignment, user in ((foreign, "foreign"), (second, "newcomer")):
        body = {
            "csrf_token": token,
            "member": world.users[user].id,
            "assignment": assignment.id,
            "state": "monitor:*" if user == "newcomer" else "coordinator:*",
            "role": "auditor",
            "scope": "study",
        }
        for view in ("@@change-role", "@@revoke-role"):
            answer = app.post(STUDY + view, body, headers=HTMX, status=409)
            assert world.users[user].email not in answer.text
            assert answer.html.find("article") is None
    app.get("/globex/other/@@members", status=404)
    app.get("/globex/@@members", status=404)
    body = {"csrf_token": token, "member": world.users["foreign"].id}
    app.post("/acme/@@grant-admin", body, status=404)
    assert events(dbsession, "role.changed") == events(dbsession, "role.revoked") == []
    assert events(dbsession, "role.granted") == []
    dbsession.expire_all()
    assert foreign.role is StudyRole.COORDINATOR and second.role is StudyRole.MONITOR


# --- the organisation's members ----------------------------------------------------------------


def test_the_organisation_page_lists_everyone_with_a_role_in_it(testapp, world):
    page = signed_in(testapp, world, "tenant_admin").get("/acme/@@members")
    newcomer = page.html.find(id=f"member-{world.users['newcomer'].id}")
    assert "second" in newcomer.text and "Monitor" in newcomer.text
    coordinator = page.html.find(id=f"member-{world.users['coordinator'].id}")
    assert "Study coordinator" in coordinator.text and "par01" in coordinator.text
    admin = page.html.find(id=f"member-{world.users['tenant_admin'].id}")
    assert "Organisation administrator" in admin.text
    assert "globex@example.org" not in page.text and "nobody@example.org" not in page.text


def test_administrators_of_the_organisation_are_granted_and_revoked(app, testapp, world, dbsession):
    monitor_app = another(app, world, "monitor")
    monitor_app.get("/acme/@@members", status=403)
    admin = signed_in(testapp, world, "tenant_admin")
    monitor_id = world.users["monitor"].id
    page = admin.get("/acme/@@members")
    member = f"member-{monitor_id}"
    answer = page.forms[next(k for k in page.forms if _form_member(page.forms[k]) == monitor_id)]
    granted = answer.submit(headers=HTMX)
    assert "Organisation administrator" in granted.html.find(id=member).text
    assert monitor_app.get("/acme/@@members").status_int == 200  # at the next request
    (event,) = events(dbsession, "role.granted")
    assert event.entity_type == "tenant_role" and event.study_id is None
    assert json.loads(event.new_value) == {"user_id": monitor_id, "role": "tenant_admin"}

    replayed = answer.submit(headers=HTMX, status=422)
    assert "This person already holds this role." in replayed.html.find(id=f"{member}-error").text
    revoke = granted.forms[0]
    revoked = revoke.submit(headers=HTMX)
    assert "Not an administrator" in revoked.html.find(id=member).text
    monitor_app.get("/acme/@@members", status=403)
    (event,) = events(dbsession, "role.revoked")
    assert json.loads(event.old_value) == {"user_id": monitor_id, "role": "tenant_admin"}
    assert_no_personal_data(event)
    assert revoke.submit(headers=HTMX, status=409)  # replayed


def test_the_data_protection_officer_is_granted_and_revoked_from_the_members_page(
    app, testapp, world, dbsession
):
    """An organisation administrator makes a member the DPO (who then reaches the DPO's pages)
    and takes the role back; both audited, without personal data."""
    monitor_app = another(app, world, "monitor")
    monitor_app.get("/acme/repository/@@access-log", status=403)
    admin = signed_in(testapp, world, "tenant_admin")
    monitor_id = world.users["monitor"].id
    member = f"member-{monitor_id}"
    page = admin.get("/acme/@@members")
    grant = next(
        form
        for form in page.forms.values()
        if form.action.endswith("@@grant-dpo") and _form_member(form) == monitor_id
    )
    granted = grant.submit(headers=HTMX)
    assert "Data protection officer" in granted.html.find(id=f"{member}-dpo-badge").text
    assert "Not an administrator" in granted.html.find(id=member).text
    monitor_app.get("/acme/repository/@@access-log", status=200)
    (event,) = events(dbsession, "role.granted")
    assert event.entity_type == "tenant_role" and event.study_id is None
    assert json.loads(event.new_value) == {"user_id": monitor_id, "role": "dpo"}
    assert "This person already holds this role." in grant.submit(headers=HTMX, status=422).text

    revoke = next(f for f in granted.forms.values() if f.action.endswith("@@revoke-dpo"))
    revoked = revoke.submit(headers=HTMX)
    assert revoked.html.find(id=f"{member}-dpo-badge") is None
    monitor_app.get("/acme/repository/@@access-log", status=403)
    (event,) = events(dbsession, "role.revoked")
    assert json.loads(event.old_value) == {"user_id": monitor_id, "role": "dpo"}
    assert_no_personal_data(event)
    assert revoke.submit(headers=HTMX, status=409)  # replayed
    assert count(dbsession, TenantRoleAssignment) == 1  # the administrator's own role stays


def test_a_member_holding_only_the_dpo_role_is_listed(testapp, world, dbsession, registry):
    dpo = make_user(dbsession, registry, "dpo@example.org")
    grant_tenant_role(dbsession, dpo, world.tenant, TenantRole.DPO)
    dbsession.flush()
    admin = signed_in(testapp, world, "tenant_admin")
    page = admin.get("/acme/@@members")
    assert "Data protection officer" in page.html.find(id=f"member-{dpo.id}-dpo-badge").text
    foreign = {"csrf_token": csrf_token(admin), "member": world.users["foreign"].id}
    admin.post("/acme/@@grant-dpo", foreign, headers=HTMX, status=404)
    admin.post("/acme/@@revoke-dpo", foreign, headers=HTMX, status=404)
    assert events(dbsession, "role.granted") == []


def _form_member(form):
    field = form.fields.get("member")
    return int(field[0].value) if field else None


def test_the_last_administrator_and_ones_own_role_stay(testapp, world, dbsession):
    admin = signed_in(testapp, world, "tenant_admin")
    own = {"csrf_token": csrf_token(admin), "member": world.users["tenant_admin"].id}
    refused = admin.post("/acme/@@revoke-admin", own, headers=HTMX, status=422)
    assert "You cannot revoke your own administrator role." in refused.text

    testapp.reset()
    root = signed_in(testapp, world, "system_admin")
    body = {"csrf_token": csrf_token(root), "member": world.users["tenant_admin"].id}
    refused = root.post("/acme/@@revoke-admin", body, headers=HTMX, status=422)
    assert "at least one administrator" in refused.text
    assert count(dbsession, TenantRoleAssignment) == 1

    grant_tenant_role(dbsession, world.users["monitor"], world.tenant, TenantRole.TENANT_ADMIN)
    dbsession.flush()
    root.post("/acme/@@revoke-admin", body, headers=HTMX, status=200)
    assert count(dbsession, TenantRoleAssignment) == 1


# --- cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [STUDY + "@@members", "/acme/@@members"])
def test_member_pages_cost_the_same_for_many_members(
    testapp, world, dbsession, registry, query_counter, url
):
    app = signed_in(testapp, world, "tenant_admin")
    app.get(url)
    query_counter.clear()
    app.get(url)
    baseline = len(query_counter)
    for number in range(3):
        create_site(dbsession, world.study, f"x{number:02d}", f"Extra {number}")
    for number in range(25):
        user = make_user(
            dbsession, registry, f"member{number}@example.org", password="lantern quiet harbour"
        )
        role = list(StudyRole)[number % len(StudyRole)]
        sites = [world.sites["par01"], world.sites["ber01"]] if number % 2 else None
        grant_study_role(dbsession, user, world.study, role, sites)
        if number % 5 == 0:
            grant_tenant_role(dbsession, user, world.tenant, TenantRole.TENANT_ADMIN)
    dbsession.flush()
    query_counter.clear()
    page = app.get(url)
    assert "member24@example.org" in page.text
    assert len(query_counter) == baseline, "\n".join(query_counter)


# --- administrators giving themselves access to subject data ----------------------------------


def grant_by_form(app, email, role):
    form = app.get(STUDY + "@@members").forms["grant-form"]
    form["email"] = email
    form["role"] = role
    form["scope"] = "study"
    assert form.submit(headers=HTMX).status_int == 200


def test_an_administrator_granting_themselves_a_data_role_is_told_and_shown(
    testapp, world, dbsession, mailbox
):
    admin = world.users["tenant_admin"]
    grant_by_form(signed_in(testapp, world, "tenant_admin"), admin.email, "investigator")

    (granted,) = events(dbsession, "role.granted")
    (reported,) = events(dbsession, "role.self_granted")
    assert (reported.entity_id, reported.actor_id) == (granted.entity_id, admin.id)
    study_admin = world.users["study_admin"]
    assert json.loads(reported.new_value) == {
        "user_id": admin.id,
        "role": "investigator",
        "notified": [study_admin.id],
    }
    assert_no_personal_data(reported)
    (mail,) = mailbox.messages()
    assert mail["To"] == study_admin.email
    assert mail["Subject"] == "An administrator gave themselves access to subject data"
    body = mail.get_content()
    assert admin.name in body and "Investigator" in body and "/acme/demo/" in body

    page = another(testapp.app, world, "study_admin").get(STUDY)
    notice = page.html.find(id="admin-access-title").parent
    assert admin.name in notice.text and "Investigator" in notice.text
    assert "(granted to themselves)" in notice.text


def test_granting_someone_else_a_data_role_tells_nobody(testapp, world, dbsession, mailbox):
    app = signed_in(testapp, world, "tenant_admin")
    grant_by_form(app, "newcomer@example.org", "investigator")
    assert events(dbsession, "role.self_granted") == [] and mailbox.messages() == []
    assert app.get(STUDY).html.find(id="admin-access-title") is None

    # Another administrator's grant to an administrator is shown, but is no self-grant.
    other = make_user(dbsession, testapp.app.registry, "second-admin@example.org")
    grant_tenant_role(dbsession, other, world.tenant, TenantRole.TENANT_ADMIN)
    dbsession.flush()
    grant_by_form(app, "second-admin@example.org", "monitor")
    assert events(dbsession, "role.self_granted") == [] and mailbox.messages() == []
    notice = app.get(STUDY).html.find(id="admin-access-title").parent
    assert "Monitor" in notice.text and "(granted to themselves)" not in notice.text
    assert world.users["tenant_admin"].name in notice.text  # the one who granted it


def test_changing_ones_own_role_into_another_data_role_is_told(testapp, world, dbsession, mailbox):
    admin = world.users["tenant_admin"]
    grant_study_role(dbsession, admin, world.study, StudyRole.SPONSOR_VIEWER)
    grant_study_role(dbsession, world.users["newcomer"], world.study, StudyRole.STUDY_ADMIN)
    dbsession.flush()
    mine = assignment_of(dbsession, world, "tenant_admin")
    app = signed_in(testapp, world, "tenant_admin")
    form = app.get(STUDY + "@@members").forms[f"a{mine.id}-form"]
    form["role"] = "coordinator"  # from reading to entering data and personal data
    form.submit(headers=HTMX)
    (reported,) = events(dbsession, "role.self_granted")
    notified = json.loads(reported.new_value)["notified"]
    assert notified == sorted([world.users["study_admin"].id, world.users["newcomer"].id])
    assert sorted(m["To"] for m in mailbox.messages()) == sorted(
        [world.users["study_admin"].email, "newcomer@example.org"]
    )


def test_without_study_administrators_the_other_organisation_administrators_are_told(
    testapp, world, dbsession, mailbox
):
    dbsession.delete(assignment_of(dbsession, world, "study_admin"))
    other = make_user(dbsession, testapp.app.registry, "second-admin@example.org")
    grant_tenant_role(dbsession, other, world.tenant, TenantRole.TENANT_ADMIN)
    dbsession.flush()
    admin = world.users["tenant_admin"]
    grant_by_form(signed_in(testapp, world, "tenant_admin"), admin.email, "monitor")
    (reported,) = events(dbsession, "role.self_granted")
    assert json.loads(reported.new_value)["notified"] == [other.id]
    assert [m["To"] for m in mailbox.messages()] == ["second-admin@example.org"]
