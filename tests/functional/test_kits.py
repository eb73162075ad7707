"""Supplies as people use them: the organisation's administrator keeps the product catalogue,
the study administrator adds kit types, gives them to arms × visits, imports the kit list (a bad
row refuses the whole file, each error with its line) and ships kits; the site receives them
(a damaged kit set aside with a reason) and allocates one to a randomised subject at a visit —
never an expired kit nor one expiring before the next visit's window, never two for one visit —
and takes it back with a reason. Blinded staff see the kit's number, never its type. The daily
job proposes shipments to sites below their minimum."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import event, func, select

from datacapt import clock
from datacapt.jobs import JOBS, PERIODIC, JobContext
from datacapt.kits import services
from datacapt.kits.jobs import PROPOSE_RESUPPLY
from datacapt.models import (
    AT_RANDOMISATION,
    AuditEvent,
    Environment,
    Kit,
    KitState,
    KitType,
    Product,
    ProductBatch,
    ProductType,
    Randomisation,
    RandomisationDesign,
    RandomisationMethod,
    Shipment,
    ShipmentState,
)
from datacapt.randomisation.events import SubjectRandomised
from datacapt.reactions import reactions_of
from tests.factories import PASSWORD, SETUP, build_world, csrf_token, login

SUPPLY = "/acme/demo/supply/"
PAR01 = "/acme/demo/sites/par01/"
SUBJECT = "/acme/demo/subjects/par01-0001/"
HTMX = {"HX-Request": "true"}
TODAY = date.today()
FAR = (TODAY + timedelta(days=400)).isoformat()


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def as_user(testapp, world, role):
    testapp.reset()
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def randomised(dbsession, world, label="par01-0001", arm="A", *, blinded=True):
    """A randomisation design (arms A and B) and ``label`` randomised to ``arm``."""
    design = dbsession.scalar(
        select(RandomisationDesign).where(RandomisationDesign.study_id == world.study.id)
    )
    if design is None:
        design = RandomisationDesign(
            tenant_id=world.tenant.id,
            study_id=world.study.id,
            revision=1,
            method=RandomisationMethod.BLOCKS,
            arms=[
                {"code": "A", "label": "Active", "ratio": 1},
                {"code": "B", "label": "Placebo", "ratio": 1},
            ],
            block_sizes=[2],
            blinded=blinded,
            seed=1,
        )
        dbsession.add(design)
        dbsession.flush()
    subject = world.subjects[label]
    randomisation = Randomisation(
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        site_id=subject.site_id,
        subject_id=subject.id,
        design_id=design.id,
        revision=1,
        environment=Environment.TEST,
        number=f"T-{subject.id:04d}",
        arm=arm,
        randomised_at=datetime.now(UTC),
    )
    dbsession.add(randomisation)
    dbsession.flush()
    return randomisation


def catalogue(dbsession, world):
    """Products ACT (active) and PLA (placebo), kit types KA and KP, given at baseline."""
    active = services.add_product(
        dbsession, world.tenant, "ACT", "Active 10 mg", ProductType.INVESTIGATIONAL, SETUP
    )
    placebo = services.add_product(
        dbsession, world.tenant, "PLA", "Placebo", ProductType.PLACEBO, SETUP
    )
    services.add_batch(dbsession, active, "B-ACT-1", TODAY + timedelta(days=500), SETUP)
    ka = services.add_kit_type(dbsession, world.study, "KA", "Active kit", active, SETUP)
    kp = services.add_kit_type(dbsession, world.study, "KP", "Placebo kit", placebo, SETUP)
    services.map_kit_type(dbsession, world.study, ka, "A", "baseline", SETUP)
    services.map_kit_type(dbsession, world.study, kp, "B", "baseline", SETUP)
    services.map_kit_type(dbsession, world.study, kp, "B", "week4", SETUP)
    return ka, kp


def add_kits(
    dbsession,
    world,
    kind,
    numbers,
    *,
    site=None,
    expiry=None,
    state=KitState.AVAILABLE,
    environment=Environment.TEST,
):
    kits = [
        Kit(
            tenant_id=world.tenant.id,
            study_id=world.study.id,
            number=number,
            kit_type_id=kind.id,
            batch="B1",
            expiry=expiry or TODAY + timedelta(days=400),
            site_id=world.sites[site].id if site else None,
            state=state,
            environment=environment,
        )
        for number in numbers
    ]
    dbsession.add_all(kits)
    dbsession.flush()
    return kits


def kit(dbsession, number):
    dbsession.expire_all()
    return dbsession.scalar(select(Kit).where(Kit.number == number))


def audit_actions(dbsession, prefix="kits."):
    return list(
        dbsession.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like(prefix + "%"))
            .order_by(AuditEvent.id)
        )
    )


# --- the product catalogue --------------------------------------------------------------------


def test_an_administrator_keeps_the_product_catalogue(testapp, dbsession, world):
    admin = as_user(testapp, world, "tenant_admin")
    assert 'id="products-link"' in admin.get("/acme/").text
    form = admin.get("/acme/products/").forms["product-form"]
    form["code"], form["name"], form["type"] = "bad code!", "", "cosmetic"
    refused = form.submit(status=422)
    assert refused.html.find(id="field-code-error") and refused.html.find(id="field-name-error")
    assert dbsession.scalar(select(func.count()).select_from(Product)) == 0

    form = admin.get("/acme/products/").forms["product-form"]
    form["code"], form["name"], form["type"] = "CRM-1", "Day cream", "cosmetic"
    page = form.submit().follow()
    assert page.request.path == "/acme/products/CRM-1/"

    form = page.forms["product-form"]
    form["name"], form["type"] = "Day cream SPF 30", "cosmetic"
    page = form.submit().follow()
    form = page.forms["batch-form"]
    form["batch"], form["expiry"] = "L-2027-01", "2027-06-30"
    page = form.submit().follow()
    assert "L-2027-01" in page.html.find(id="batches").text

    form = page.forms["batch-form"]
    form["batch"], form["expiry"] = "L-2027-01", "30/06/2027"
    refused = form.submit(status=422)
    assert refused.html.find(id="field-expiry-error")

    listing = admin.get("/acme/products/").html.find(id="products")
    assert "Day cream SPF 30" in listing.text and "Tested cosmetic product" in listing.text
    product = dbsession.scalar(select(Product).where(Product.code == "CRM-1"))
    assert product.tenant_id == world.tenant.id
    batch = dbsession.scalar(select(ProductBatch).where(ProductBatch.product_id == product.id))
    assert batch.expiry == date(2027, 6, 30)
    assert audit_actions(dbsession) == [
        "kits.product_added",
        "kits.product_changed",
        "kits.batch_added",
    ]
    # Another organisation's catalogue does not exist for this administrator.
    assert admin.get("/globex/products/", status=404)


# --- the supply page: kit types, arms × periods, the kit list ----------------------------------


def test_kit_types_are_added_and_given_to_arms_at_visits(testapp, dbsession, world):
    randomised(dbsession, world)
    services.add_product(dbsession, world.tenant, "ACT", "Active", ProductType.COMPARATOR, SETUP)
    admin = as_user(testapp, world, "study_admin")
    assert 'id="supply-link"' in admin.get("/acme/demo/").text
    form = admin.get(SUPPLY).forms["kit-type-form"]
    form["type_code"], form["type_name"] = "KA", "Active kit"
    page = form.submit().follow()
    assert "KA" in page.html.find(id="kit-types").text
    form = page.forms["map-form"]
    form["period"], form["arm"], form["map_kit_type"] = (
        "baseline",
        "A",
        form["map_kit_type"].options[0][0],
    )
    page = form.submit().follow()
    row = page.html.find(id="kit-mappings").find("tbody").find("tr")
    assert [cell.text for cell in row.find_all("td")] == ["baseline", "A", "KA"]
    form = page.forms["map-form"]
    form["period"].force_value("nowhere")
    assert form.submit(status=422).html.find(id="field-period-error")


KIT_LIST = (
    "number,type,batch,expiry,location\n"
    f"K001,KA,B1,{FAR},depot\n"
    f"K002,KP,B1,{FAR},\n"
    f"K003,KA,B1,{FAR},par01\n"
    "K004,KA,B-ACT-1,,depot\n"
)


def upload(testapp, content, name="kits.csv", status="*"):
    form = testapp.get(SUPPLY).forms["import-form"]
    form["file"] = (name, content if isinstance(content, bytes) else content.encode())
    return form.submit(status=status)


def test_a_kit_list_is_imported_whole(testapp, dbsession, world):
    catalogue(dbsession, world)
    admin = as_user(testapp, world, "study_admin")
    page = upload(admin, KIT_LIST, status=303).follow()
    assert "4 kits were imported." in page.text
    kits = {k.number: k for k in dbsession.scalars(select(Kit))}
    assert set(kits) == {"K001", "K002", "K003", "K004"}
    assert kits["K003"].site_id == world.sites["par01"].id and kits["K001"].site_id is None
    assert kits["K004"].expiry == TODAY + timedelta(days=500)  # the batch's, from the catalogue
    assert {k.state for k in kits.values()} == {KitState.AVAILABLE}
    # Before go-live the list offered is the test one, as for randomisation lists.
    assert {k.environment for k in kits.values()} == {Environment.TEST}
    assert "kits.list_imported" in audit_actions(dbsession)


def test_a_kit_list_with_a_bad_row_is_refused_whole_each_error_with_its_line(
    testapp, dbsession, world
):
    catalogue(dbsession, world)
    add_kits(dbsession, world, dbsession.scalar(select(KitType)), ["OLD-1"])
    admin = as_user(testapp, world, "study_admin")
    bad = (
        "Number;Type;Batch;Expiry;Location\n"
        f"K001;KA;B1;{FAR};depot\n"
        f"K002;KX;B1;{FAR};depot\n"
        "K003;KA;B1;31/12/2027;depot\n"
        f"K001;KA;B1;{FAR};lyo01\n"
        f"OLD-1;KA;;{FAR};depot\n"
    )
    refused = upload(admin, bad, status=422)
    rows = [
        (tr.find_all("td")[0].text, tr.find_all("td")[1].text)
        for tr in refused.html.find(id="line-errors").find("tbody").find_all("tr")
    ]
    assert [line for line, _message in rows] == ["3", "4", "5", "5", "6", "6"]
    assert "KX" in rows[0][1] and "31/12/2027" in rows[1][1] and "line 2" in rows[2][1]
    assert "lyo01" in rows[3][1] and "already in the study" in rows[4][1]
    assert refused.html.find(id="field-file-error")
    assert dbsession.scalars(select(Kit.number)).all() == ["OLD-1"]

    book = Workbook()
    book.active.append(["number", "type", "batch", "expiry", "location"])
    book.active.append(["X1", "KA", "B1", datetime(2030, 1, 31), "depot"])
    book.active.append(["X2", "KA", "B1", "soon", "depot"])
    data = io.BytesIO()
    book.save(data)
    refused = upload(admin, data.getvalue(), name="kits.xlsx", status=422)
    assert refused.html.find(id="line-errors").find("td").text == "3"
    assert dbsession.scalars(select(Kit.number)).all() == ["OLD-1"]
    assert upload(admin, b"number,type\n", status=422).html.find(id="line-errors")


# --- shipments, receipt, inventory ------------------------------------------------------------


def test_kits_are_shipped_received_and_a_damaged_one_set_aside(testapp, dbsession, world):
    ka, _kp = catalogue(dbsession, world)
    add_kits(dbsession, world, ka, ["K001", "K002", "K003", "K004"])
    add_kits(dbsession, world, ka, ["OLD"], expiry=TODAY - timedelta(days=1))
    admin = as_user(testapp, world, "study_admin")
    form = admin.get(SUPPLY).forms["shipment-form"]
    form["shipment_site"] = str(world.sites["par01"].id)
    form["shipment_kit_type"] = str(ka.id)
    form["shipment_count"] = "3"
    form.submit().follow()
    shipment = dbsession.scalar(select(Shipment))
    assert shipment.state is ShipmentState.PROPOSED
    picked = sorted(dbsession.scalars(select(Kit.number).where(Kit.shipment_id == shipment.id)))
    assert picked == ["K001", "K002", "K003"]  # never the expired one
    page = admin.get(SUPPLY)
    page.html.find(id=f"shipment-{shipment.id}").find("form")  # the Ship button
    ship_form = next(f for f in page.forms.values() if f.action.endswith("@@ship"))
    ship_form.submit().follow()
    assert {kit(dbsession, n).state for n in picked} == {KitState.IN_TRANSFER}

    coordinator = as_user(testapp, world, "coordinator")
    assert 'id="site-kits"' in coordinator.get(PAR01).text
    page = coordinator.get(PAR01 + "@@kits")
    form = page.forms[f"receive-{shipment.id}"]
    form[f"kit-{kit(dbsession, 'K002').id}"] = "damaged"
    refused = form.submit(status=422)  # missing or damaged: say what happened
    assert refused.html.find(id=f"field-note-{shipment.id}-error")
    assert kit(dbsession, "K002").state is KitState.IN_TRANSFER
    form = coordinator.get(PAR01 + "@@kits").forms[f"receive-{shipment.id}"]
    form[f"kit-{kit(dbsession, 'K002').id}"] = "damaged"
    form["note"] = "box crushed"
    page = form.submit().follow()
    assert "2 kits available, 1 invalid" in page.text
    assert kit(dbsession, "K001").state is KitState.AVAILABLE
    assert kit(dbsession, "K002").state is KitState.INVALID
    assert kit(dbsession, "K002").reason == "damaged: box crushed"
    inventory = page.html.find(id="inventory").find("tbody").find("tr")
    assert [td.text for td in inventory.find_all("td")][:5] == ["0", "0", "2", "0", "1"]
    dbsession.expire_all()
    assert dbsession.get(Shipment, shipment.id).state is ShipmentState.RECEIVED
    trail = dbsession.execute(
        select(AuditEvent.old_value, AuditEvent.new_value, AuditEvent.reason).where(
            AuditEvent.entity_type == "kit", AuditEvent.entity_id == str(kit(dbsession, "K002").id)
        )
    ).all()
    assert [tuple(row) for row in trail] == [
        ("available", "in_transfer", None),
        ("in_transfer", "invalid", "damaged: box crushed"),
    ]

    # Setting an available kit aside takes a reason.
    k1 = kit(dbsession, "K001")
    page = coordinator.get(PAR01 + "@@kits")
    form = next(f for f in page.forms.values() if f.action.endswith("@@invalidate-kit"))
    assert form["kit"].value == str(k1.id)
    assert form.submit(status=422).html.find(id=f"field-reason-{k1.id}-error")
    form["reason"] = "dropped"
    form.submit().follow()
    assert kit(dbsession, "K001").state is KitState.INVALID


def test_another_sites_kits_and_shipments_are_not_found(testapp, dbsession, world):
    ka, _kp = catalogue(dbsession, world)
    add_kits(dbsession, world, ka, ["K001"])
    add_kits(dbsession, world, ka, ["B001"], site="ber01")
    shipment = services.create_shipment(
        dbsession, world.study, world.sites["ber01"], {ka: 1}, SETUP, environment=Environment.TEST
    )
    services.ship(dbsession, shipment, SETUP)
    coordinator = as_user(testapp, world, "coordinator")
    page = coordinator.get(PAR01 + "@@kits")
    assert "B001" not in page.text and "K001" not in page.text
    coordinator.get("/acme/demo/sites/ber01/@@kits", status=404)
    value = csrf_token(coordinator)
    # The ber01 shipment and kit through par01's address: not found.
    coordinator.post(
        PAR01 + "@@receive", {"csrf_token": value, "shipment": shipment.id}, status=404
    )
    coordinator.post(
        PAR01 + "@@invalidate-kit",
        {"csrf_token": value, "kit": kit(dbsession, "B001").id, "reason": "x"},
        status=404,
    )
    dbsession.expire_all()
    assert dbsession.get(Shipment, shipment.id).state is ShipmentState.SHIPPED
    # A monitor reads the site but handles no kit.
    monitor = as_user(testapp, world, "monitor")
    monitor.get(PAR01 + "@@kits", status=403)


# --- allocation -------------------------------------------------------------------------------


def panel(testapp, url=SUBJECT):
    return testapp.get(url + "@@kits", headers=HTMX)


def allocate(testapp, period="baseline", url=SUBJECT, status=200):
    token = panel(testapp, url).html.find("input", attrs={"name": "csrf_token"})["value"]
    return testapp.post(
        url + "@@allocate-kit", {"csrf_token": token, "period": period}, headers=HTMX, status=status
    )


def test_a_kit_of_the_arms_type_is_allocated_once_and_its_type_concealed(testapp, dbsession, world):
    ka, kp = catalogue(dbsession, world)
    randomised(dbsession, world, arm="B")
    add_kits(dbsession, world, kp, ["P-SOON"], site="par01", expiry=TODAY + timedelta(days=20))
    add_kits(dbsession, world, kp, ["P-LATE", "P-LATER"], site="par01")
    add_kits(dbsession, world, ka, ["A-1"], site="par01", expiry=TODAY + timedelta(days=60))
    coordinator = as_user(testapp, world, "coordinator")
    answer = allocate(coordinator)
    # P-SOON would expire before the end of week 4's window (day 31): never given at baseline.
    assert answer.html.find(id="kit-announced").text.strip() == "Kit P-LATE was allocated."
    assert answer.html.select(".kit-number")[0].text == "P-LATE"
    assert "KP" not in answer.html.find(id="subject-kits").text  # blinded: no type
    again = allocate(coordinator)  # a second click: the same kit, no other
    assert again.html.select(".kit-number")[0].text == "P-LATE"
    assert dbsession.scalars(select(Kit.number).where(Kit.state == KitState.ALLOCATED)).all() == [
        "P-LATE"
    ]
    allocated = kit(dbsession, "P-LATE")
    assert allocated.subject_id == world.subjects["par01-0001"].id
    assert allocated.period == "baseline"
    # Week 4 is the last visit: the kit that expires in 20 days does.
    assert allocate(coordinator, "week4").html.find(id="kit-announced")
    assert kit(dbsession, "P-SOON").state is KitState.ALLOCATED
    # The audit trail names the kit by number, never its type, beside the subject.
    texts = dbsession.execute(
        select(AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value).where(
            AuditEvent.action == "kits.allocated"
        )
    ).all()
    assert [tuple(t) for t in texts] == [
        ("state (P-LATE)", "available", "allocated"),
        ("state (P-SOON)", "available", "allocated"),
    ]
    # A monitor reads the panel (number, no type) and cannot allocate.
    monitor = as_user(testapp, world, "monitor")
    seen = panel(monitor)
    assert "P-LATE" in seen.text and "KP" not in seen.text
    assert not seen.html.find(id="allocate-kit-form")


def test_an_open_label_study_shows_the_kit_type(testapp, dbsession, world):
    _ka, kp = catalogue(dbsession, world)
    randomised(dbsession, world, arm="B", blinded=False)
    add_kits(dbsession, world, kp, ["P-1"], site="par01")
    coordinator = as_user(testapp, world, "coordinator")
    assert "KP" in allocate(coordinator).html.find(id="subject-kits").text


def test_allocation_is_refused_without_randomisation_mapping_or_stock(testapp, dbsession, world):
    ka, _kp = catalogue(dbsession, world)
    coordinator = as_user(testapp, world, "coordinator")
    assert not panel(coordinator).html.find(id="allocate-kit-form")  # not randomised
    randomised(dbsession, world, arm="A")
    add_kits(dbsession, world, ka, ["EXPIRED"], site="par01", expiry=TODAY - timedelta(days=1))
    add_kits(dbsession, world, ka, ["DEPOT"])
    add_kits(dbsession, world, ka, ["BERLIN"], site="ber01")
    refused = allocate(coordinator, status=422)
    assert "no kit that can be given now" in refused.html.find(id="kit-refusal").text
    refused = allocate(coordinator, "screening", status=422)  # no kit type mapped
    assert "No kit type" in refused.html.find(id="kit-refusal").text
    assert not dbsession.scalar(select(Kit).where(Kit.state == KitState.ALLOCATED))
    # The other site's subject is not found.
    coordinator.post(
        "/acme/demo/subjects/ber01-0001/@@allocate-kit",
        {"csrf_token": csrf_token(coordinator), "period": "baseline"},
        status=404,
    )


def test_a_kit_is_taken_back_with_a_reason(testapp, dbsession, world):
    ka, _kp = catalogue(dbsession, world)
    randomised(dbsession, world, arm="A")
    add_kits(dbsession, world, ka, ["A-1", "A-2"], site="par01")
    coordinator = as_user(testapp, world, "coordinator")
    allocate(coordinator)
    k1 = kit(dbsession, "A-1")
    form = panel(coordinator).html.find("form", action=SUBJECT + "@@return-kit")
    token = form.find("input", attrs={"name": "csrf_token"})["value"]
    url = SUBJECT + "@@return-kit"
    refused = coordinator.post(
        url, {"csrf_token": token, "kit": k1.id, "outcome": "available"}, headers=HTMX, status=422
    )
    assert refused.html.find(id=f"field-reason-{k1.id}-error")
    coordinator.post(
        url,
        {"csrf_token": token, "kit": k1.id, "outcome": "available", "reason": "wrong visit"},
        headers=HTMX,
    )
    assert kit(dbsession, "A-1").state is KitState.AVAILABLE
    assert kit(dbsession, "A-1").subject_id is None
    allocate(coordinator)
    k = dbsession.scalar(select(Kit).where(Kit.state == KitState.ALLOCATED))
    coordinator.post(
        url,
        {"csrf_token": token, "kit": k.id, "outcome": "invalid", "reason": "vial broken"},
        headers=HTMX,
    )
    assert kit(dbsession, k.number).state is KitState.INVALID
    reasons = dbsession.scalars(
        select(AuditEvent.reason).where(AuditEvent.action.in_(["kits.available", "kits.invalid"]))
    ).all()
    assert reasons == ["wrong visit", "vial broken"]
    # A monitor may not take a kit back.
    monitor = as_user(testapp, world, "monitor")
    monitor.post(
        url,
        {"csrf_token": csrf_token(monitor), "kit": k.id, "outcome": "available", "reason": "x"},
        status=403,
    )


def test_a_kit_is_allocated_as_the_subject_is_randomised(dbsession, registry, world):
    """Randomisation publishes SubjectRandomised; the kits capability reacts in its
    transaction when a kit type is given "at randomisation"."""
    ka, _kp = catalogue(dbsession, world)
    services.map_kit_type(dbsession, world.study, ka, "A", AT_RANDOMISATION, SETUP)
    add_kits(dbsession, world, ka, ["A-1"], site="par01")
    subject = world.subjects["par01-0001"]
    randomisation = randomised(dbsession, world, arm="A")
    reactions_of(registry).publish(SubjectRandomised(dbsession, SETUP, subject, randomisation))
    assert kit(dbsession, "A-1").state is KitState.ALLOCATED
    assert kit(dbsession, "A-1").period == AT_RANDOMISATION
    # Without stock the randomisation stands, and no kit is allocated.
    other = world.subjects["ber01-0001"]
    randomisation = randomised(dbsession, world, "ber01-0001", arm="A")
    reactions_of(registry).publish(SubjectRandomised(dbsession, SETUP, other, randomisation))
    assert (
        dbsession.scalar(select(func.count()).select_from(Kit).where(Kit.subject_id == other.id))
        == 0
    )


# --- resupply ---------------------------------------------------------------------------------


def test_the_daily_job_proposes_shipments_to_sites_below_their_minimum(
    testapp, dbsession, registry, world, monkeypatch
):
    ka, kp = catalogue(dbsession, world)
    add_kits(dbsession, world, ka, [f"A-{n}" for n in range(10)])
    add_kits(dbsession, world, ka, ["P1-1"], site="par01")
    add_kits(dbsession, world, kp, ["KP-1", "KP-2", "KP-3"], site="par01")
    admin = as_user(testapp, world, "study_admin")
    form = admin.get(SUPPLY).forms["level-form"]
    form["level_site"] = str(world.sites["par01"].id)
    form["level_kit_type"] = str(ka.id)
    form["minimum"], form["maximum"] = "6", "2"
    assert form.submit(status=422).html.find(id="field-maximum-error")
    form["minimum"], form["maximum"] = "2", "5"
    form.submit().follow()
    services.set_level(dbsession, world.sites["par01"], kp, 2, 4, SETUP)
    assert PERIODIC[PROPOSE_RESUPPLY] == timedelta(days=1)
    JOBS[PROPOSE_RESUPPLY](JobContext(registry, dbsession))
    shipment = dbsession.scalar(select(Shipment))
    assert shipment.automatic and shipment.state is ShipmentState.PROPOSED
    assert shipment.site_id == world.sites["par01"].id
    assert len(dbsession.scalars(select(Kit).where(Kit.shipment_id == shipment.id)).all()) == 4
    # The next day: what is set aside for the site counts, nothing more is proposed.
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: tomorrow)
    JOBS[PROPOSE_RESUPPLY](JobContext(registry, dbsession))
    assert dbsession.scalar(select(func.count()).select_from(Shipment)) == 1
    page = admin.get(SUPPLY)
    assert "proposed by the daily resupply" in page.html.find(id="shipments").text
    coordinator = as_user(testapp, world, "coordinator")
    row = coordinator.get(PAR01 + "@@kits").html.find(id="inventory").find("tbody").find("tr")
    assert "Below the minimum" in row.text


def test_the_supply_and_site_pages_ask_a_bounded_number_of_queries(
    testapp, dbsession, registry, world, engine
):
    ka, kp = catalogue(dbsession, world)
    admin = as_user(testapp, world, "study_admin")

    def count(app, url):
        statements = []

        def remember(*_args):
            statements.append(1)

        event.listen(engine, "before_cursor_execute", remember)
        try:
            app.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", remember)
        return len(statements)

    add_kits(dbsession, world, ka, ["A-1"], site="par01")
    admin.get(SUPPLY)  # the session's first page does a little more
    few = count(admin, SUPPLY)
    add_kits(dbsession, world, ka, [f"A-{n}" for n in range(2, 40)], site="par01")
    add_kits(dbsession, world, kp, [f"P-{n}" for n in range(40)])
    for _n in range(3):
        services.create_shipment(
            dbsession,
            world.study,
            world.sites["ber01"],
            {kp: 2},
            SETUP,
            environment=Environment.TEST,
        )
    assert count(admin, SUPPLY) == few
    coordinator_app = as_user(testapp, world, "coordinator")
    coordinator_app.get(PAR01 + "@@kits")
    few = count(coordinator_app, PAR01 + "@@kits")
    add_kits(dbsession, world, kp, [f"Q-{n}" for n in range(40)], site="par01")
    assert count(coordinator_app, PAR01 + "@@kits") == few


def test_a_kit_is_allocated_from_the_visits_page(testapp, dbsession, world):
    _ka, kp = catalogue(dbsession, world)
    randomised(dbsession, world, arm="B")
    add_kits(dbsession, world, kp, ["P-1", "P-2"], site="par01")
    coordinator = as_user(testapp, world, "coordinator")
    visit = coordinator.get(SUBJECT + "baseline/")
    loader = visit.html.find(id="kits-panel")
    assert loader["hx-get"] == SUBJECT + "@@kits?visit=baseline"
    scoped = coordinator.get(loader["hx-get"], headers=HTMX)
    form = scoped.html.find(id="allocate-kit-form")
    assert form.find("select") is None  # this visit's button: no choice of visit
    token = form.find("input", attrs={"name": "csrf_token"})["value"]
    answer = coordinator.post(
        SUBJECT + "@@allocate-kit",
        {"csrf_token": token, "period": "baseline", "visit": "baseline"},
        headers=HTMX,
    )
    assert answer.html.select(".kit-number")[0].text == "P-1"
    assert not answer.html.find(id="allocate-kit-form")  # this visit has its kit
    # The week 4 visit's panel does not show baseline's kit, and offers its own.
    week4 = coordinator.get(SUBJECT + "@@kits?visit=week4", headers=HTMX)
    assert "P-1" not in week4.text and week4.html.find(id="allocate-kit-form")


def test_the_kits_of_a_randomisation_marked_in_error_are_set_aside(dbsession, registry, world):
    """A kit may have left the pharmacy with the subject: it never goes back on the shelf for
    another subject, it is invalid with the randomisation's error as reason."""
    from datacapt.randomisation import services as randomisation_services

    ka, _kp = catalogue(dbsession, world)
    add_kits(dbsession, world, ka, ["A-1", "A-2"], site="par01")
    subject = world.subjects["par01-0001"]
    randomisation = randomised(dbsession, world, arm="A")
    services.map_kit_type(dbsession, world.study, ka, "A", AT_RANDOMISATION, SETUP)
    allocated, _made = services.allocate(
        dbsession, world.study, None, subject, AT_RANDOMISATION, SETUP
    )
    randomisation_services.mark_in_error(
        dbsession, reactions_of(registry), randomisation, subject, "Duplicate subject", SETUP
    )
    set_aside = kit(dbsession, allocated.number)
    assert set_aside.state is KitState.INVALID
    assert set_aside.subject_id is None and set_aside.period is None
    assert set_aside.reason == f"randomisation {randomisation.number} in error: Duplicate subject"
    other = kit(dbsession, "A-2")
    assert (other.state, other.subject_id) == (KitState.AVAILABLE, None)
    event = dbsession.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "kits.invalid", AuditEvent.entity_id == str(set_aside.id)
        )
    )
    assert (event.subject_id, event.old_value, event.new_value) == (
        subject.id,
        "allocated",
        "invalid",
    )
    assert "KA" not in f"{event.field} {event.reason}"


