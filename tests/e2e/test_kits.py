"""Kits in a real browser: the depot's shipment reaches the demo's par01, where the coordinator
receives it (one kit damaged, set aside with what happened), then allocates a kit to a
randomised subject from its baseline visit's page with a double click — one kit, its number
shown, its type not."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.kits import services
from datacapt.models import (
    Kit,
    KitState,
    ProductType,
    Randomisation,
    RandomisationDesign,
    Site,
    Study,
    Subject,
    Tenant,
)
from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in

SETUP = Actor.system("e2e")


def in_database(url: str, act) -> object:
    engine = create_engine(url)
    try:
        with Session(engine) as dbsession, dbsession.begin():
            return act(dbsession)
    finally:
        engine.dispose()


def shipped_to_par01(dbsession: Session) -> int:
    """Kit type KE (arms A and B at baseline), four kits at the depot, three shipped to par01."""
    tenant = dbsession.scalar(select(Tenant).where(Tenant.slug == "acme"))
    study = dbsession.scalar(
        select(Study).where(Study.tenant_id == tenant.id, Study.code == "demo")
    )
    site = dbsession.scalar(select(Site).where(Site.study_id == study.id, Site.code == "par01"))
    product = services.add_product(
        dbsession, tenant, "E2E", "Browser drug", ProductType.INVESTIGATIONAL, SETUP
    )
    kind = services.add_kit_type(dbsession, study, "KE", "Browser kit", product, SETUP)
    for arm in ("A", "B"):
        services.map_kit_type(dbsession, study, kind, arm, "baseline", SETUP)
    for n in range(1, 5):
        dbsession.add(
            Kit(
                tenant_id=tenant.id,
                study_id=study.id,
                number=f"E2E-{n}",
                kit_type_id=kind.id,
                batch="B1",
                expiry=date.today() + timedelta(days=400),
                state=KitState.AVAILABLE,
                environment=services.list_environment(dbsession, study),
            )
        )
    dbsession.flush()
    shipment = services.create_shipment(
        dbsession,
        study,
        site,
        {kind: 3},
        SETUP,
        environment=services.list_environment(dbsession, study),
    )
    services.ship(dbsession, shipment, SETUP)
    return shipment.id


def randomise_in_database(label: str):
    def act(dbsession: Session) -> None:
        subject = dbsession.scalar(select(Subject).where(Subject.label == label))
        design = dbsession.scalar(
            select(RandomisationDesign).where(RandomisationDesign.study_id == subject.study_id)
        )
        dbsession.add(
            Randomisation(
                tenant_id=subject.tenant_id,
                study_id=subject.study_id,
                site_id=subject.site_id,
                subject_id=subject.id,
                design_id=design.id,
                revision=design.revision,
                environment=design.environment,
                number="T-E2E",
                arm="B",
                randomised_at=datetime.now(UTC),
            )
        )

    return act


def test_a_coordinator_receives_kits_and_allocates_one(
    page: Page, live_url: str, live_database: str
):
    shipment = in_database(live_database, shipped_to_par01)
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/sites/par01/")
    page.get_by_role("link", name="Kits").click()
    receipt = page.locator(f"#receive-{shipment}")
    expect(receipt).to_contain_text("E2E-1")
    receipt.get_by_label("Receipt of kit E2E-2").select_option("damaged")
    receipt.get_by_role("button", name="Receive the shipment").click()
    expect(page.locator(f"#field-note-{shipment}-error")).to_be_visible()  # say what happened
    receipt = page.locator(f"#receive-{shipment}")
    receipt.get_by_label("Receipt of kit E2E-2").select_option("damaged")
    receipt.get_by_label("What happened to missing or damaged kits").fill("carton wet")
    receipt.get_by_role("button", name="Receive the shipment").click()
    expect(page.get_by_text("Shipment received: 2 kits available, 1 invalid.")).to_be_visible()
    expect(page.locator("#kit-E2E-2")).to_contain_text("damaged: carton wet")

    page.goto(f"{live_url}/acme/demo/subjects/enrol")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))).to_be_visible()
    label = page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}")).inner_text()
    in_database(live_database, randomise_in_database(label.split()[-1]))
    subject_url = page.url
    page.goto(subject_url.rstrip("/") + "/baseline/")  # the visit's own button
    panel = page.locator("#kits-panel")
    expect(panel.get_by_role("heading", name="Kits")).to_be_visible()
    panel.get_by_role("button", name="Allocate kit").dblclick()  # a double click: one kit
    settled(page)
    expect(panel.get_by_role("status")).to_contain_text(re.compile(r"Kit E2E-[13] was allocated"))
    expect(panel.locator(".kit-number")).to_have_count(1)
    expect(panel).not_to_contain_text("KE")
    shown = panel.locator(".kit-number").inner_text()
    expect(panel.get_by_role("button", name="Allocate kit")).to_have_count(0)
    page.goto(subject_url)  # the subject's page lists it too
    expect(page.locator("#kits-panel .kit-number")).to_have_text(shown)

    def allocated(dbsession: Session) -> list[str]:
        return list(dbsession.scalars(select(Kit.number).where(Kit.state == KitState.ALLOCATED)))

    assert in_database(live_database, allocated) == [shown]
