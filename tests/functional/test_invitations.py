"""Invitations through the real pages and the real mail: invite, join, accept, send again,
withdraw, expiry, and the grant rule."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import webtest
from sqlalchemy import select

from datacapt.models import AuditEvent, Invitation, StudyRoleAssignment, User
from datacapt.permissions import StudyRole
from tests.factories import PASSWORD, build_world, login
from tests.functional.test_two_factor import code_at

NEW_PASSWORD = "plum orchard violin 1987"
LINK = re.compile(r"(http://localhost/invitation\?token=[\w-]+)")


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def invite(testapp, world, email="newcomer@example.org", role="coordinator", sites=("par01",)):
    """Invite as the organisation administrator (signing in first if needed)."""
    if testapp.get("/login", status="*").status_int == 200:
        login(testapp, world.users["tenant_admin"].email)
    form = testapp.get("/acme/demo/@@invitations").forms["invite-form"]
    form["email"], form["role"], form["language"] = email, role, "fr"
    if sites:
        form["scope"] = "sites"
        for field in form.fields["site"]:
            field.checked = field._value in sites
    return form.submit(status="*")


def link_in(mailbox, index=-1) -> str:
    message = mailbox.messages()[index]
    return LINK.search(message.get_content()).group(1)


def stranger(testapp) -> webtest.TestApp:
    return webtest.TestApp(testapp.app, extra_environ={"HTTP_HOST": "localhost:80"})


def join(app, link, name="Noa Newcomer", password=NEW_PASSWORD, confirm=None):
    form = app.get(link).forms["invitation-form"]
    form["name"], form["new_password"] = name, password
    form["confirm_password"] = password if confirm is None else confirm
    return form.submit(status="*")


def test_invite_then_join_with_a_restricted_role(testapp, world, dbsession, mailbox):
    response = invite(testapp, world)
    assert response.status_int == 303
    (message,) = mailbox.messages()
    assert message["To"] == "newcomer@example.org"
    assert message["Subject"] == "Invitation à l’étude demo"  # in the language chosen (fr)
    assert "vous invite" in message.get_content()
    assert "Coordinateur" in message.get_content()
    invitation = dbsession.scalars(select(Invitation)).one()
    assert invitation.token_hash and invitation.token_hash not in message.get_content()

    newcomer = stranger(testapp)
    joined = join(newcomer, link_in(mailbox))
    assert joined.status_int == 303
    assert joined.location == "http://localhost/acme/demo/"
    assert "Noa Newcomer" in newcomer.get("/acme/demo/").text
    newcomer.get("/acme/demo/sites/ber01/", status=404)  # restricted to par01

    dbsession.expire_all()
    user = dbsession.scalars(select(User).where(User.email == "newcomer@example.org")).one()
    (grant,) = dbsession.scalars(
        select(StudyRoleAssignment).where(StudyRoleAssignment.user_id == user.id)
    ).all()
    assert grant.role is StudyRole.COORDINATOR
    assert invitation.status.value == "accepted" and invitation.user_id == user.id
    actions = [
        e.action
        for e in dbsession.scalars(select(AuditEvent).order_by(AuditEvent.id))
        if e.action.startswith(("invitation.", "role.", "user.signed_in"))
    ]
    assert actions[actions.index("invitation.sent") :] == [
        "invitation.sent",
        "role.granted",
        "invitation.accepted",
        "user.signed_in",
    ]
    for event in dbsession.scalars(select(AuditEvent)):
        assert "newcomer@example.org" not in " ".join(
            str(v) for v in (event.entity_id, event.old_value, event.new_value, event.reason)
        )

    again = stranger(testapp).get(link_in(mailbox), status=410)
    assert "used already" in again.text


def test_join_refuses_bad_input_and_saves_nothing(testapp, world, dbsession, mailbox):
    invite(testapp, world)
    app = stranger(testapp)
    link = link_in(mailbox)
    assert "Use at least 12 characters." in join(app, link, password="short").text
    assert "The two passwords differ" in join(app, link, confirm="something else entirely").text
    common = join(app, link, password="password1234")
    assert "most common passwords" in common.text
    personal = join(app, link, password="newcomer@example.org")
    assert personal.status_int == 422
    assert "Enter your name." in join(app, link, name="   ").text
    assert join(app, link, password="x" * 500).status_int == 422
    assert dbsession.scalar(select(User).where(User.email == "newcomer@example.org")) is None
    assert join(app, link).status_int == 303


def test_a_role_the_inviter_does_not_hold_cannot_be_offered(testapp, world, dbsession, mailbox):
    login(testapp, world.users["study_admin"].email)
    page = testapp.get("/acme/demo/@@invitations")
    offered = [o[0] for o in page.forms["invite-form"]["role"].options]
    assert "coordinator" not in offered  # a study admin holds no data-entry permission
    form = page.forms["invite-form"]
    token = form["csrf_token"].value
    response = testapp.post(
        "/acme/demo/@@invitations",
        {
            "csrf_token": token,
            "step": "invite",
            "email": "x@example.org",
            "role": "coordinator",
            "scope": "study",
            "language": "en",
        },
        status=422,
    )
    assert "You may not grant this role here." in response.text
    assert dbsession.scalars(select(Invitation)).all() == []
    assert mailbox.messages() == []


def test_sending_again_replaces_the_link(testapp, world, mailbox):
    invite(testapp, world)
    first = link_in(mailbox)
    page = testapp.get("/acme/demo/@@invitations")
    (form,) = [f for f in page.forms.values() if "invitation" in f.fields]
    form.submit("step", value="resend").follow()
    second = link_in(mailbox)
    assert first != second
    assert stranger(testapp).get(first, status=404)
    assert join(stranger(testapp), second).status_int == 303


def test_a_withdrawn_invitation_no_longer_opens(testapp, world, dbsession, mailbox):
    invite(testapp, world)
    opened = stranger(testapp)
    stale = opened.get(link_in(mailbox)).forms["invitation-form"]  # opened before withdrawal
    page = testapp.get("/acme/demo/@@invitations")
    (form,) = [f for f in page.forms.values() if "invitation" in f.fields]
    form.submit("step", value="revoke").follow()
    response = stranger(testapp).get(link_in(mailbox), status=410)
    assert "withdrawn" in response.text
    stale["name"], stale["new_password"] = "Noa", NEW_PASSWORD
    stale["confirm_password"] = NEW_PASSWORD
    assert "withdrawn" in stale.submit(status=410).text
    assert dbsession.scalar(select(User).where(User.email == "newcomer@example.org")) is None
    assert "Withdrawn" in testapp.get("/acme/demo/@@invitations").text
    assert dbsession.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "invitation.revoked")
    ).all() == ["invitation.revoked"]


def test_an_expired_invitation_says_so(testapp, world, dbsession, mailbox):
    invite(testapp, world)
    invitation = dbsession.scalars(select(Invitation)).one()
    invitation.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    dbsession.flush()
    response = stranger(testapp).get(link_in(mailbox), status=410)
    assert "expired" in response.text
    assert "Expired" in testapp.get("/acme/demo/@@invitations").text


def test_someone_with_an_account_signs_in_and_accepts(testapp, world, dbsession, mailbox):
    monitor = world.users["monitor"]
    invite(testapp, world, email=monitor.email, role="data_manager", sites=())
    app = stranger(testapp)
    link = link_in(mailbox)
    assert "Sign in, then open the link again" in app.get(link).text
    login(app, monitor.email)
    accepted = app.get(link).forms["invitation-accept-form"].submit()
    assert accepted.status_int == 303
    roles = dbsession.scalars(
        select(StudyRoleAssignment.role).where(StudyRoleAssignment.user_id == monitor.id)
    ).all()
    assert set(roles) == {StudyRole.MONITOR, StudyRole.DATA_MANAGER}


def test_the_tenant_requirement_sends_the_invitee_to_set_up_two_factor(
    testapp, world, dbsession, mailbox
):
    invite(testapp, world)
    world.tenant.two_factor_required = True
    dbsession.flush()
    app = stranger(testapp)
    joined = join(app, link_in(mailbox))
    assert joined.location == "http://localhost/login-enrol"
    assert app.get("/acme/demo/", status=303).location.startswith("http://localhost/login")
    enrol = app.get("/login-enrol").forms["enrol-start-form"].submit()
    secret = enrol.html.find(id="manual-key").text.replace(" ", "")
    form = enrol.forms["enrol-form"]
    form["code"] = code_at(secret)
    done = form.submit()
    assert len(done.html.select("#recovery-code-list li")) == 10
    assert done.html.select_one("#recovery-codes a.button")["href"] == "http://localhost/acme/demo/"
    assert app.get("/acme/demo/").status_int == 200


@pytest.mark.parametrize("token", ["", "nope", "x" * 5000])
def test_unknown_links_are_a_clear_404(testapp, token):
    response = testapp.get("/invitation", {"token": token}, status=404)
    assert "not valid" in response.text
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_duplicate_invitation_is_refused(testapp, world, mailbox):
    invite(testapp, world)
    response = invite(testapp, world)
    assert response.status_int == 422
    assert "waiting already" in response.text
    assert len(mailbox.messages()) == 1


def test_the_password_of_the_invitee_is_theirs(testapp, world, mailbox):
    invite(testapp, world)
    join(stranger(testapp), link_in(mailbox))
    app = stranger(testapp)
    assert login(app, "newcomer@example.org", PASSWORD).status_int == 422
    assert login(app, "newcomer@example.org", NEW_PASSWORD).status_int == 303
