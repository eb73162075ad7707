"""Whether a rule matches an event: its study, its trigger, the item it watches, its state and
its condition (the study's expression language over the event's values)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from datacapt.automations.rules import (
    Happening,
    Trigger,
    check_condition,
    condition_holds,
    matches,
)
from datacapt.automations.services import retry_wait
from datacapt.models import AutomationRule
from datacapt.sms import masked


def rule(**fields) -> AutomationRule:
    defaults = {
        "id": 1,
        "study_id": 7,
        "trigger": Trigger.SUBJECT_INCLUDED.value,
        "item": None,
        "condition": None,
        "action": "mail_role",
        "enabled": True,
    }
    return AutomationRule(**{**defaults, **fields})


def happening(trigger=Trigger.SUBJECT_INCLUDED, **fields) -> Happening:
    values = fields.pop("values", {"site": "par01", "status": "included"})
    return Happening(trigger, 1, fields.pop("study_id", 7), "key", values=values, **fields)


def test_a_rule_matches_its_trigger_in_its_study():
    assert matches(rule(), happening())
    assert not matches(rule(), happening(Trigger.SUBJECT_EXCLUDED))
    assert not matches(rule(), happening(study_id=8))
    assert not matches(rule(enabled=False), happening())


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("[site] = 'par01'", True),
        ("[site] = 'ber01'", False),
        ("[site] = 'par01' and [status] = 'included'", True),
        ("[site] = 'par01' and not([status] = 'included')", False),
        ("", True),
        ("   ", True),
    ],
)
def test_a_condition_reads_the_events_values(condition, expected):
    assert matches(rule(condition=condition), happening()) is expected


def test_an_item_rule_fires_only_when_its_item_changed_and_its_condition_holds():
    watching = rule(
        trigger=Trigger.ITEM_ANSWERED.value, item="systolic", condition="[systolic] >= 180"
    )
    high = {"systolic": Decimal(190), "diastolic": Decimal(95), "site": "par01"}
    assert matches(
        watching, happening(Trigger.ITEM_ANSWERED, values=high, changed=frozenset({"systolic"}))
    )
    # Another item changed: the watched one did not, the rule waits.
    assert not matches(
        watching, happening(Trigger.ITEM_ANSWERED, values=high, changed=frozenset({"diastolic"}))
    )
    normal = {**high, "systolic": Decimal(120)}
    assert not matches(
        watching, happening(Trigger.ITEM_ANSWERED, values=normal, changed=frozenset({"systolic"}))
    )


def test_a_condition_that_cannot_be_evaluated_does_not_hold():
    # A blank date: no firing, no error; with the study’s today, the same function works.
    assert not condition_holds("datediff([onset], today, 'd') > 3", happening(values={}))
    assert condition_holds(
        "datediff('2026-06-01', today, 'd') = 14",
        happening(values={}, today=date(2026, 6, 15)),
    )


def test_a_condition_is_checked_when_the_rule_is_saved():
    assert check_condition("[site] = 'par01'") is None
    assert check_condition("[site] = ") is not None
    assert check_condition("import os") is not None


def test_retries_wait_twice_as_long_each_time():
    assert [retry_wait(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]


def test_a_number_is_masked_but_for_its_last_two_digits():
    assert masked("+33 6 12 34 56 78") == "•" * 9 + "78"
    assert masked("12") == "12"
