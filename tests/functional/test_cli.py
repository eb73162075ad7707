"""The ``datacapt`` command, run as an administrator would, against a database of its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import webtest
from redis import Redis
from sqlalchemy import create_engine, func, insert, select, text, update

from datacapt.cli import main
from datacapt.cli.demo import TARGETS
from datacapt.config import configure
from datacapt.models import (
    AuditCheckpoint,
    AuditEvent,
    ItemValue,
    JobState,
    OutboxJob,
    Query,
    Site,
    StudyRoleAssignment,
    Subject,
    Tenant,
    User,
)
from tests.conftest import REFERENCE_DATA, TEST_REDIS_URL, TESTING_INI, app_settings
from tests.factories import login

DATACAPT = Path(sys.executable).with_name("datacapt")


def count(url: str, statement) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(statement).scalar_one()
    engine.dispose()
    return value


def test_an_administrator_sets_up_a_study_that_a_user_can_open(datacapt, cli_database):
    assert datacapt("tenant", "create", "hopital", "Hôpital Universitaire")[0] == 0
    assert datacapt("study", "create", "hopital", "onc-001", "Oncology 001")[0] == 0
    assert datacapt("site", "create", "hopital", "onc-001", "par01", "Paris")[0] == 0
    code, out, _ = datacapt(
        "user",
        "create",
        "Marie.Curie@example.org",
        "--name",
        "Marie Curie",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert (code, out.strip()) == (0, "user marie.curie@example.org created")
    code, out, _ = datacapt(
        "role",
        "grant",
        "marie.curie@example.org",
        "hopital",
        "onc-001",
        "coordinator",
        "--site",
        "par01",
    )
    assert code == 0 and "at par01" in out

    app = webtest.TestApp(configure(app_settings(cli_database)).make_wsgi_app())
    assert login(app, "marie.curie@example.org", "a long enough password").status_int == 303
    page = app.get("/hopital/onc-001/")
    assert "Oncology 001" in page.text and "par01" in page.text


def test_grants_by_the_operator_are_audited(datacapt, cli_database):
    datacapt("tenant", "create", "audited", "Audited")
    datacapt("study", "create", "audited", "st", "Study")
    datacapt("site", "create", "audited", "st", "s1", "Site one")
    datacapt(
        "user",
        "create",
        "op@example.org",
        "--name",
        "Op",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert (
        datacapt("role", "grant", "op@example.org", "audited", "st", "monitor", "--site", "s1")[0]
        == 0
    )
    assert datacapt("role", "grant-tenant", "op@example.org", "audited", "tenant_admin")[0] == 0
    code, _, err = datacapt("role", "grant", "op@example.org", "audited", "st", "monitor")
    assert code == 2 and "role: This person already holds this role." in err
    engine = create_engine(cli_database)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                AuditEvent.action, AuditEvent.entity_type, AuditEvent.actor_id, AuditEvent.new_value
            )
            .join(Tenant, Tenant.id == AuditEvent.tenant_id)
            .where(Tenant.slug == "audited", AuditEvent.action.like("role.%"))
            .order_by(AuditEvent.id)
        ).all()
    engine.dispose()
    assert [(r.action, r.entity_type, r.actor_id) for r in rows] == [
        ("role.granted", "study_role", None),
        ("role.granted", "tenant_role", None),
    ]
    assert '"sites": ["s1"]' in rows[0].new_value and "@" not in rows[0].new_value


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tenant", "create", "Bad Slug", "X"), "slug: Use 1 to 40 lowercase letters"),
        (("tenant", "create", "login", "X"), "slug: This name is reserved"),
        (("study", "create", "no-such-tenant", "s1", "S"), "no tenant 'no-such-tenant'"),
        (("role", "grant", "nobody@example.org", "x", "y", "monitor"), "no user with e-mail"),
    ],
)
def test_refusals_are_one_line_with_exit_code_2(datacapt, args, message):
    code, _out, err = datacapt(*args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("datacapt: error: ")
    assert message in err


def test_a_refused_command_leaves_nothing_half_created(datacapt, cli_database):
    datacapt("tenant", "create", "halfway", "Halfway")
    datacapt("study", "create", "halfway", "st", "Study")
    datacapt("site", "create", "halfway", "st", "s1", "Site one")
    datacapt(
        "user",
        "create",
        "half@example.org",
        "--name",
        "Half",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    before = count(cli_database, select(func.count()).select_from(StudyRoleAssignment))
    code, _, err = datacapt(
        "role",
        "grant",
        "half@example.org",
        "halfway",
        "st",
        "monitor",
        "--site",
        "s1",
        "--site",
        "nope",
    )
    assert code == 2 and "no site 'nope'" in err
    assert count(cli_database, select(func.count()).select_from(StudyRoleAssignment)) == before
    code, _, err = datacapt("tenant", "create", "halfway", "Again")
    assert code == 2 and "slug: This name is already taken." in err
    assert (
        count(
            cli_database, select(func.count()).select_from(Tenant).where(Tenant.slug == "halfway")
        )
        == 1
    )


def target_of(url: str, code: str, tenant: str = "targets") -> int | None:
    return count(
        url,
        select(Site.target_enrolment)
        .join(Tenant, Tenant.id == Site.tenant_id)
        .where(Tenant.slug == tenant, Site.code == code),
    )


def test_a_site_enrolment_target_is_set_changed_and_audited(datacapt, cli_database):
    datacapt("tenant", "create", "targets", "Targets")
    datacapt("study", "create", "targets", "st", "Study")
    code, out, _ = datacapt("site", "create", "targets", "st", "tg1", "Site one", "--target", "30")
    assert code == 0 and "(target 30)" in out
    assert target_of(cli_database, "tg1") == 30
    assert datacapt("site", "create", "targets", "st", "tg2", "Site two")[0] == 0
    assert target_of(cli_database, "tg2") is None
    for site, target in (("tg1", "45"), ("tg2", "12"), ("tg2", "none")):
        code, out, _ = datacapt("site", "set-target", "targets", "st", site, target)
        assert code == 0 and out.strip().endswith(f"enrolment target {target}")
    assert target_of(cli_database, "tg1") == 45 and target_of(cli_database, "tg2") is None
    # the same target again changes nothing, so it is not audited again
    assert datacapt("site", "set-target", "targets", "st", "tg1", "45")[0] == 0
    for bad in ("0", "-3", "twelve", "1.5", "²"):
        code, _, err = datacapt("site", "set-target", "targets", "st", "tg1", bad)
        assert code == 2 and err.count("\n") == 1
        assert "target: Write a whole number of subjects, at least 1." in err
        code, _, err = datacapt("site", "create", "targets", "st", "tg3", "Three", "--target", bad)
        assert code == 2 and "target: Write a whole number" in err
    assert target_of(cli_database, "tg1") == 45
    assert count(cli_database, select(func.count()).where(Site.code == "tg3")) == 0
    code, _, err = datacapt("site", "set-target", "targets", "st", "nope", "5")
    assert code == 2 and "no site 'nope'" in err
    engine = create_engine(cli_database)
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditEvent.action, AuditEvent.old_value, AuditEvent.new_value)
            .join(Tenant, Tenant.id == AuditEvent.tenant_id)
            .where(Tenant.slug == "targets", AuditEvent.entity_type == "site")
            .order_by(AuditEvent.id)
        ).all()
    engine.dispose()
    assert [row.action for row in rows] == ["site.created", "site.created"] + [
        "site.target_changed"
    ] * 3
    assert '"target_enrolment": 30' in rows[0].new_value
    changes = [(row.old_value, row.new_value) for row in rows[2:]]
    assert [tuple(json.loads(value)["target_enrolment"] for value in pair) for pair in changes] == [
        (30, 45),
        (None, 12),
        (12, None),
    ]


def test_user_create_checks_the_password(datacapt, cli_database):
    code, _, err = datacapt(
        "user",
        "create",
        "short@example.org",
        "--name",
        "S",
        "--password-stdin",
        stdin="too short\n",
    )
    assert code == 2 and "password: Use at least 12 characters." in err
    code, _, err = datacapt("user", "create", "nopass@example.org", "--name", "N", stdin="")
    assert code == 2 and "--password-stdin" in err
    assert (
        count(
            cli_database,
            select(func.count())
            .select_from(User)
            .where(User.email.in_(["short@example.org", "nopass@example.org"])),
        )
        == 0
    )


def test_demo_is_idempotent_and_prints_the_logins(datacapt, cli_database):
    code, first, _ = datacapt("demo")
    assert code == 0
    assert "coordinator@acme.example" in first and "Demo-password-2026" in first
    subjects = count(cli_database, select(func.count()).select_from(Subject))
    users = count(cli_database, select(func.count()).select_from(User))
    queries = count(cli_database, select(func.count()).select_from(Query))
    assert queries == 2  # an automatic one (BMI) and the monitor's (height)
    values = count(cli_database, select(func.count()).select_from(ItemValue))
    assert values == 11  # vital signs twice (6) and demographics (5) of par01-0001
    assert datacapt("demo") == (0, first, "")
    # its sites have targets, so the enrolment report draws them
    assert target_of(cli_database, "par01", "acme") == TARGETS["par01"]
    assert target_of(cli_database, "ber01", "acme") == TARGETS["ber01"]
    assert count(cli_database, select(func.count()).select_from(Query)) == queries
    assert count(cli_database, select(func.count()).select_from(Subject)) == subjects
    assert count(cli_database, select(func.count()).select_from(User)) == users
    assert count(cli_database, select(func.count()).select_from(ItemValue)) == values

    app = webtest.TestApp(configure(app_settings(cli_database)).make_wsgi_app())
    login(app, "coordinator@acme.example", "Demo-password-2026")
    assert "ber01" not in app.get("/acme/demo/subjects/").text


def test_check_reports_the_database(datacapt):
    code, out, _ = datacapt("check")
    assert code == 0 and "database: ok" in out


def test_check_says_how_many_jobs_wait(datacapt, cli_database):
    engine = create_engine(cli_database)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO job_outbox (name, arguments, state, attempts) "
                "VALUES ('datacapt.probe', '{}', 'pending', 0), "
                "('datacapt.probe', '{}', 'pending', 1), ('datacapt.probe', '{}', 'done', 1)"
            )
        )
    try:
        code, out, _ = datacapt("check")
        assert code == 0 and "outbox: 2 job(s) waiting to run" in out
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM job_outbox"))
        engine.dispose()


def test_missing_configuration_file_is_a_clear_error(capsys):
    assert main(["-c", "/nonexistent/datacapt.ini", "check"]) == 2
    assert "configuration file not found" in capsys.readouterr().err


def test_console_script_usage_errors_are_one_line():
    result = subprocess.run(
        [str(DATACAPT), "role", "grant", "only-an-email"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "required" in result.stderr


def test_the_worker_runs_jobs_sent_by_another_process(cli_database, jobs_mode, datacapt):
    """``datacapt worker`` with the same INI: the probe job of ``datacapt check --worker`` runs.
    Without Redis the probe runs in-process after its commit, and the worker runs in its own
    process what is due again and the periodic jobs."""
    if jobs_mode == "in-process":
        code, out, _ = datacapt("check", "--worker", "--timeout", "5")
        assert code == 0 and "probe job" in out
        assert datacapt("tenant", "create", "worker-probe", "Worker probe")[0] == 0  # audited
        engine = create_engine(cli_database)
        with engine.begin() as connection:
            waiting = connection.scalar(
                insert(OutboxJob)
                .values(
                    name="datacapt.probe",
                    arguments={},
                    state=JobState.PENDING,
                    attempts=1,
                    retry_at=datetime.now(UTC) - timedelta(seconds=1),
                )
                .returning(OutboxJob.id)
            )  # a job whose first run failed, due again
            checkpoints = connection.scalar(select(func.count()).select_from(AuditCheckpoint))
        code, out, _ = datacapt("worker", "--burst")
        assert code == 0 and "no Redis configured" in out
        with engine.connect() as connection:
            state = connection.scalar(select(OutboxJob.state).where(OutboxJob.id == waiting))
            after = connection.scalar(select(func.count()).select_from(AuditCheckpoint))
        engine.dispose()
        assert state == JobState.DONE
        assert after == checkpoints + 1  # the periodic checkpoint: the trail moved since
        return
    env = {
        **os.environ,
        "DATACAPT_DATABASE_URL": cli_database,
        "DATACAPT_REDIS_URL": TEST_REDIS_URL,
    }
    # Jobs other tests left in the queue (no worker ran them) would come first, and a stop
    # waits for the job running: this worker meets only what this test sends.
    Redis.from_url(TEST_REDIS_URL).flushdb()
    worker = subprocess.Popen(
        [str(DATACAPT), "-c", str(TESTING_INI), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)
        result = subprocess.run(
            [str(DATACAPT), "-c", str(TESTING_INI), "check", "--worker", "--timeout", "30"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "redis: ok" in result.stdout and "jobs: ok" in result.stdout
    finally:
        # a stop lets the job under way finish (a periodic one may have started): within the
        # 90 s a service manager gives a stop (systemd's default), however loaded the machine
        worker.terminate()
        worker.wait(timeout=90)


def test_a_design_goes_in_and_out_by_the_command_line(datacapt, tmp_path):
    from lxml import etree

    assert datacapt("tenant", "create", "outbreak", "Outbreak network")[0] == 0
    assert datacapt("study", "create", "outbreak", "hanta", "Hantavirus CRF")[0] == 0
    code, out, _ = datacapt(
        "study",
        "import",
        "outbreak",
        "hanta",
        "--format",
        "redcap",
        str(REFERENCE_DATA / "redcap" / "isaric-ccpuk-hantavirus-dictionary.csv"),
    )
    assert code == 0 and "10 forms, 585 items" in out and "medi_route" in out

    code, out, err = datacapt("study", "publish", "outbreak", "hanta", "--reason", "v1")
    assert code == 2 and "Add at least one visit" in out and "not published" in err

    code, _, err = datacapt(
        "study", "export", "outbreak", "hanta", "--format", "odm", "-o", str(tmp_path / "none.xml")
    )
    assert code == 2 and "has no published version" in err

    code, out, _ = datacapt(
        "study",
        "import",
        "outbreak",
        "hanta",
        "--format",
        "odm",
        str(REFERENCE_DATA / "odm" / "cdisc-metadata-1.3.2-multilanguage.xml"),
    )
    assert code == 0
    assert datacapt("study", "publish", "outbreak", "hanta", "--reason", "From ODM")[0] == 0
    target = tmp_path / "hanta.xml"
    code, out, _ = datacapt(
        "study", "export", "outbreak", "hanta", "--format", "odm", "-o", str(target)
    )
    assert code == 0 and "version 1 written" in out
    schema = etree.XMLSchema(etree.parse(str(REFERENCE_DATA / "odm-1.3.2-xsd" / "ODM1-3-2.xsd")))
    assert schema.validate(etree.parse(str(target)))

    code, _, err = datacapt(
        "study",
        "import",
        "outbreak",
        "hanta",
        "--format",
        "odm",
        str(REFERENCE_DATA / "redcap" / "isaric-ccpuk-hantavirus-dictionary.csv"),
    )
    assert code == 2
    assert "is not XML" in err or "not well-formed" in err, err


def test_personal_data_is_resealed_after_a_key_rotation(datacapt, cli_database, monkeypatch):
    import base64
    import os

    from pyramid.paster import get_appsettings

    from datacapt import sealing
    from datacapt.models import SubjectBankAccount, SubjectContact, SubjectKey

    assert datacapt("demo")[0] == 0
    app = webtest.TestApp(configure(app_settings(cli_database)).make_wsgi_app())
    login(app, "coordinator@acme.example", "Demo-password-2026")
    form = app.get("/acme/demo/subjects/par01-0001/@@contact").forms["contact-form"]
    form["contact-name"] = "Ana Sousa"
    form.submit()
    save_initials(app, "AS")
    engine = create_engine(cli_database)
    with engine.begin() as connection:  # as sealed before subjects had data keys
        subject_id = connection.execute(select(SubjectContact.subject_id)).scalar_one()
        legacy = sealing.seal(
            app.app.registry, b'{"name": "Ana Sousa"}', f"datacapt:subject:{subject_id}".encode()
        )
        connection.execute(
            update(SubjectContact).values(
                key_id=legacy.key_id, nonce=legacy.nonce, ciphertext=legacy.ciphertext
            )
        )
        iban = "FR7630006000011234567890189"
        legacy_bank = sealing.seal(
            app.app.registry,
            json.dumps({"iban": iban, "holder": "Ana Sousa"}).encode(),
            f"datacapt:subject:{subject_id}:bank-account".encode(),
        )
        connection.execute(
            insert(SubjectBankAccount).values(
                subject_id=subject_id,
                tenant_id=connection.execute(select(SubjectContact.tenant_id)).scalar_one(),
                key_id=legacy_bank.key_id,
                nonce=legacy_bank.nonce,
                ciphertext=legacy_bank.ciphertext,
                masked="FR76 •••• •••• 0189",
            )
        )
    code, _out, err = datacapt("check")
    assert (
        code == 2
        and "1 contact record(s) and 1 bank detail record(s) under a tenant-wide key" in err
    )
    current = get_appsettings(str(TESTING_INI))["datacapt.encryption_keys"]
    fresh = base64.urlsafe_b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("DATACAPT_ENCRYPTION_KEYS", f"rotated:{fresh} {current}")
    code, out, _ = datacapt("keys", "rekey")
    assert code == 0 and "1 contact record(s) re-sealed under their subject's data key" in out
    assert "1 bank detail record(s) re-sealed under their subject's data key" in out
    assert "1 personal-data value(s) re-sealed" in out  # the demo's initials
    with engine.connect() as connection:
        keys = connection.execute(select(SubjectContact.key_id)).scalars().all()
        subject_keys = connection.execute(select(SubjectKey.subject_id)).scalars().all()
        bank_keys = connection.execute(select(SubjectBankAccount.key_id)).scalars().all()
    engine.dispose()
    assert keys == [None] and bank_keys == [None] and subject_keys == [subject_id]
    code, out, _ = datacapt("keys", "rekey")
    assert "0 contact record(s)" in out  # a tenant-wide key's rotation leaves data keys alone
    assert "0 bank detail record(s)" in out
    assert datacapt("check")[0] == 0
    monkeypatch.setenv("DATACAPT_ENCRYPTION_KEYS", f"{current} rotated:{fresh}")
    assert datacapt("keys", "rekey")[0] == 0  # back under the key the other tests hold


def save_initials(app, initials):
    """Enter the demo subject's initials (personal data), with a reason if the form is done."""
    form = app.get("/acme/demo/subjects/par01-0001/screening/demographics/").forms["entry-form"]
    form["initials"] = initials
    if "reason" in form.fields:
        form["reason"] = "Initials entered"
    assert form.submit().status_int == 303


