"""``datacapt repository``: rotate-keys re-wraps a tenant's data keys under a new KEK (the
persons stay readable, another tenant is untouched), retention --dry-run counts and logs, and a
DPO is granted from the command line; shred-subject crypto-shreds a subject's contact and bank
details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from datacapt.actor import Actor
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.models import (
    AuditEvent,
    Person,
    PersonKey,
    RepositoryKek,
    RetentionRun,
    Site,
    Study,
    Subject,
    SubjectBankAccount,
    SubjectContact,
    SubjectKey,
    Tenant,
    TenantRoleAssignment,
)
from datacapt.payments import bank
from datacapt.permissions import TenantRole
from datacapt.repository import services
from datacapt.subjects import contacts
from tests.conftest import app_settings
from tests.factories import make_subject

SETUP = Actor.system("tests")


def _register(registry, tenant_slug: str, first_name: str) -> None:
    with transaction_scope(registry) as dbsession:
        tenant = dbsession.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
        study = dbsession.scalar(select(Study).where(Study.tenant_id == tenant.id))
        site = dbsession.scalar(select(Site).where(Site.study_id == study.id))
        data = services.PersonData(first_name=first_name, last_name="Cli")
        person = services.register(dbsession, registry, SETUP, study, site, data)
        person.updated_at = datetime.now(UTC) - timedelta(days=1000)


def test_rotate_keys_retention_and_dpo_from_the_command_line(datacapt, cli_database):
    for slug in ("keyed", "other"):
        assert datacapt("tenant", "create", slug, slug.title())[0] == 0
        assert datacapt("study", "create", slug, "st", "Study")[0] == 0
        assert datacapt("site", "create", slug, "st", "s1", "Site one")[0] == 0
    registry = configure(app_settings(cli_database)).registry
    try:
        for name in ("Ada", "Bo"):
            _register(registry, "keyed", name)
        _register(registry, "other", "Cy")

        code, out, _err = datacapt("repository", "rotate-keys", "keyed")
        assert code == 0, _err
        assert "generation 2; 2 data key(s) re-wrapped" in out
        with transaction_scope(registry) as dbsession:
            keyed = dbsession.scalar(select(Tenant.id).where(Tenant.slug == "keyed"))
            generations = {
                (row.tenant_id == keyed, row.generation, row.retired_at is None)
                for row in dbsession.scalars(select(RepositoryKek))
            }
            assert generations == {(True, 1, False), (True, 2, True), (False, 1, True)}
            assert {row.kek_generation for row in dbsession.scalars(select(PersonKey))} == {1, 2}
            names = sorted(
                services.read(dbsession, registry, SETUP, person, purpose="correction").first_name
                for person in dbsession.scalars(select(Person))
            )
            assert names == ["Ada", "Bo", "Cy"]

        code, out, _err = datacapt("repository", "retention", "--dry-run")
        assert code == 0
        assert "keyed: would apply: prospects 2 (held 0)" in out
        with transaction_scope(registry) as dbsession:
            assert (
                dbsession.scalar(select(Person.id).where(Person.shredded_at.is_not(None))) is None
            )
            assert all(run.dry_run for run in dbsession.scalars(select(RetentionRun)))

        assert datacapt("repository", "retention", "other")[0] == 0
        with transaction_scope(registry) as dbsession:
            shredded = dbsession.scalars(select(Person).where(Person.shredded_at.is_not(None)))
            assert [p.tenant_id for p in shredded] != []

        datacapt(
            "user", "create", "dpo@cli.example", "--name", "Dee", "--password-stdin",
            stdin="a long enough password\n",
        )  # fmt: skip
        assert datacapt("role", "grant-tenant", "dpo@cli.example", "keyed", "dpo")[0] == 0
        with transaction_scope(registry) as dbsession:
            roles = dbsession.scalars(select(TenantRoleAssignment.role)).all()
            assert TenantRole.DPO in roles
        code, _out, err = datacapt("repository", "rotate-keys", "nowhere")
        assert code == 2 and "no tenant 'nowhere'" in err
    finally:
        registry["db.engine"].dispose()


def test_a_subjects_contact_details_are_shredded_from_the_command_line(datacapt, cli_database):
    assert datacapt("tenant", "create", "shred", "Shred")[0] == 0
    assert datacapt("study", "create", "shred", "st", "Study")[0] == 0
    assert datacapt("site", "create", "shred", "st", "s1", "Site one")[0] == 0
    registry = configure(app_settings(cli_database)).registry
    try:
        with transaction_scope(registry) as dbsession:
            tenant = dbsession.scalar(select(Tenant.id).where(Tenant.slug == "shred"))
            site = dbsession.scalar(select(Site).where(Site.tenant_id == tenant))
            subject = make_subject(dbsession, site, "s1-0001")
            contacts.seal(registry, subject, contacts.Contact(email="pat@example.org"), dbsession)
            details = bank.BankDetails("FR7630006000011234567890189", "Pat Doe")
            bank.seal(registry, subject, details, dbsession)
            subject_id = subject.id

        command = ("repository", "shred-subject", "shred", "st", "s1-0001")
        code, _out, err = datacapt(*command, "--reason", "  ")
        assert code == 2 and "Give the reason" in err
        code, _out, err = datacapt(
            "repository", "shred-subject", "shred", "st", "s1-9", "--reason", "x"
        )
        assert code == 2 and "no subject 's1-9'" in err
        code, out, _err = datacapt(*command, "--reason", "Erasure granted by the DPO")
        assert code == 0 and "data key shredded, contact and bank details unreadable" in out
        with transaction_scope(registry) as dbsession:
            assert dbsession.get(SubjectKey, subject_id) is None
            assert dbsession.get(SubjectContact, subject_id) is None
            assert dbsession.get(SubjectBankAccount, subject_id) is None
            assert dbsession.get(Subject, subject_id).label == "s1-0001"
            [event] = dbsession.scalars(
                select(AuditEvent).where(AuditEvent.action == "subject.contact_shredded")
            )
            assert event.subject_id == subject_id and event.reason == "Erasure granted by the DPO"
            assert "pat@example.org" not in f"{event.old_value}{event.new_value}"
        code, out, _err = datacapt(*command, "--reason", "Again")
        assert code == 0 and "nothing to shred" in out
    finally:
        registry["db.engine"].dispose()
