"""The demo's queries, so a newcomer meets the feature: par01-0001's demographics are entered
with a BMI that fires a warning check (an automatic query), and the monitor asks about the
height. Only done when that form was never entered, so running the demo again changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.clock import installation_today
from datacapt.ecrf import versions
from datacapt.entry import services as entry
from datacapt.models import FormInstance, Study, Subject, User
from datacapt.queries import services as queries
from datacapt.reactions import reactions_of


def ensure_demo_queries(
    dbsession: Session, env_registry: object, study: Study, coordinator: User, monitor: User
) -> None:
    subject = dbsession.scalar(
        select(Subject).where(Subject.study_id == study.id, Subject.label == "par01-0001")
    )
    design = versions.published_design(dbsession, study)
    if subject is None or design is None:
        return
    entered = dbsession.scalar(
        select(FormInstance.id).where(
            FormInstance.subject_id == subject.id, FormInstance.form == "demographics"
        )
    )
    if entered is not None:
        return
    form = next(f for f in design.definition.forms if f.name == "demographics")
    scope = entry.EntryScope(
        study=study,
        subject=subject,
        visit="screening",
        visit_repeat=1,
        form=form,
        form_repeat=1,
        version_number=design.number,
    )
    saved = entry.save_form(
        dbsession,
        scope,
        design.definition,
        entry.EntryRequest(
            {
                "sex": ["1"],
                "birth_date": ["14/03/1961"],
                "height_cm": ["158"],
                "weight_kg": ["104.0"],
            },
            {},
            False,
            "",
            None,
            installation_today(env_registry),
        ),
        missing_codes=set(),
        actor=Actor.system("demo", user_id=coordinator.id),
        reactions=reactions_of(env_registry),
    )
    assert saved.instance is not None
    queries.raise_query(
        dbsession,
        saved.instance,
        "I.HEIGHT_CM",
        "158 cm looks low next to the screening note (about 1.70 m). Please check the source.",
        Actor.system("demo", user_id=monitor.id),
    )