def test_check_refuses_personal_values_in_plain_text_until_they_are_sealed(datacapt, cli_database):
    assert datacapt("demo")[0] == 0
    app = webtest.TestApp(configure(app_settings(cli_database)).make_wsgi_app())
    login(app, "coordinator@acme.example", "Demo-password-2026")
    save_initials(app, "JM")
    engine = create_engine(cli_database)
    with engine.begin() as connection:  # as stored before sealing existed
        connection.execute(
            text(
                "UPDATE item_value SET value = 'JM', sealed_key_id = NULL, sealed_nonce = NULL,"
                " sealed_value = NULL, value_fingerprint = NULL WHERE item_oid = 'I.INITIALS'"
            )
        )
    engine.dispose()
    code, _out, err = datacapt("check")
    assert code == 2 and "personal-data value(s) stored in plain text" in err
    code, out, _ = datacapt("db", "upgrade")  # seals them after migrating
    assert code == 0 and "1 personal-data value(s) sealed" in out
    assert datacapt("check")[0] == 0
    assert datacapt("keys", "seal-items")[1] == "0 personal-data value(s) sealed\n"
    plain = count(
        cli_database,
        select(func.count())
        .select_from(ItemValue)
        .where(ItemValue.item_oid == "I.INITIALS")
        .where(ItemValue.value.is_not(None)),
    )
    assert plain == 0