def test_test_kits_are_not_allocated_once_the_randomisation_is_live(testapp, dbsession, world):
    """Kits of the test list serve test randomisations; once live, only production kits are
    given, whatever the test kits left at the site."""
    ka, _kp = catalogue(dbsession, world)
    services.map_kit_type(dbsession, world.study, ka, "A", AT_RANDOMISATION, SETUP)
    add_kits(dbsession, world, ka, ["T-1"], site="par01")
    randomisation = randomised(dbsession, world, arm="A")
    design = dbsession.get(RandomisationDesign, randomisation.design_id)
    design.live_at = datetime.now(UTC)
    randomisation.environment = Environment.PRODUCTION
    dbsession.flush()
    subject = world.subjects["par01-0001"]
    with pytest.raises(services.Refused, match="no kit that can be given"):
        services.allocate(dbsession, world.study, None, subject, AT_RANDOMISATION, SETUP)
    assert kit(dbsession, "T-1").state is KitState.AVAILABLE

    admin = as_user(testapp, world, "study_admin")
    form = admin.get(SUPPLY).forms["import-form"]
    assert form["environment"].value == "production"  # the live list is offered first
    form["file"] = (
        "kits.csv",
        f"number,type,batch,expiry,location\nP-1,KA,B1,{FAR},par01\n".encode(),
    )
    form.submit(status=303)
    given, _made = services.allocate(dbsession, world.study, None, subject, AT_RANDOMISATION, SETUP)
    assert (given.number, given.environment) == ("P-1", Environment.PRODUCTION)
    form = admin.get(SUPPLY).forms["import-form"]
    form["environment"].force_value("staging")
    form["file"] = ("kits.csv", b"number,type,batch,expiry,location\n")
    refused = form.submit(status=422)
    assert refused.html.find(id="field-environment-error")


