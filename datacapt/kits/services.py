"""Supplies: the product catalogue, kit types and their arms × periods, the kit list, shipments
and their receipt, allocation to a subject at a visit, site inventory and resupply.

Every change of a kit's state goes through :func:`move` (the table of
:mod:`datacapt.kits.states`) and is audited with its old → new state and reason. The audit
trail names a kit by number, never by type, beside a subject: its readers may be blind.

Allocation locks the subject's row (a double click waits, then finds the first kit) and takes
the kit with ``FOR UPDATE SKIP LOCKED`` (two subjects at one site never get the same kit); a
unique constraint on (subject, period) backs both up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from pyramid.i18n import TranslationString
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from datacapt import audit, clock
from datacapt.actor import Actor
from datacapt.ecrf.definition import Definition
from datacapt.i18n import _
from datacapt.kits.lists import KitRow
from datacapt.kits.states import check
from datacapt.models import (
    AT_RANDOMISATION,
    Environment,
    Kit,
    KitMapping,
    KitState,
    KitType,
    Product,
    ProductBatch,
    ProductType,
    Randomisation,
    RandomisationDesign,
    Shipment,
    ShipmentState,
    Site,
    Study,
    Subject,
    SupplyLevel,
    Tenant,
)


class Refused(ValueError):
    """The act cannot be done now; ``message`` tells the person why."""

    def __init__(self, message: TranslationString) -> None:
        super().__init__(str(message))
        self.message = message


def _now() -> datetime:
    return clock.now()


def study_today(study: Study) -> date:
    return clock.today_in(ZoneInfo(study.timezone))


# --- the product catalogue --------------------------------------------------------------------


def products(dbsession: Session, tenant: Tenant) -> list[tuple[Product, list[ProductBatch]]]:
    """The tenant's products by code, each with its batches (two queries)."""
    found = list(
        dbsession.scalars(
            select(Product).where(Product.tenant_id == tenant.id).order_by(Product.code)
        )
    )
    batches: dict[int, list[ProductBatch]] = {product.id: [] for product in found}
    for batch in dbsession.scalars(
        select(ProductBatch)
        .where(ProductBatch.tenant_id == tenant.id)
        .order_by(ProductBatch.expiry, ProductBatch.number)
    ):
        batches.setdefault(batch.product_id, []).append(batch)
    return [(product, batches[product.id]) for product in found]


def batches(dbsession: Session, product: Product) -> list[ProductBatch]:
    return list(
        dbsession.scalars(
            select(ProductBatch)
            .where(ProductBatch.product_id == product.id)
            .order_by(ProductBatch.expiry, ProductBatch.number)
        )
    )


def add_product(
    dbsession: Session, tenant: Tenant, code: str, name: str, kind: ProductType, actor: Actor
) -> Product:
    taken = dbsession.scalar(
        select(Product.id).where(Product.tenant_id == tenant.id, Product.code == code)
    )
    if taken is not None:
        raise Refused(_("A product already has this code."))
    product = Product(tenant_id=tenant.id, code=code, name=name, type=kind)
    dbsession.add(product)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=tenant.id,
        action="kits.product_added",
        entity_type="product",
        entity_id=product.id,
        field="code",
        new=f"{code} ({kind.value})",
    )
    return product


def edit_product(
    dbsession: Session, product: Product, name: str, kind: ProductType, actor: Actor
) -> None:
    old = {"name": product.name, "type": product.type.value}
    product.name, product.type = name, kind
    audit.record_changes(
        dbsession,
        actor,
        old,
        {"name": name, "type": kind.value},
        tenant_id=product.tenant_id,
        action="kits.product_changed",
        entity_type="product",
        entity_id=product.id,
    )


def add_batch(
    dbsession: Session, product: Product, number: str, expiry: date, actor: Actor
) -> ProductBatch:
    taken = dbsession.scalar(
        select(ProductBatch.id).where(
            ProductBatch.product_id == product.id, ProductBatch.number == number
        )
    )
    if taken is not None:
        raise Refused(_("This product already has a batch with this number."))
    batch = ProductBatch(
        tenant_id=product.tenant_id, product_id=product.id, number=number, expiry=expiry
    )
    dbsession.add(batch)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=product.tenant_id,
        action="kits.batch_added",
        entity_type="product_batch",
        entity_id=batch.id,
        field="expiry",
        new=f"{product.code} {number} {expiry.isoformat()}",
    )
    return batch


