"""A study's randomisation: design, lists, go-live, randomising a subject, marking in error.

Concealment rules kept here: the audit trail records randomisation numbers, never arms (its
readers may be blind); the seed never leaves the design row. A subject is randomised under a
lock on the design (the balance must see every earlier randomisation) and on the subject (a
double click finds the first randomisation and returns it: never two).
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pyramid.i18n import TranslationString
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.ecrf.definition import Definition, Form, Item
from datacapt.i18n import _
from datacapt.models import (
    Environment,
    FormInstance,
    FormStatus,
    ItemValue,
    Randomisation,
    RandomisationDesign,
    RandomisationMethod,
    RandomisationSlot,
    Site,
    Study,
    Subject,
)
from datacapt.randomisation import split_body
from datacapt.randomisation.events import (
    RandomisationMarkedInError,
    Revealed,
    SubjectRandomised,
    SubjectUnblinded,
)
from datacapt.randomisation.lists import LineError, ListRefused, ListRow
from datacapt.randomisation.methods import Arms, block_list, efron, simple, stratum_rng
from datacapt.randomisation.minimisation import MarginCounts, Minimisation, minimise
from datacapt.reactions import Reactions

SITE = "site"


class Refused(ValueError):
    """The act cannot be done now; ``message`` tells the person why."""

    def __init__(self, message: TranslationString) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class DesignInput:
    """A design as the form gives it, checked (see :mod:`datacapt.randomisation.forms`)."""

    method: RandomisationMethod
    arms: list[dict[str, object]]
    block_sizes: list[int]
    by_site: bool
    items: list[str]
    weights: list[float]
    measure: str
    p: float
    list_length: int
    blinded: bool
    key: str = "main"
    name: str = ""
    #: Split-body designs: the body zones in order (``{"code": "L", "label": "Left cheek"}``).
    zones: list[dict[str, object]] | None = None


def designs_of(dbsession: Session, study: Study) -> list[RandomisationDesign]:
    """The study's randomisations, in the order they were first saved."""
    return list(
        dbsession.scalars(
            select(RandomisationDesign)
            .where(RandomisationDesign.study_id == study.id)
            .order_by(RandomisationDesign.id)
        )
    )


def design_of(
    dbsession: Session, study: Study, *, key: str | None = None, lock: bool = False
) -> RandomisationDesign | None:
    """The study's randomisation named ``key``, or its first one when ``key`` is None."""
    statement = (
        select(RandomisationDesign)
        .where(RandomisationDesign.study_id == study.id)
        .order_by(RandomisationDesign.id)
        .limit(1)
    )
    if key is not None:
        statement = statement.where(RandomisationDesign.key == key)
    return dbsession.scalar(statement.with_for_update() if lock else statement)


def arms_of(design: RandomisationDesign) -> Arms:
    return Arms.of([arm["code"] for arm in design.arms], [arm["ratio"] for arm in design.arms])


def factors(design: RandomisationDesign) -> list[str]:
    """The factors a subject's levels are read for: the site first, then the items."""
    return ([SITE] if design.by_site else []) + list(design.items)


def stratum_key(design: RandomisationDesign, levels: dict[str, str]) -> str:
    """The list a subject takes a place from: their stratum's, or the one list ``""``."""
    if design.method is not RandomisationMethod.STRATIFIED:
        return ""
    return "|".join(f"{factor}={levels[factor]}" for factor in factors(design))


def save_design(
    dbsession: Session, study: Study, given: DesignInput, actor: Actor
) -> RandomisationDesign:
    """Create or change the design; refused once live. Each change is a new revision, whose
    lists start empty (the old ones stay with the test randomisations that used them)."""
    design = design_of(dbsession, study, key=given.key, lock=True)
    if design is not None and design.live_at is not None:
        raise Refused(_("The randomisation is live: its design can no longer change."))
    if design is None:
        design = RandomisationDesign(
            tenant_id=study.tenant_id, study_id=study.id, revision=0, seed=secrets.randbits(62)
        )
        dbsession.add(design)
    design.revision += 1
    for name, value in vars(given).items():
        setattr(design, name, value)
    design.updated_at = datetime.now(UTC)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="randomisation.design_saved",
        entity_type="randomisation_design",
        entity_id=design.id,
        field="revision",
        new=f"{design.key} {design.revision} ({design.method.value})",
    )
    return design