def go_live(dbsession, world):
    """The study's randomisation goes live: production is its current list."""
    design = randomised(dbsession, world, arm="A")
    dbsession.get(RandomisationDesign, design.design_id).live_at = datetime.now(UTC)
    dbsession.flush()


def test_a_shipment_carries_kits_of_one_list_the_live_one_unless_told(
    testapp, dbsession, registry, world
):
    """Test kits expiring first never go out in a live study's shipment, nor production kits
    in a pharmacist's test run: one shipment, one list."""
    ka, _kp = catalogue(dbsession, world)
    go_live(dbsession, world)
    add_kits(dbsession, world, ka, ["T-1", "T-2", "T-3"], expiry=TODAY + timedelta(days=100))
    add_kits(dbsession, world, ka, ["P-1", "P-2", "P-3"], environment=Environment.PRODUCTION)
    admin = as_user(testapp, world, "study_admin")
    form = admin.get(SUPPLY).forms["shipment-form"]
    assert form["shipment_environment"].value == "production"
    form["shipment_site"] = str(world.sites["par01"].id)
    form["shipment_kit_type"] = str(ka.id)
    form["shipment_count"] = "2"
    form.submit().follow()
    form = admin.get(SUPPLY).forms["shipment-form"]
    form["shipment_site"] = str(world.sites["ber01"].id)
    form["shipment_kit_type"] = str(ka.id)
    form["shipment_count"] = "2"
    form["shipment_environment"] = "test"
    form.submit().follow()
    first, second = dbsession.scalars(select(Shipment).order_by(Shipment.id)).all()
    shipped = dict(
        dbsession.execute(
            select(Kit.number, Kit.shipment_id).where(Kit.shipment_id.is_not(None))
        ).all()
    )
    assert shipped == {"P-1": first.id, "P-2": first.id, "T-1": second.id, "T-2": second.id}
    form = admin.get(SUPPLY).forms["shipment-form"]
    form["shipment_site"] = str(world.sites["ber01"].id)
    form["shipment_kit_type"] = str(ka.id)
    form["shipment_count"] = "1"
    form["shipment_environment"].force_value("staging")
    assert form.submit(status=422).html.find(id="field-shipment_environment-error")

    # The daily resupply of a live study sends production kits only.
    services.set_level(dbsession, world.sites["par01"], ka, 3, 3, SETUP)
    JOBS[PROPOSE_RESUPPLY](JobContext(registry, dbsession))
    automatic = dbsession.scalar(select(Shipment).where(Shipment.automatic.is_(True)))
    assert dbsession.scalars(select(Kit.number).where(Kit.shipment_id == automatic.id)).all() == [
        "P-3"
    ]