# --- kit types and their arms × periods -------------------------------------------------------


def kit_types(dbsession: Session, study: Study) -> list[tuple[KitType, Product]]:
    return [
        (kind, product)
        for kind, product in dbsession.execute(
            select(KitType, Product)
            .join(Product, Product.id == KitType.product_id)
            .where(KitType.study_id == study.id)
            .order_by(KitType.code)
        ).all()
    ]


def add_kit_type(
    dbsession: Session, study: Study, code: str, name: str, product: Product, actor: Actor
) -> KitType:
    if product.tenant_id != study.tenant_id:
        raise Refused(_("Choose one of the options offered."))
    taken = dbsession.scalar(
        select(KitType.id).where(KitType.study_id == study.id, KitType.code == code)
    )
    if taken is not None:
        raise Refused(_("A kit type already has this code."))
    kind = KitType(
        tenant_id=study.tenant_id, study_id=study.id, code=code, name=name, product_id=product.id
    )
    dbsession.add(kind)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="kits.kit_type_added",
        entity_type="kit_type",
        entity_id=kind.id,
        field="product",
        new=f"{code}: {product.code}",
    )
    return kind


def mappings(dbsession: Session, study: Study) -> list[KitMapping]:
    return list(
        dbsession.scalars(
            select(KitMapping)
            .where(KitMapping.study_id == study.id)
            .order_by(KitMapping.period, KitMapping.arm)
        )
    )


def mapped_periods(dbsession: Session, study: Study) -> set[str]:
    """The periods some arm receives a kit in (whichever arm: this tells no one an arm)."""
    return set(dbsession.scalars(select(KitMapping.period).where(KitMapping.study_id == study.id)))


def map_kit_type(
    dbsession: Session, study: Study, kind: KitType, arm: str, period: str, actor: Actor
) -> KitMapping:
    """Subjects of ``arm`` receive ``kind`` in ``period`` (replacing the earlier mapping)."""
    mapping = dbsession.scalar(
        select(KitMapping).where(
            KitMapping.study_id == study.id, KitMapping.arm == arm, KitMapping.period == period
        )
    )
    old = None
    if mapping is None:
        mapping = KitMapping(tenant_id=study.tenant_id, study_id=study.id, arm=arm, period=period)
        dbsession.add(mapping)
    else:
        old = mapping.kit_type_id
    mapping.kit_type_id = kind.id
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="kits.kit_type_mapped",
        entity_type="kit_mapping",
        entity_id=mapping.id,
        field=f"{arm} × {period}",
        old=old,
        new=kind.code,
    )
    return mapping


# --- kits and their states --------------------------------------------------------------------


def move(
    dbsession: Session,
    kit: Kit,
    new: KitState,
    actor: Actor,
    *,
    reason: str | None = None,
    subject: Subject | None = None,
) -> None:
    """Change ``kit``'s state along the table (refused otherwise), audited."""
    old = kit.state
    check(old, new, reason)
    kit.state = new
    if new is KitState.INVALID:
        kit.reason = reason
    event = {
        "action": f"kits.{new.value}",
        "entity_type": "kit",
        "entity_id": kit.id,
        "field": f"state ({kit.number})",
        "old": old.value,
        "new": new.value,
        "reason": reason or None,
    }
    if subject is not None:
        audit.record_subject(dbsession, actor, subject, **event)
    else:
        audit.record(
            dbsession,
            actor,
            tenant_id=kit.tenant_id,
            study_id=kit.study_id,
            site_id=kit.site_id,
            **event,
        )


def kit_numbers(dbsession: Session, study: Study) -> set[str]:
    return set(dbsession.scalars(select(Kit.number).where(Kit.study_id == study.id)))