def strata(design: RandomisationDesign, sites: Sequence[Site], definition: Definition) -> list[str]:
    """Every stratum of a stratified design (sites × the items' choices), else the one ``""``."""
    if design.method is not RandomisationMethod.STRATIFIED:
        return [""]
    levels: list[list[str]] = []
    for factor in factors(design):
        if factor == SITE:
            levels.append([site.code for site in sites])
        else:
            item = definition.item(factor)
            levels.append([choice.code for choice in item.choices] if item else [])
    names = factors(design)
    return [
        "|".join(f"{name}={level}" for name, level in zip(names, combination, strict=True))
        for combination in itertools.product(*levels)
    ]


def _prefix(environment: Environment) -> str:
    return "T-" if environment is Environment.TEST else ""


def _slots(
    dbsession: Session, design: RandomisationDesign, environment: Environment
) -> Counter[str]:
    return Counter(
        dict(
            dbsession.execute(
                select(RandomisationSlot.stratum, func.count())
                .where(
                    RandomisationSlot.design_id == design.id,
                    RandomisationSlot.revision == design.revision,
                    RandomisationSlot.environment == environment,
                )
                .group_by(RandomisationSlot.stratum)
            ).all()
        )
    )


def generate_lists(
    dbsession: Session,
    design: RandomisationDesign,
    sites: Sequence[Site],
    definition: Definition,
    actor: Actor,
) -> int:
    """Generate, for both environments, the list of each stratum that has none yet. A stratum's
    list is a function of (seed, environment, stratum) alone, so one generated later (a site
    opened since) is the one it would have been at first. Returns the places added."""
    if not design.method.uses_list:
        raise Refused(_("This method decides each arm at randomisation: it has no list."))
    arms = arms_of(design)
    added = 0
    for environment in Environment:
        existing = _slots(dbsession, design, environment)
        number = sum(existing.values())
        for stratum in strata(design, sites, definition):
            if existing[stratum]:
                continue
            rng = stratum_rng(f"{design.seed}/{environment.value}", stratum)
            if design.method.split_body:
                drawn = [
                    (place.arm, place.block, place.block_size)
                    for place in split_body.allocation_list(
                        rng,
                        design.method.value,
                        [arm["code"] for arm in design.arms],
                        len(design.zones or []),
                        design.list_length,
                    )
                ]
            elif design.method is RandomisationMethod.SIMPLE:
                drawn = [(arm, None, None) for arm in simple(rng, arms, design.list_length)]
            else:
                drawn = [
                    (slot.arm, slot.block, slot.block_size)
                    for slot in block_list(rng, arms, design.block_sizes, design.list_length)
                ]
            for position, (arm, block, size) in enumerate(drawn, start=1):
                number += 1
                dbsession.add(
                    RandomisationSlot(
                        tenant_id=design.tenant_id,
                        design_id=design.id,
                        revision=design.revision,
                        environment=environment,
                        stratum=stratum,
                        position=position,
                        number=f"{_prefix(environment)}{number:04d}",
                        arm=arm,
                        block=block,
                        block_size=size,
                    )
                )
            added += len(drawn)
    dbsession.flush()
    if added:
        audit.record(
            dbsession,
            actor,
            tenant_id=design.tenant_id,
            study_id=design.study_id,
            action="randomisation.lists_generated",
            entity_type="randomisation_design",
            entity_id=design.id,
            field="places",
            new=added,
        )
    return added