def test_stock_levels_and_resupply_count_the_live_list_and_show_test_kits_apart(
    testapp, dbsession, registry, world
):
    """Test kits left at a live site are no stock: the inventory, its minimum and the daily
    resupply count production kits; the test kits are listed apart, labelled."""
    ka, _kp = catalogue(dbsession, world)
    go_live(dbsession, world)
    add_kits(dbsession, world, ka, ["P-1"], site="par01", environment=Environment.PRODUCTION)
    add_kits(dbsession, world, ka, [f"T-{n}" for n in range(5)], site="par01")
    add_kits(dbsession, world, ka, [f"D-{n}" for n in range(5)], environment=Environment.PRODUCTION)
    services.set_level(dbsession, world.sites["par01"], ka, 3, 4, SETUP)

    coordinator = as_user(testapp, world, "coordinator")
    page = coordinator.get(PAR01 + "@@kits").html
    row = page.find(id="inventory").find("tbody").find("tr")
    assert [td.text for td in row.find_all("td")][:3] == ["0", "0", "1"]
    assert "Below the minimum" in row.text
    assert "Test kits" in page.find(id="other-list-title").text
    other = page.find(id="other-list-inventory").find("tbody").find("tr")
    assert [td.text for td in other.find_all("td")][:3] == ["0", "0", "5"]
    assert "Test" in page.find(id="kit-T-0").find("td").text
    assert "Test" not in page.find(id="kit-P-1").find("td").text

    JOBS[PROPOSE_RESUPPLY](JobContext(registry, dbsession))
    shipment = dbsession.scalar(select(Shipment))
    assert shipment is not None
    sent = dbsession.scalars(select(Kit.number).where(Kit.shipment_id == shipment.id)).all()
    assert sorted(sent) == ["D-0", "D-1", "D-2"]

    admin = as_user(testapp, world, "study_admin")
    rows = admin.get(SUPPLY).html.find(id="stock").find("tbody").find_all("tr")
    par01 = [row for row in rows if row.find("th").text.startswith("par01")]
    assert [row.find("th").text.strip() for row in par01] == ["par01", "par01 Test"]
    assert [row.find_all("td")[-1].text for row in par01] == ["3–4", "—"]
    add_kits(dbsession, world, ka, ["DT-1"])
    test_run = services.create_shipment(
        dbsession, world.study, world.sites["ber01"], {ka: 1}, SETUP, environment=Environment.TEST
    )
    shipments = admin.get(SUPPLY).html.find(id="shipments")
    assert "Test" in shipments.find(id=f"shipment-{test_run.id}").find("td").text
    assert "Test" not in shipments.find(id=f"shipment-{shipment.id}").find("td").text