def batch_expiries(dbsession: Session, study: Study) -> dict[tuple[str, str], date]:
    """(kit type code, batch number) → the catalogue's expiry of that batch."""
    return {
        (code, number): expiry
        for code, number, expiry in dbsession.execute(
            select(KitType.code, ProductBatch.number, ProductBatch.expiry)
            .join(ProductBatch, ProductBatch.product_id == KitType.product_id)
            .where(KitType.study_id == study.id)
        ).all()
    }


def list_environment(dbsession: Session, study: Study) -> Environment:
    """The list a kit list or a shipment takes unless told: the randomisation's current
    environment (production once live)."""
    design = kits_design(dbsession, study.id)
    return design.environment if design is not None else Environment.TEST


def import_kits(
    dbsession: Session,
    study: Study,
    rows: Sequence[KitRow],
    environment: Environment,
    actor: Actor,
) -> int:
    """Add the kits of a read kit list (see :func:`datacapt.kits.lists.read_kit_list`) to the
    test or the production list, each available where the file puts it."""
    types = {kind.code: kind.id for kind, _product in kit_types(dbsession, study)}
    sites = dict(
        dbsession.execute(select(Site.code, Site.id).where(Site.study_id == study.id)).all()
    )
    for row in rows:
        dbsession.add(
            Kit(
                tenant_id=study.tenant_id,
                study_id=study.id,
                number=row.number,
                kit_type_id=types[row.type],
                batch=row.batch,
                expiry=row.expiry,
                site_id=sites[row.location] if row.location else None,
                state=KitState.AVAILABLE,
                environment=environment,
            )
        )
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="kits.list_imported",
        entity_type="study",
        entity_id=study.id,
        field=f"kits ({environment.value})",
        new=len(rows),
    )
    return len(rows)


@dataclass(frozen=True)
class StockLine:
    """A kit type's kits at one place (a site, or the depot for ``site_id`` None)."""

    kit_type: KitType
    counts: Mapping[KitState, int]
    level: SupplyLevel | None


@dataclass(frozen=True)
class SiteStock:
    """A site's kits of the list that counts (``environment``: the study's current one, which
    the resupply levels are for), and those of the other list apart, so test kits left at a
    live site never look like stock."""

    environment: Environment
    lines: list[StockLine]
    other_environment: Environment
    other_lines: list[StockLine]


def other_environment(environment: Environment) -> Environment:
    return Environment.TEST if environment is Environment.PRODUCTION else Environment.PRODUCTION


def depot_counts(
    dbsession: Session, study: Study
) -> dict[tuple[int | None, int, Environment], Counter]:
    """(site id or None, kit type id, list) → kits by state (one query)."""
    found: dict[tuple[int | None, int, Environment], Counter] = {}
    for site_id, kind, environment, state, count in dbsession.execute(
        select(Kit.site_id, Kit.kit_type_id, Kit.environment, Kit.state, func.count())
        .where(Kit.study_id == study.id)
        .group_by(Kit.site_id, Kit.kit_type_id, Kit.environment, Kit.state)
    ).all():
        found.setdefault((site_id, kind, environment), Counter())[state] = count
    return found


def site_stock(dbsession: Session, study: Study, site: Site) -> SiteStock:
    """Per kit type of the study: the site's kits of the current list by state and its
    resupply level; and the kit types it holds kits of the other list of."""
    counted = list_environment(dbsession, study)
    counts: dict[tuple[int, Environment], Counter] = {}
    for kind, environment, state, count in dbsession.execute(
        select(Kit.kit_type_id, Kit.environment, Kit.state, func.count())
        .where(Kit.study_id == study.id, Kit.site_id == site.id)
        .group_by(Kit.kit_type_id, Kit.environment, Kit.state)
    ).all():
        counts.setdefault((kind, environment), Counter())[state] = count
    levels = {
        level.kit_type_id: level
        for level in dbsession.scalars(select(SupplyLevel).where(SupplyLevel.site_id == site.id))
    }
    kinds = [kind for kind, _product in kit_types(dbsession, study)]
    other = other_environment(counted)
    return SiteStock(
        counted,
        [
            StockLine(kind, counts.get((kind.id, counted), Counter()), levels.get(kind.id))
            for kind in kinds
        ],
        other,
        [
            StockLine(kind, counts[kind.id, other], None)
            for kind in kinds
            if (kind.id, other) in counts
        ],
    )