def import_list(
    dbsession: Session,
    design: RandomisationDesign,
    environment: Environment,
    rows: list[ListRow],
    known_strata: Sequence[str],
    actor: Actor,
) -> int:
    """Replace the list of ``environment`` with ``rows`` (refused when a subject was already
    randomised from it, or a row names a stratum the design does not have)."""
    if not design.method.uses_list:
        raise Refused(_("This method decides each arm at randomisation: it has no list."))
    if environment is Environment.PRODUCTION and design.live_at is not None:
        raise Refused(_("The randomisation is live: its production list can no longer change."))
    if _used(dbsession, design, environment):
        raise Refused(_("Subjects were randomised from this list: it can no longer change."))
    if design.method is RandomisationMethod.STRATIFIED:
        allowed = set(known_strata)
        errors = [
            LineError(
                row.line,
                _(
                    "Unknown stratum “${stratum}”: write it as ${example}.",
                    mapping={"stratum": row.stratum, "example": known_strata[0]},
                ),
            )
            for row in rows
            if row.stratum not in allowed
        ]
        if errors:
            raise ListRefused(errors)
    dbsession.query(RandomisationSlot).filter(
        RandomisationSlot.design_id == design.id,
        RandomisationSlot.revision == design.revision,
        RandomisationSlot.environment == environment,
    ).delete(synchronize_session=False)
    positions: Counter[str] = Counter()
    for row in rows:
        positions[row.stratum] += 1
        dbsession.add(
            RandomisationSlot(
                tenant_id=design.tenant_id,
                design_id=design.id,
                revision=design.revision,
                environment=environment,
                stratum=row.stratum,
                position=positions[row.stratum],
                number=row.number,
                arm=row.arm,
                imported=True,
            )
        )
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=design.tenant_id,
        study_id=design.study_id,
        action="randomisation.list_imported",
        entity_type="randomisation_design",
        entity_id=design.id,
        field=environment.value,
        new=len(rows),
    )
    return len(rows)


def _used(dbsession: Session, design: RandomisationDesign, environment: Environment) -> bool:
    return bool(
        dbsession.scalar(
            select(
                exists().where(
                    Randomisation.design_id == design.id,
                    Randomisation.revision == design.revision,
                    Randomisation.environment == environment,
                )
            )
        )
    )


def list_summary(
    dbsession: Session, design: RandomisationDesign
) -> dict[Environment, tuple[int, int]]:
    """Per environment: places in the current revision's list, and places taken."""
    rows = dbsession.execute(
        select(RandomisationSlot.environment, func.count(), func.count(Randomisation.id))
        .outerjoin(Randomisation, Randomisation.slot_id == RandomisationSlot.id)
        .where(
            RandomisationSlot.design_id == design.id,
            RandomisationSlot.revision == design.revision,
        )
        .group_by(RandomisationSlot.environment)
    ).all()
    found = {environment: (total, used) for environment, total, used in rows}
    return {environment: found.get(environment, (0, 0)) for environment in Environment}


def list_rows(
    dbsession: Session, design: RandomisationDesign, environment: Environment
) -> list[tuple[RandomisationSlot, str | None]]:
    """The current list of ``environment`` in order, each place with the subject who took it."""
    return [
        (slot, label)
        for slot, label in dbsession.execute(
            select(RandomisationSlot, Subject.label)
            .outerjoin(Randomisation, Randomisation.slot_id == RandomisationSlot.id)
            .outerjoin(Subject, Subject.id == Randomisation.subject_id)
            .where(
                RandomisationSlot.design_id == design.id,
                RandomisationSlot.revision == design.revision,
                RandomisationSlot.environment == environment,
            )
            .order_by(RandomisationSlot.stratum, RandomisationSlot.position)
        ).all()
    ]


def go_live(dbsession: Session, design: RandomisationDesign, actor: Actor) -> None:
    """Swap the test list out: from now on subjects are randomised in production."""
    if design.live_at is not None:
        raise Refused(_("The randomisation is live already."))
    if design.method.uses_list and not list_summary(dbsession, design)[Environment.PRODUCTION][0]:
        raise Refused(_("Generate or import the production list first."))
    design.live_at = datetime.now(UTC)
    audit.record(
        dbsession,
        actor,
        tenant_id=design.tenant_id,
        study_id=design.study_id,
        action="randomisation.live",
        entity_type="randomisation_design",
        entity_id=design.id,
        field="environment",
        old=Environment.TEST.value,
        new=Environment.PRODUCTION.value,
    )


@dataclass(frozen=True)
class Missing:
    """A stratification item without a value, or whose form is not complete (``item`` None:
    the published design no longer has it)."""

    name: str
    item: Item | None
    form: Form | None


class Incomplete(Refused):
    """Randomising waits for the stratification items listed in ``missing``."""

    def __init__(self, missing: list[Missing]) -> None:
        super().__init__(
            _("Randomising needs every stratification item answered on a complete form.")
        )
        self.missing = missing