def test_an_emergency_unblinding_shows_the_kits_types_too(testapp, dbsession, world):
    """A kit's type tells the arm: the investigator unblinding sees it with the arm, on that
    answer only, and the trail records which kits' types were shown (numbers, never types)."""
    ka, _kp = catalogue(dbsession, world)
    services.map_kit_type(dbsession, world.study, ka, "A", AT_RANDOMISATION, SETUP)
    add_kits(dbsession, world, ka, ["A-1"], site="par01")
    randomised(dbsession, world, arm="A")
    subject = world.subjects["par01-0001"]
    services.allocate(dbsession, world.study, None, subject, AT_RANDOMISATION, SETUP)

    investigator = as_user(testapp, world, "investigator")
    assert "KA" not in panel(investigator).html.find(id="subject-kits").get_text()
    page = investigator.get(SUBJECT + "@@randomisation", headers=HTMX)
    token = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    body = {"csrf_token": token, "unblind-reason": "Anaphylaxis", "unblind-password": PASSWORD}
    wrong = investigator.post(
        SUBJECT + "@@unblind", {**body, "unblind-password": "no"}, headers=HTMX, status=422
    )
    assert "Active kit" not in wrong.text
    shown = investigator.post(SUBJECT + "@@unblind", body, headers=HTMX)
    [revealed] = shown.html.select(".revealed-also")
    assert "A-1" in revealed.get_text() and "KA — Active kit" in revealed.get_text()
    again = investigator.get(SUBJECT + "@@randomisation", headers=HTMX)
    assert not again.html.select(".revealed-also")
    event = dbsession.scalar(select(AuditEvent).where(AuditEvent.action == "kits.types_revealed"))
    assert (event.subject_id, event.new_value, event.reason) == (subject.id, "A-1", "Anaphylaxis")
    assert "KA" not in f"{event.field} {event.new_value}"