def kits_with_types(
    dbsession: Session, *where: ColumnElement[bool], order_by: Sequence[Any] = (Kit.number,)
) -> list[tuple[Kit, KitType]]:
    """The kits meeting ``where``, each with its type (one query): what every list of kits
    shows."""
    return [
        (kit, kind)
        for kit, kind in dbsession.execute(
            select(Kit, KitType)
            .join(KitType, KitType.id == Kit.kit_type_id)
            .where(*where)
            .order_by(*order_by)
        ).all()
    ]


def site_kits(dbsession: Session, site: Site) -> list[tuple[Kit, KitType]]:
    """The site's kits that are not allocated (allocated ones are seen with their subject)."""
    return kits_with_types(
        dbsession,
        Kit.site_id == site.id,
        Kit.state != KitState.ALLOCATED,
        order_by=(Kit.state, Kit.number),
    )


def set_level(
    dbsession: Session,
    site: Site,
    kind: KitType,
    minimum: int,
    maximum: int,
    actor: Actor,
) -> SupplyLevel:
    if not 0 <= minimum <= maximum:
        raise Refused(_("The minimum must be at most the maximum."))
    level = dbsession.scalar(
        select(SupplyLevel).where(
            SupplyLevel.site_id == site.id, SupplyLevel.kit_type_id == kind.id
        )
    )
    old = None
    if level is None:
        level = SupplyLevel(
            tenant_id=site.tenant_id, study_id=site.study_id, site_id=site.id, kit_type_id=kind.id
        )
        dbsession.add(level)
    else:
        old = f"{level.minimum}–{level.maximum}"
    level.minimum, level.maximum = minimum, maximum
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        action="kits.level_set",
        entity_type="supply_level",
        entity_id=level.id,
        field=f"level ({kind.code})",
        old=old,
        new=f"{minimum}–{maximum}",
    )
    return level


def invalidate(dbsession: Session, kit: Kit, reason: str, actor: Actor) -> None:
    """Set a kit aside for ever (expired, damaged, lost), with the reason."""
    if kit.state is KitState.INVALID:
        raise Refused(_("This kit is already invalid."))
    if kit.state is KitState.ALLOCATED:
        raise Refused(_("This kit is allocated: take it back from its subject's page."))
    if kit.shipment_id is not None and kit.state is KitState.AVAILABLE and kit.site_id is None:
        raise Refused(_("This kit is set aside for a shipment: cancel the shipment first."))
    move(dbsession, kit, KitState.INVALID, actor, reason=reason)


# --- shipments --------------------------------------------------------------------------------


def shipments(
    dbsession: Session, study: Study
) -> list[tuple[Shipment, str, int, Environment | None]]:
    """The study's shipments, newest first, with the site's code, the number of kits and
    their list (one list a shipment)."""
    kits = (
        select(
            Kit.shipment_id,
            func.count().label("kits"),
            func.min(Kit.environment).label("environment"),
        )
        .where(Kit.study_id == study.id, Kit.shipment_id.is_not(None))
        .group_by(Kit.shipment_id)
        .subquery()
    )
    return [
        (shipment, code, count or 0, environment)
        for shipment, code, count, environment in dbsession.execute(
            select(Shipment, Site.code, kits.c.kits, kits.c.environment)
            .join(Site, Site.id == Shipment.site_id)
            .outerjoin(kits, kits.c.shipment_id == Shipment.id)
            .where(Shipment.study_id == study.id)
            .order_by(Shipment.id.desc())
        ).all()
    ]


