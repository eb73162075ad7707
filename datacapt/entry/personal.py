"""Personal-data values still in plain text: found and sealed (``datacapt keys seal-items``).

Values saved before sealing existed, or saved while their item was not yet flagged as personal
data in the study's design, are stored in plain text. An item counts as personal data when any
version of its study's design flags it: once an item was personal, its values stay sealed.
Sealing needs the encryption keys, which a migration script does not hold, so ``datacapt db
upgrade`` runs this after migrating and ``datacapt check`` fails while any value is left.
"""

from __future__ import annotations

from pyramid.registry import Registry
from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from datacapt import personal_values
from datacapt.ecrf.definition import from_json
from datacapt.models import FormInstance, ItemValue, StudyVersion

BATCH = 500


def personal_items(dbsession: Session) -> dict[int, set[str]]:
    """The OIDs of the items any version of each study flags as personal data, by study id."""
    found: dict[int, set[str]] = {}
    for study_id, document in dbsession.execute(
        select(StudyVersion.study_id, StudyVersion.definition)
    ):
        oids = {item.oid for _form, item in from_json(document).items() if item.identifier}
        if oids:
            found.setdefault(study_id, set()).update(oids)
    return found


def _plain(items: dict[int, set[str]]) -> ColumnElement[bool]:
    """Rows holding a personal-data value in plain text."""
    if not items:
        return false()
    return ItemValue.value.is_not(None) & or_(
        *(
            (FormInstance.study_id == study_id) & ItemValue.item_oid.in_(sorted(oids))
            for study_id, oids in items.items()
        )
    )


def count_plain(dbsession: Session) -> int:
    """How many personal-data values are stored in plain text."""
    return dbsession.scalar(
        select(func.count())
        .select_from(ItemValue)
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .where(_plain(personal_items(dbsession)))
    )


def seal_plain(registry: Registry, dbsession: Session) -> int:
    """Seal every personal-data value stored in plain text (their typed copies cleared); the
    number sealed. Batches of :data:`BATCH` rows."""
    condition = _plain(personal_items(dbsession))
    count = 0
    while True:
        found = dbsession.execute(
            select(ItemValue, FormInstance.subject_id)
            .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
            .where(condition)
            .order_by(ItemValue.id)
            .limit(BATCH)
        ).all()
        if not found:
            return count
        rows = [(row, subject_id) for row, subject_id in found]
        personal_values.reseal(dbsession, registry, rows, [row.value for row, _s in rows])
        dbsession.expire_all()
        count += len(rows)