def test_an_operator_resets_a_lost_authenticator(datacapt, cli_database):
    from tests.functional.test_two_factor import set_up

    assert datacapt("demo")[0] == 0
    app = webtest.TestApp(configure(app_settings(cli_database)).make_wsgi_app())
    login(app, "coordinator@acme.example", "Demo-password-2026")
    set_up(app)
    app.reset()
    assert login(app, "coordinator@acme.example", "Demo-password-2026").location.endswith(
        "/login-code"
    )
    with pytest.raises(SystemExit) as refused:  # argparse: --reason is required
        datacapt("two-factor", "reset", "coordinator@acme.example")
    assert refused.value.code == 2
    code, out, _ = datacapt(
        "two-factor", "reset", "coordinator@acme.example", "--reason", "Phone lost, ticket 42"
    )
    assert code == 0 and "two-factor authentication reset" in out
    code, _out, err = datacapt("two-factor", "reset", "coordinator@acme.example", "--reason", "x")
    assert code == 2 and "no authenticator" in err
    app.reset()
    assert login(app, "coordinator@acme.example", "Demo-password-2026").location.endswith("/")
    engine = create_engine(cli_database)
    with engine.connect() as connection:
        reasons = (
            connection.execute(
                select(AuditEvent.reason).where(AuditEvent.action == "user.two_factor_reset")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert reasons == ["Phone lost, ticket 42"]


def behind_the_triggers(url: str, statement: str, **params) -> None:
    """A database superuser editing the trail: triggers off, the row changed, triggers back on."""
    engine = create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(statement), params)
        else:
            triggers = connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            audit_triggers = [(n, sql) for n, sql in triggers if "audit_event" in sql]
            for name, _sql in audit_triggers:
                connection.execute(text(f'DROP TRIGGER "{name}"'))
            connection.execute(text(statement), params)
            for _name, sql in audit_triggers:
                connection.execute(text(sql))
    engine.dispose()


def test_audit_verify_walks_every_chain_and_names_a_tampered_event(datacapt, cli_database):
    assert datacapt("tenant", "create", "verified", "Verified")[0] == 0
    assert datacapt("study", "create", "verified", "v1", "Verified study")[0] == 0
    assert datacapt("site", "create", "verified", "v1", "par01", "Paris")[0] == 0
    code, out, err = datacapt("audit", "checkpoint")
    assert (code, err) == (0, "")
    assert re.fullmatch(r"checkpoint \d+: \d+ chains, \d+ events; root [0-9a-f]{64}\n", out)
    assert datacapt("audit", "checkpoint")[1] == (
        "no chain moved since the last checkpoint: none written\n"
    )
    code, out, err = datacapt("audit", "verify", "--each")
    assert (code, err) == (0, "")
    assert re.search(r"chain tenant:\d+ \(verified\): 1 events, intact; head [0-9a-f]{64}", out)
    assert re.search(r"chain study:\d+: 2 events, intact", out)  # the study, its site
    assert re.search(r"checkpoints: \d+, intact; last root [0-9a-f]{64}", out)

    tenant_id = count(cli_database, select(Tenant.id).where(Tenant.slug == "verified"))
    study_event, study_id = (
        count(
            cli_database,
            select(column).where(
                AuditEvent.tenant_id == tenant_id, AuditEvent.action == "study.created"
            ),
        )
        for column in (AuditEvent.id, AuditEvent.study_id)
    )
    original = count(cli_database, select(AuditEvent.new_value).where(AuditEvent.id == study_event))
    forge = "UPDATE audit_event SET new_value = :value WHERE id = :id"
    behind_the_triggers(
        cli_database, forge, value='{"code": "v1", "title": "Forged"}', id=study_event
    )
    try:
        code, out, _err = datacapt("audit", "verify", "--tenant", "verified")
        assert code == 1
        assert out.splitlines() == [
            f"chain study:{study_id}: BROKEN at seq 1 (event id {study_event}, "
            "study.created): its content does not match its hash; 1 events read",
            out.splitlines()[1],  # the checkpoints, intact
            "2 chains, 2 events: 1 BROKEN",
        ]
        assert datacapt("audit", "verify")[0] == 1
    finally:
        behind_the_triggers(cli_database, forge, value=original, id=study_event)
    assert datacapt("audit", "verify", "--tenant", "verified")[0] == 0


def test_audit_verify_refuses_an_unknown_tenant(datacapt):
    code, out, err = datacapt("audit", "verify", "--tenant", "no-such-tenant")
    assert (code, out) == (2, "")
    assert err == "datacapt: error: no tenant 'no-such-tenant'\n"


def test_studies_and_sites_are_created_with_their_place_as_on_the_web(datacapt, cli_database):
    datacapt("tenant", "create", "places", "Places")
    code, _, err = datacapt("study", "create", "places", "st", "Study", "--timezone", "Mars/Base")
    assert code == 2 and "timezone: Choose a time zone from the list" in err
    assert datacapt(
        "study", "create", "places", "st", "Study", "--timezone", "Europe/Paris", "--language", "fr"
    ) == (0, "study places/st created\n", "")
    code, _, err = datacapt("site", "create", "places", "st", "s1", "One", "--country", "ZZ")
    assert code == 2 and "country: Choose a country from the list." in err
    args = ("site", "create", "places", "st", "s1", "One", "--country", "fr")
    assert datacapt(*args, "--timezone", "Europe/Paris")[0] == 0
    place = count(
        cli_database,
        select(Site.country + " " + Site.timezone)
        .join(Tenant, Tenant.id == Site.tenant_id)
        .where(Tenant.slug == "places"),
    )
    assert place == "FR Europe/Paris"
    created = count(
        cli_database,
        select(AuditEvent.new_value)
        .where(AuditEvent.action == "study.created")
        .order_by(AuditEvent.id.desc())
        .limit(1),
    )
    assert '"languages": ["fr"]' in created and '"timezone": "Europe/Paris"' in created