def _free_depot_kits(
    dbsession: Session,
    study: Study,
    kind: KitType,
    count: int,
    after: date,
    environment: Environment,
) -> list[Kit]:
    """Up to ``count`` kits of ``kind`` of the ``environment`` list at the depot, not set
    aside, first to expire first."""
    return list(
        dbsession.scalars(
            select(Kit)
            .where(
                Kit.study_id == study.id,
                Kit.kit_type_id == kind.id,
                Kit.environment == environment,
                Kit.site_id.is_(None),
                Kit.state == KitState.AVAILABLE,
                Kit.shipment_id.is_(None),
                Kit.expiry > after,
            )
            .order_by(Kit.expiry, Kit.number)
            .limit(count)
            .with_for_update(skip_locked=True)
        )
    )


def create_shipment(
    dbsession: Session,
    study: Study,
    site: Site,
    wanted: Mapping[KitType, int],
    actor: Actor,
    *,
    environment: Environment,
    automatic: bool = False,
) -> Shipment:
    """A proposed shipment of the depot's kits of the ``environment`` list to ``site`` (set
    aside until shipped), the first to expire first; refused when the depot has none of what
    is wanted. One shipment never mixes test and production kits: a site would give a test
    kit to a live subject."""
    today = study_today(study)
    picked = [
        kit
        for kind, count in wanted.items()
        if count > 0
        for kit in _free_depot_kits(dbsession, study, kind, count, today, environment)
    ]
    if not picked:
        raise Refused(_("The depot has no kit of this type to send."))
    shipment = Shipment(
        tenant_id=study.tenant_id,
        study_id=study.id,
        site_id=site.id,
        state=ShipmentState.PROPOSED,
        automatic=automatic,
        created_at=_now(),
    )
    dbsession.add(shipment)
    dbsession.flush()
    for kit in picked:
        kit.shipment_id = shipment.id
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        site_id=site.id,
        action="kits.shipment_proposed",
        entity_type="shipment",
        entity_id=shipment.id,
        field=f"kits ({environment.value})",
        new=", ".join(sorted(kit.number for kit in picked)),
    )
    return shipment


def shipment_kits(dbsession: Session, shipment: Shipment) -> list[tuple[Kit, KitType]]:
    return kits_with_types(dbsession, Kit.shipment_id == shipment.id)


def _shipment_state(
    dbsession: Session, shipment: Shipment, new: ShipmentState, actor: Actor
) -> None:
    old = shipment.state
    shipment.state = new
    audit.record(
        dbsession,
        actor,
        tenant_id=shipment.tenant_id,
        study_id=shipment.study_id,
        site_id=shipment.site_id,
        action=f"kits.shipment_{new.value}",
        entity_type="shipment",
        entity_id=shipment.id,
        field="state",
        old=old.value,
        new=new.value,
    )


def ship(dbsession: Session, shipment: Shipment, actor: Actor) -> None:
    """Send a proposed shipment: its kits leave the depot, in transfer to the site."""
    if shipment.state is not ShipmentState.PROPOSED:
        raise Refused(_("Only a proposed shipment can be sent."))
    for kit, _kind in shipment_kits(dbsession, shipment):
        kit.site_id = shipment.site_id
        move(dbsession, kit, KitState.IN_TRANSFER, actor)
    shipment.shipped_at = _now()
    _shipment_state(dbsession, shipment, ShipmentState.SHIPPED, actor)


def cancel(dbsession: Session, shipment: Shipment, actor: Actor) -> None:
    """Give up a proposed shipment: its kits stay at the depot, free again."""
    if shipment.state is not ShipmentState.PROPOSED:
        raise Refused(_("Only a proposed shipment can be cancelled."))
    for kit, _kind in shipment_kits(dbsession, shipment):
        kit.shipment_id = None
    _shipment_state(dbsession, shipment, ShipmentState.CANCELLED, actor)


#: What a site says of each kit of a shipment it receives.
RECEIVED_OK = "ok"
MISSING = "missing"
DAMAGED = "damaged"
RECEIPT_OUTCOMES = (RECEIVED_OK, MISSING, DAMAGED)


