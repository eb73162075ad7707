"""The randomisations' subject-level columns in exports (a reaction to
:class:`datacapt.exports.events.SubjectColumnsAsked`).

Per design, named ``randomisation.<key>.<what>``: the number, the date (ISO 8601, UTC), the
stratum, the list (test or production) and whether it is in error, for every exporter; the arm
— and, for a split-body design, what each zone's product is — only when the exporter may see
allocations or the design is open-label, the same rule as the pages. A split-body design's
zone → product code is exported to everyone, as blinded site staff see it on the casebook.
Each subject's current randomisation under each design (that of its list's environment)."""

from __future__ import annotations

from sqlalchemy import select

from datacapt.exports.events import SubjectColumns, SubjectColumnsAsked
from datacapt.models import Randomisation, Site, Subject
from datacapt.randomisation.services import designs_of

PREFIX = "randomisation"


def subject_columns(event: SubjectColumnsAsked) -> None:
    dbsession = event.dbsession
    designs = designs_of(dbsession, event.study)
    if not designs:
        return
    statement = (
        select(Randomisation, Subject.label, Site.code)
        .join(Subject, Subject.id == Randomisation.subject_id)
        .join(Site, Site.id == Randomisation.site_id)
        .where(Randomisation.study_id == event.study.id)
        .order_by(Randomisation.id)
    )
    if event.sites:
        statement = statement.where(Site.code.in_(event.sites))
    if event.subjects:
        statement = statement.where(Subject.label.in_(event.subjects))
    found = dbsession.execute(statement).all()
    for design in designs:
        sees = event.allocations or not design.blinded
        base = f"{PREFIX}.{design.key}"
        names = [f"{base}.number", f"{base}.date", f"{base}.stratum", f"{base}.list"]
        names.append(f"{base}.in_error")
        what = design.name or design.key
        descriptions = [
            f"{what}: randomisation number",
            f"{what}: randomised at (UTC)",
            f"{what}: stratum",
            f"{what}: list (test or production)",
            f"{what}: marked in error",
        ]
        zones = [zone["code"] for zone in design.zones or []]
        labels = {arm["code"]: arm["label"] for arm in design.arms}
        if design.method.split_body:
            for zone in design.zones or []:
                names.append(f"{base}.zone.{zone['code']}")
                descriptions.append(f"{what}: product code on {zone['label']}")
                if sees:
                    names.append(f"{base}.zone.{zone['code']}.product")
                    descriptions.append(f"{what}: product on {zone['label']}")
        elif sees:
            names += [f"{base}.arm", f"{base}.arm_label"]
            descriptions += [f"{what}: arm", f"{what}: arm's label"]
        rows: dict[str, tuple[str, list[object]]] = {}
        for randomisation, label, site in found:
            if randomisation.design_id != design.id:
                continue
            if randomisation.environment != design.environment:
                continue
            cells: list[object] = [
                randomisation.number,
                randomisation.randomised_at.isoformat(),
                randomisation.stratum,
                randomisation.environment.value,
                "1" if randomisation.in_error else "0",
            ]
            if design.method.split_body:
                products = randomisation.arm.split(",")
                for position, _zone in enumerate(zones):
                    product = products[position] if position < len(products) else None
                    cells.append(product)
                    if sees:
                        cells.append(labels.get(product or "", product))
            elif sees:
                cells += [randomisation.arm, labels.get(randomisation.arm, randomisation.arm)]
            rows[label] = (site, cells)
        event.found.append(SubjectColumns(names, descriptions, rows))
