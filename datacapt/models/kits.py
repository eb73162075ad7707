"""Clinical supplies: a tenant's product catalogue (products and their batches), a study's kit
types mapped to arms × periods, its kits, shipments from the depot to sites, and each site's
resupply levels.

A kit is at the depot while ``site_id`` is None. Its state changes only along
:data:`datacapt.kits.states.TRANSITIONS`; the subject and visit are set only while it is
allocated, and one subject's visit holds one kit at most (a unique constraint: a second click
cannot allocate a second kit)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.randomisation import Environment
from datacapt.models.types import UTCDateTime, string_enum


class ProductType(enum.StrEnum):
    INVESTIGATIONAL = "investigational"
    COMPARATOR = "comparator"
    PLACEBO = "placebo"
    COSMETIC = "cosmetic"  # a tested cosmetic product
    OTHER = "other"


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[ProductType] = mapped_column(string_enum(ProductType, "product_type", 20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class ProductBatch(Base):
    __tablename__ = "product_batch"
    __table_args__ = (UniqueConstraint("product_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    number: Mapped[str] = mapped_column(String(60))
    expiry: Mapped[date] = mapped_column(Date)


class KitType(Base):
    """What a kit holds (a product of the catalogue), under a code the kit list uses."""

    __tablename__ = "kit_type"
    __table_args__ = (
        UniqueConstraint("study_id", "code"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))


class KitMapping(Base):
    """Which kit type a subject of ``arm`` receives in ``period`` (a visit's name, or
    :data:`AT_RANDOMISATION`): one kit type per arm and period."""

    __tablename__ = "kit_mapping"
    __table_args__ = (UniqueConstraint("study_id", "arm", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    kit_type_id: Mapped[int] = mapped_column(ForeignKey("kit_type.id"))
    arm: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(100))


#: The period of a kit allocated as the subject is randomised.
AT_RANDOMISATION = "@randomisation"


class KitState(enum.StrEnum):
    IN_TRANSFER = "in_transfer"
    RECEIVED = "received"
    AVAILABLE = "available"
    ALLOCATED = "allocated"
    INVALID = "invalid"


class ShipmentState(enum.StrEnum):
    PROPOSED = "proposed"  # kits set aside at the depot, not sent yet
    SHIPPED = "shipped"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class Shipment(Base):
    __tablename__ = "shipment"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_shipment_site_id_state", "site_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column(index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    state: Mapped[ShipmentState] = mapped_column(string_enum(ShipmentState, "shipment_state", 12))
    #: Proposed by the daily resupply job rather than by a person.
    automatic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Kit(Base):
    __tablename__ = "kit"
    __table_args__ = (
        UniqueConstraint("study_id", "number"),
        UniqueConstraint("subject_id", "period"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_kit_study_id_site_id_state", "study_id", "site_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    number: Mapped[str] = mapped_column(String(40))
    kit_type_id: Mapped[int] = mapped_column(ForeignKey("kit_type.id"))
    batch: Mapped[str] = mapped_column(String(60))
    expiry: Mapped[date] = mapped_column(Date)
    #: None: at the depot.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    state: Mapped[KitState] = mapped_column(string_enum(KitState, "kit_state", 12))
    #: The list it came in: test kits serve test randomisations only, production kits the
    #: randomisations once live (as randomisation's own test and production lists).
    environment: Mapped[Environment] = mapped_column(
        string_enum(Environment, "kit_environment", 12)
    )
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"), index=True)
    #: While allocated: the subject and the period (visit) it was allocated for.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    period: Mapped[str | None] = mapped_column(String(100))
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it was made invalid (missing, damaged, expired...).
    reason: Mapped[str | None] = mapped_column(Text)


class SupplyLevel(Base):
    """Resupply: below ``minimum`` available kits of a type, a site is sent up to ``maximum``."""

    __tablename__ = "supply_level"
    __table_args__ = (UniqueConstraint("site_id", "kit_type_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    kit_type_id: Mapped[int] = mapped_column(ForeignKey("kit_type.id"))
    minimum: Mapped[int] = mapped_column()
    maximum: Mapped[int] = mapped_column()