def receive(
    dbsession: Session,
    shipment: Shipment,
    outcomes: Mapping[int, str],
    note: str,
    actor: Actor,
) -> tuple[int, int]:
    """The site receives a shipment: each kit received and available, or invalid (missing or
    damaged, with ``note``). Returns (kits available, kits invalid)."""
    if shipment.state is not ShipmentState.SHIPPED:
        raise Refused(_("This shipment is not on its way: nothing to receive."))
    good = bad = 0
    for kit, _kind in shipment_kits(dbsession, shipment):
        outcome = outcomes.get(kit.id, RECEIVED_OK)
        if outcome == RECEIVED_OK:
            move(dbsession, kit, KitState.RECEIVED, actor)
            move(dbsession, kit, KitState.AVAILABLE, actor)
            good += 1
        else:
            reason = f"{outcome}: {note}" if note else outcome
            move(dbsession, kit, KitState.INVALID, actor, reason=reason)
            bad += 1
    shipment.received_at = _now()
    _shipment_state(dbsession, shipment, ShipmentState.RECEIVED, actor)
    return good, bad


def incoming(dbsession: Session, site: Site) -> list[Shipment]:
    return list(
        dbsession.scalars(
            select(Shipment)
            .where(Shipment.site_id == site.id, Shipment.state == ShipmentState.SHIPPED)
            .order_by(Shipment.shipped_at)
        )
    )


def incoming_kits(dbsession: Session, site: Site) -> dict[int, list[tuple[Kit, KitType]]]:
    """The kits of the site's shipments on their way, by shipment (one query)."""
    on_their_way = select(Shipment.id).where(
        Shipment.site_id == site.id, Shipment.state == ShipmentState.SHIPPED
    )
    found: dict[int, list[tuple[Kit, KitType]]] = {}
    for kit, kind in kits_with_types(dbsession, Kit.shipment_id.in_(on_their_way)):
        found.setdefault(kit.shipment_id, []).append((kit, kind))
    return found


def _short_of(
    dbsession: Session, site: Site, level: SupplyLevel, kind: KitType, environment: Environment
) -> int:
    """How many kits of ``kind`` bring ``site`` back to its maximum, if it is below its
    minimum (kits of the ``environment`` list available there, on their way or set aside for
    it); else 0."""
    at_site = dbsession.scalar(
        select(func.count())
        .select_from(Kit)
        .outerjoin(Shipment, Shipment.id == Kit.shipment_id)
        .where(
            Kit.kit_type_id == kind.id,
            Kit.environment == environment,
            (
                (Kit.site_id == site.id)
                & Kit.state.in_([KitState.AVAILABLE, KitState.IN_TRANSFER, KitState.RECEIVED])
            )
            | ((Shipment.site_id == site.id) & (Shipment.state == ShipmentState.PROPOSED)),
        )
    )
    return level.maximum - at_site if at_site < level.minimum else 0


def _proposed_today(dbsession: Session, study: Study, site: Site) -> bool:
    """Whether the daily resupply already proposed a shipment to ``site`` on the study's
    today (sent, cancelled or still proposed: a restarted worker runs its periodic jobs at
    once, and a pharmacist's cancellation is not undone the same day)."""
    zone = ZoneInfo(study.timezone)
    since = datetime.combine(study_today(study), time.min, zone).astimezone(UTC)
    found = dbsession.scalar(
        select(Shipment.id)
        .where(
            Shipment.site_id == site.id,
            Shipment.automatic.is_(True),
            Shipment.created_at >= since,
        )
        .limit(1)
    )
    return found is not None