def subject_levels(
    dbsession: Session,
    design: RandomisationDesign,
    definition: Definition,
    subject: Subject,
    site: Site,
) -> tuple[dict[str, str], list[Missing]]:
    """The subject's level of every factor, read from the first visit holding each item's form,
    which must be complete; and what is missing."""
    levels: dict[str, str] = {}
    missing: list[Missing] = []
    if design.by_site:
        levels[SITE] = site.code
    wanted: dict[str, tuple[Item, Form, str]] = {}
    for form, item in definition.items():
        if item.name in design.items:
            visit = next((v.name for v in definition.schedule.visits if form.name in v.forms), None)
            wanted[item.name] = (item, form, visit or "")
    found = {
        (form, item_oid): (status, value)
        for form, item_oid, status, value in dbsession.execute(
            select(FormInstance.form, ItemValue.item_oid, FormInstance.status, ItemValue.value)
            .join(ItemValue, ItemValue.form_instance_id == FormInstance.id)
            .where(
                FormInstance.subject_id == subject.id,
                FormInstance.visit.in_({visit for _i, _f, visit in wanted.values()}),
                FormInstance.visit_repeat == 1,
                FormInstance.repeat == 1,
                ItemValue.item_oid.in_({item.oid for item, _f, _v in wanted.values()}),
            )
        ).all()
    }
    for name in design.items:
        if name not in wanted:
            missing.append(Missing(name, None, None))
            continue
        item, form, _visit = wanted[name]
        status, value = found.get((form.name, item.oid), (None, None))
        if status is not FormStatus.COMPLETE or not value:
            missing.append(Missing(name, item, form))
        else:
            levels[name] = value
    return levels, missing


def current(
    dbsession: Session, design: RandomisationDesign, subject: Subject
) -> Randomisation | None:
    return dbsession.scalar(
        select(Randomisation).where(
            Randomisation.design_id == design.id,
            Randomisation.subject_id == subject.id,
            Randomisation.environment == design.environment,
        )
    )


def subject_randomisations(
    dbsession: Session, designs: Sequence[RandomisationDesign], subject: Subject
) -> dict[int, Randomisation]:
    """The subject's current randomisation under each design (by design id), in one query."""
    if not designs:
        return {}
    live = {design.id: design.environment for design in designs}
    return {
        found.design_id: found
        for found in dbsession.scalars(
            select(Randomisation).where(
                Randomisation.subject_id == subject.id,
                Randomisation.design_id.in_(live),
            )
        )
        if live[found.design_id] == found.environment
    }


def randomise(
    dbsession: Session,
    reactions: Reactions,
    study: Study,
    definition: Definition,
    subject: Subject,
    site: Site,
    actor: Actor,
    key: str | None = None,
) -> tuple[Randomisation, bool]:
    """Randomise ``subject`` under the design ``key`` (the first when None): (its
    randomisation, whether it was made now). Refused until every stratification item is
    answered on a complete form, or when the list is used up."""
    design = design_of(dbsession, study, key=key, lock=True)
    if design is None:
        raise Refused(_("The study has no randomisation design."))
    dbsession.scalar(select(Subject.id).where(Subject.id == subject.id).with_for_update())
    earlier = current(dbsession, design, subject)
    if earlier is not None:
        return earlier, False
    levels, missing = subject_levels(dbsession, design, definition, subject, site)
    if missing:
        raise Incomplete(missing)
    environment = design.environment
    stratum = stratum_key(design, levels)
    slot = None
    if design.method.uses_list:
        slot = _next_slot(dbsession, design, environment, stratum)
        if slot is None:
            raise Refused(
                _(
                    "The list has no free place left for stratum ${stratum}: ask the study "
                    "administrator to generate or import more.",
                    mapping={"stratum": stratum or "—"},
                )
            )
        number, arm = slot.number, slot.arm
    else:
        number, arm = _decide(dbsession, design, environment, levels)
    randomisation = Randomisation(
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        site_id=subject.site_id,
        subject_id=subject.id,
        design_id=design.id,
        revision=design.revision,
        environment=environment,
        slot_id=slot.id if slot else None,
        number=number,
        arm=arm,
        stratum=stratum,
        levels=levels,
        randomised_at=datetime.now(UTC),
        randomised_by_id=actor.user_id,
    )
    dbsession.add(randomisation)
    dbsession.flush()
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="randomisation.randomised",
        entity_type="randomisation",
        entity_id=randomisation.id,
        field="number",
        new=f"{design.key} {number} ({environment.value})",
    )
    reactions.publish(SubjectRandomised(dbsession, actor, subject, randomisation))
    return randomisation, True


