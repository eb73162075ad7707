"""A study's randomisation: its design, its lists (test and production) and the subjects'
randomisations.

A design has a ``revision``, raised by every change: list slots belong to one revision, so a
changed design leaves its old lists behind rather than deleting what a test randomisation used.
A randomisation is never updated except to mark it in error; its slot stays taken for ever."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class RandomisationMethod(enum.StrEnum):
    SIMPLE = "simple"  # a list drawn subject by subject with the ratio's probabilities
    BLOCKS = "blocks"  # a list of permuted blocks
    STRATIFIED = "stratified"  # one list of permuted blocks per stratum
    EFRON = "efron"  # Efron's biased coin, decided at randomisation
    MINIMISATION = "minimisation"  # Pocock–Simon, decided at randomisation
    #: Split-body (side-by-side): each subject's zones get the products, one per zone.
    LATIN_SQUARE = "latin_square"  # a random Latin square per block of as many subjects
    PERMUTATIONS = "permutations"  # every order of the products once per block, shuffled

    @property
    def uses_list(self) -> bool:
        return self in {
            self.SIMPLE,
            self.BLOCKS,
            self.STRATIFIED,
            self.LATIN_SQUARE,
            self.PERMUTATIONS,
        }

    @property
    def split_body(self) -> bool:
        """Products allocated to body zones of each subject, not an arm per subject."""
        return self in {self.LATIN_SQUARE, self.PERMUTATIONS}


class Environment(enum.StrEnum):
    TEST = "test"  # before go-live: trying the workflow out
    PRODUCTION = "production"


class RandomisationDesign(Base):
    """One of a study's randomisations (a main one, a sub-study's, a split-body allocation...),
    named within the study by ``key``."""

    __tablename__ = "randomisation_design"
    __table_args__ = (
        UniqueConstraint("study_id", "key"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    #: The randomisation's code within the study (``main``, ``skin``): columns are named by it.
    key: Mapped[str] = mapped_column(String(40), default="main", server_default="main")
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    revision: Mapped[int] = mapped_column(default=1)
    method: Mapped[RandomisationMethod] = mapped_column(
        string_enum(RandomisationMethod, "randomisation_method", 20)
    )
    #: ``[{"code": "A", "label": "Placebo", "ratio": 1}, ...]``; the products of a split-body
    #: design (their codes are what blinded staff see, their labels what they are).
    arms: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: Split-body: the body zones, in order (``[{"code": "L", "label": "Left cheek"}, ...]``).
    zones: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    block_sizes: Mapped[list[int]] = mapped_column(JSON, default=list)
    by_site: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Names of eCRF items with choices whose value stratifies (or is a minimisation factor).
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Minimisation: one weight per factor (the site first when ``by_site``), measure and p.
    weights: Mapped[list[float]] = mapped_column(JSON, default=list)
    measure: Mapped[str] = mapped_column(String(10), default="range")
    p: Mapped[float] = mapped_column(Float, default=0.8)
    #: Places generated per stratum.
    list_length: Mapped[int] = mapped_column(default=100)
    #: Double-blind: only holders of ``VIEW_ALLOCATION`` see arms; open-label: whoever sees
    #: the subject does.
    blinded: Mapped[bool] = mapped_column(default=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    live_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())

    @property
    def environment(self) -> Environment:
        return Environment.PRODUCTION if self.live_at else Environment.TEST

    def assignment(self, arm: str) -> list[tuple[dict[str, Any], str]]:
        """A split-body allocation (``arm`` holds the products' codes in zone order, joined by
        commas) as (zone, product code) pairs; empty for an arm."""
        if not self.method.split_body:
            return []
        return list(zip(self.zones or [], arm.split(","), strict=False))


class RandomisationSlot(Base):
    """One place of a list: a stratum's ``position``-th subject gets ``arm`` and ``number``."""

    __tablename__ = "randomisation_slot"
    __table_args__ = (
        UniqueConstraint("design_id", "revision", "environment", "stratum", "position"),
        UniqueConstraint("design_id", "revision", "environment", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    design_id: Mapped[int] = mapped_column(ForeignKey("randomisation_design.id"))
    revision: Mapped[int] = mapped_column()
    environment: Mapped[Environment] = mapped_column(
        string_enum(Environment, "randomisation_environment", 12)
    )
    stratum: Mapped[str] = mapped_column(String(400), default="")
    position: Mapped[int] = mapped_column()
    number: Mapped[str] = mapped_column(String(40))
    #: An arm's code, or a split-body allocation: products' codes in zone order, "P2,P1".
    arm: Mapped[str] = mapped_column(String(400))
    block: Mapped[int | None] = mapped_column()
    block_size: Mapped[int | None] = mapped_column()
    imported: Mapped[bool] = mapped_column(default=False, server_default=false())


class Randomisation(Base):
    """A subject's randomisation: one per design, subject and environment, never two."""

    __tablename__ = "randomisation"
    __table_args__ = (
        UniqueConstraint("design_id", "subject_id", "environment"),
        UniqueConstraint("slot_id"),
        UniqueConstraint("design_id", "revision", "environment", "number"),
        Index("ix_randomisation_study_id_environment", "study_id", "environment"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    design_id: Mapped[int] = mapped_column(ForeignKey("randomisation_design.id"))
    revision: Mapped[int] = mapped_column()
    environment: Mapped[Environment] = mapped_column(
        string_enum(Environment, "randomisation_environment", 12)
    )
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("randomisation_slot.id"))
    number: Mapped[str] = mapped_column(String(40))
    arm: Mapped[str] = mapped_column(String(400))
    stratum: Mapped[str] = mapped_column(String(400), default="")
    #: The factor levels it was randomised with (``{"site": "par01", "sex": "F"}``).
    levels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    randomised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    randomised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    in_error: Mapped[bool] = mapped_column(default=False, server_default=false())
    error_reason: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: Emergency unblinding: the first time the arm was revealed to a blinded person (each
    #: reveal is audited); the subject's page shows the mark to everyone, never the arm.
    unblinded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unblinded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    unblind_reason: Mapped[str | None] = mapped_column(Text)