def propose_resupply(dbsession: Session, actor: Actor) -> list[Shipment]:
    """For every site below its minimum of some kit types (kits of the study's current list):
    one proposed shipment of that list bringing each up to its maximum, once a day per site
    however often it runs. The daily job's work."""
    proposed: list[Shipment] = []
    levels = dbsession.execute(
        select(SupplyLevel, Site, Study, KitType)
        .join(Site, Site.id == SupplyLevel.site_id)
        .join(Study, Study.id == SupplyLevel.study_id)
        .join(KitType, KitType.id == SupplyLevel.kit_type_id)
        .order_by(SupplyLevel.study_id, Site.code, KitType.code)
    ).all()
    environments: dict[int, Environment] = {}
    for (site, study), of_site in groupby(levels, key=lambda row: (row[1], row[2])):
        # Two runs at once (a restart while the last one works) wait here for each other.
        dbsession.scalar(select(Site.id).where(Site.id == site.id).with_for_update())
        if _proposed_today(dbsession, study, site):
            continue
        if study.id not in environments:
            environments[study.id] = list_environment(dbsession, study)
        environment = environments[study.id]
        wanted = {
            kind: _short_of(dbsession, site, level, kind, environment)
            for level, _site, _study, kind in of_site
        }
        if not any(wanted.values()):
            continue
        try:
            proposed.append(
                create_shipment(
                    dbsession, study, site, wanted, actor, environment=environment, automatic=True
                )
            )
        except Refused:
            continue  # the depot is empty: the supply page shows it
    return proposed


# --- allocation -------------------------------------------------------------------------------


def kits_design(dbsession: Session, study_id: int) -> RandomisationDesign | None:
    """The randomisation whose arms the kit types are mapped to: the study's first one."""
    return dbsession.scalar(
        select(RandomisationDesign)
        .where(RandomisationDesign.study_id == study_id)
        .order_by(RandomisationDesign.id)
        .limit(1)
    )


def _kits_follow(dbsession: Session, randomisation: Randomisation) -> bool:
    """Whether the kit types are mapped to ``randomisation``'s arms (not another design's)."""
    design = kits_design(dbsession, randomisation.study_id)
    return design is not None and design.id == randomisation.design_id


def subject_arm(dbsession: Session, subject: Subject) -> tuple[str | None, bool]:
    """The subject's arm in the study's current environment (None: not randomised, or
    randomised in error), and whether the study is blinded."""
    design = kits_design(dbsession, subject.study_id)
    if design is None:
        return None, False
    arm = dbsession.scalar(
        select(Randomisation.arm).where(
            Randomisation.subject_id == subject.id,
            Randomisation.environment == design.environment,
            Randomisation.in_error.is_(False),
        )
    )
    return arm, design.blinded


def periods(definition: Definition | None) -> list[str]:
    """The periods a kit can be allocated for: at randomisation, then the schedule's visits."""
    visits = [visit.name for visit in definition.schedule.visits] if definition else []
    return [AT_RANDOMISATION, *visits]


def needed_until(definition: Definition | None, period: str, today: date) -> date:
    """The last day a kit allocated today for ``period`` is used: the end of the next visit's
    window when the schedule gives both visits' days, else today."""
    visits = definition.schedule.visits if definition else []
    names = [visit.name for visit in visits]
    if period not in names:
        return today
    index = names.index(period)
    current = visits[index]
    following = next((visit for visit in visits[index + 1 :] if visit.day is not None), None)
    if current.day is None or following is None or following.day is None:
        return today
    return today + timedelta(days=max(0, following.day + following.window_after - current.day))


def allocated(dbsession: Session, subject: Subject) -> list[tuple[Kit, KitType]]:
    return kits_with_types(
        dbsession,
        Kit.subject_id == subject.id,
        Kit.state == KitState.ALLOCATED,
        order_by=(Kit.allocated_at,),
    )