def _next_slot(
    dbsession: Session, design: RandomisationDesign, environment: Environment, stratum: str
) -> RandomisationSlot | None:
    taken = select(Randomisation.id).where(Randomisation.slot_id == RandomisationSlot.id)
    return dbsession.scalar(
        select(RandomisationSlot)
        .where(
            RandomisationSlot.design_id == design.id,
            RandomisationSlot.revision == design.revision,
            RandomisationSlot.environment == environment,
            RandomisationSlot.stratum == stratum,
            ~taken.exists(),
        )
        .order_by(RandomisationSlot.position)
        .limit(1)
    )


def _decide(
    dbsession: Session,
    design: RandomisationDesign,
    environment: Environment,
    levels: dict[str, str],
) -> tuple[str, str]:
    """Number and arm by Efron's coin or minimisation over the earlier randomisations not in
    error; the RNG is seeded by (seed, environment, number), so the choice can be re-done."""
    earlier = dbsession.execute(
        select(Randomisation.levels, Randomisation.arm, Randomisation.in_error).where(
            Randomisation.design_id == design.id,
            Randomisation.revision == design.revision,
            Randomisation.environment == environment,
        )
    ).all()
    number = f"{_prefix(environment)}{len(earlier) + 1:04d}"
    counted = [(past, arm) for past, arm, in_error in earlier if not in_error]
    rng = random.Random(f"{design.seed}/{environment.value}/{number}")
    arms = arms_of(design)
    if design.method is RandomisationMethod.EFRON:
        return number, efron(rng, arms, Counter(arm for _levels, arm in counted), design.p)
    minimisation = Minimisation(
        arms, tuple(factors(design)), tuple(design.weights), design.measure, design.p
    )
    return number, minimise(rng, minimisation, MarginCounts.of(counted), levels)


def mark_in_error(
    dbsession: Session,
    reactions: Reactions,
    randomisation: Randomisation,
    subject: Subject,
    reason: str,
    actor: Actor,
) -> None:
    """Exclude a randomisation from the balance, with a reason; its number and place stay
    taken, and the subject is not randomised again."""
    if randomisation.in_error:
        raise Refused(_("This randomisation is already marked in error."))
    randomisation.in_error = True
    randomisation.error_reason = reason
    randomisation.error_at = datetime.now(UTC)
    randomisation.error_by_id = actor.user_id
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="randomisation.marked_in_error",
        entity_type="randomisation",
        entity_id=randomisation.id,
        field="in_error",
        old=False,
        new=True,
        reason=reason,
    )
    reactions.publish(RandomisationMarkedInError(dbsession, actor, subject, randomisation))


def unblind(
    dbsession: Session,
    reactions: Reactions,
    randomisation: Randomisation,
    subject: Subject,
    reason: str,
    actor: Actor,
) -> list[Revealed]:
    """Record an emergency unblinding (the caller has checked the person's credentials): the
    first one marks the randomisation for everyone to see; every one is audited, with its
    reason and the number, never the arm. Returns what other capabilities revealed with the
    arm (:class:`~.events.SubjectUnblinded`)."""
    if randomisation.unblinded_at is None:
        randomisation.unblinded_at = datetime.now(UTC)
        randomisation.unblinded_by_id = actor.user_id
        randomisation.unblind_reason = reason
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="randomisation.unblinded",
        entity_type="randomisation",
        entity_id=randomisation.id,
        field="number",
        new=randomisation.number,
        reason=reason,
    )
    event = SubjectUnblinded(dbsession, actor, subject, randomisation, reason)
    reactions.publish(event)
    return event.revealed


def randomisations(
    dbsession: Session, study: Study, design: RandomisationDesign
) -> list[tuple[Randomisation, str, str]]:
    """The design's randomisations, newest first, with the subject's label and site code."""
    return [
        tuple(row)
        for row in dbsession.execute(
            select(Randomisation, Subject.label, Site.code)
            .join(Subject, Subject.id == Randomisation.subject_id)
            .join(Site, Site.id == Randomisation.site_id)
            .where(Randomisation.study_id == study.id, Randomisation.design_id == design.id)
            .order_by(Randomisation.randomised_at.desc(), Randomisation.id.desc())
        ).all()
    ]
