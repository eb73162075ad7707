"""Subject IDs carry nothing about the person: a pattern may name only the site code and a
sequence number, and the site only when the study's pattern says so explicitly; no initials,
birth date or name can be asked for."""

from __future__ import annotations

import pytest

from datacapt.studies.services import check_pattern, create_site, create_study, create_tenant
from datacapt.subjects.services import enrol
from datacapt.validation import ValidationError
from tests.factories import SETUP


@pytest.mark.parametrize(
    "pattern",
    [
        "{site}-{initials}",
        "{initials}{seq:03}",
        "{birth_date}-{seq}",
        "{dob}{seq}",
        "{name}-{seq:04}",
        "{site}{year}{seq}",
        "{seq}{0}",
        "{seq!r}",
    ],
)
def test_a_pattern_can_ask_for_nothing_but_site_and_sequence(pattern):
    with pytest.raises(ValidationError):
        check_pattern(pattern)


def test_without_site_in_the_pattern_ids_do_not_tell_the_site(dbsession):
    tenant = create_tenant(dbsession, "patt", "Patterns")
    study = create_study(dbsession, tenant, "blind", "Blind IDs", subject_id_pattern="S{seq:05}")
    site = create_site(dbsession, study, "par01", "Paris")
    first = enrol(dbsession, study, site, None, actor=SETUP)
    second = enrol(dbsession, study, site, None, actor=SETUP)
    assert (first.label, second.label) == ("S00001", "S00002")
    assert "par01" not in first.label.lower()
    # and a typed ID naming the site is refused: it does not follow the study's pattern
    with pytest.raises(ValidationError):
        enrol(dbsession, study, site, "par01-0003", actor=SETUP)


def test_the_site_appears_only_because_the_pattern_names_it(dbsession):
    tenant = create_tenant(dbsession, "patt2", "Patterns")
    study = create_study(
        dbsession, tenant, "sited", "Sited IDs", subject_id_pattern="{site}-{seq:04}"
    )
    site = create_site(dbsession, study, "ber01", "Berlin")
    assert enrol(dbsession, study, site, None, actor=SETUP).label == "ber01-0001"