def allocate(
    dbsession: Session,
    study: Study,
    definition: Definition | None,
    subject: Subject,
    period: str,
    actor: Actor,
) -> tuple[Kit, bool]:
    """Allocate to ``subject`` for ``period`` a kit of its arm's type at its site: (the kit,
    whether it was allocated now). Never an expired kit, nor one expiring before the end of
    the next visit's window; a second request for the same period returns the first kit. A
    test randomisation takes test kits, a live one production kits."""
    if period not in periods(definition):
        raise Refused(_("Choose one of the options offered."))
    dbsession.scalar(select(Subject.id).where(Subject.id == subject.id).with_for_update())
    earlier = dbsession.scalar(
        select(Kit).where(
            Kit.subject_id == subject.id,
            Kit.period == period,
            Kit.state == KitState.ALLOCATED,
        )
    )
    if earlier is not None:
        return earlier, False
    arm, _blinded = subject_arm(dbsession, subject)
    design = kits_design(dbsession, study.id)
    if arm is None or design is None:
        raise Refused(_("The subject is not randomised: no kit can be allocated yet."))
    kind_id = dbsession.scalar(
        select(KitMapping.kit_type_id).where(
            KitMapping.study_id == study.id, KitMapping.arm == arm, KitMapping.period == period
        )
    )
    if kind_id is None:
        raise Refused(_("No kit type is given at this visit."))
    limit = needed_until(definition, period, study_today(study))
    kit = dbsession.scalar(
        select(Kit)
        .where(
            Kit.site_id == subject.site_id,
            Kit.kit_type_id == kind_id,
            Kit.state == KitState.AVAILABLE,
            Kit.environment == design.environment,
            Kit.expiry > limit,
        )
        .order_by(Kit.expiry, Kit.number)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if kit is None:
        raise Refused(
            _("The site has no kit that can be given now: ask for a shipment, then try again.")
        )
    move(dbsession, kit, KitState.ALLOCATED, actor, subject=subject)
    kit.subject_id, kit.period, kit.allocated_at = subject.id, period, _now()
    dbsession.flush()
    return kit, True


def take_back(
    dbsession: Session,
    kit: Kit,
    subject: Subject,
    new: KitState,
    reason: str,
    actor: Actor,
) -> None:
    """Deallocate a subject's kit with a reason: back to the site's stock, or invalid."""
    if kit.state is not KitState.ALLOCATED or kit.subject_id != subject.id:
        raise Refused(_("This kit is not allocated to this subject."))
    if new not in {KitState.AVAILABLE, KitState.INVALID}:
        raise Refused(_("Choose one of the options offered."))
    _deallocate(dbsession, kit, subject, new, reason, actor)
    dbsession.flush()


def _deallocate(
    dbsession: Session, kit: Kit, subject: Subject, new: KitState, reason: str, actor: Actor
) -> None:
    move(dbsession, kit, new, actor, reason=reason, subject=subject)
    kit.subject_id = kit.period = kit.allocated_at = None


def set_aside_for_error(
    dbsession: Session, subject: Subject, randomisation: Randomisation, reason: str, actor: Actor
) -> list[Kit]:
    """The kits allocated to ``subject`` under a randomisation now marked in error are made
    invalid, with the reason. Nothing records whether a kit left the pharmacy, and one that
    did is with the subject: back in stock it could be given to a second subject, so a
    pharmacist sets it aside rather than trusting the shelf."""
    if not _kits_follow(dbsession, randomisation):
        return []
    found = [kit for kit, _kind in allocated(dbsession, subject)]
    why = f"randomisation {randomisation.number} in error: {reason}"
    for kit in found:
        _deallocate(dbsession, kit, subject, KitState.INVALID, why, actor)
    dbsession.flush()
    return found


def reveal_kit_types(
    dbsession: Session, subject: Subject, randomisation: Randomisation, reason: str, actor: Actor
) -> list[tuple[Kit, KitType]]:
    """The subject's kits with their types, for an emergency unblinding of the randomisation
    the kit types follow (another one's tells nothing of them); recorded with the kits'
    numbers and the reason."""
    if not _kits_follow(dbsession, randomisation):
        return []
    found = allocated(dbsession, subject)
    if found:
        audit.record_subject(
            dbsession,
            actor,
            subject,
            action="kits.types_revealed",
            entity_type="subject",
            entity_id=subject.id,
            field="kit types",
            new=", ".join(kit.number for kit, _kind in found),
            reason=reason,
        )
    return found


def allocate_at_randomisation(
    dbsession: Session, study: Study, subject: Subject, actor: Actor
) -> Kit | None:
    """The kit given as a subject is randomised, when a kit type is mapped to that period and
    the site has one (else None: the subject's page offers to allocate it later)."""
    try:
        kit, _made = allocate(dbsession, study, None, subject, AT_RANDOMISATION, actor)
    except Refused:
        return None
    return kit
