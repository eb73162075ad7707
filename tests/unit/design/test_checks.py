"""What publication refuses, and why."""

from __future__ import annotations

import copy

import pytest

from datacapt.cli.demo_design import demo_definition
from datacapt.ecrf.checks import blocking, check_definition
from datacapt.ecrf.definition import Choice, Definition, ItemType, Range, Validation, Visit


def problems_of(definition):
    return {(p.where, p.field): p for p in check_definition(definition)}


def test_the_demo_design_passes():
    assert blocking(check_definition(demo_definition())) == []


def test_an_empty_design_needs_forms_and_visits():
    found = problems_of(Definition())
    assert ("", "forms") in found and ("", "schedule") in found


def change(mutate):
    definition = copy.deepcopy(demo_definition())
    mutate(definition)
    return problems_of(definition)


@pytest.mark.parametrize(
    ("mutate", "where", "field", "message"),
    [
        (lambda d: setattr(d.item("sex"), "choices", []), "I.SEX", "choices", "at least one"),
        (
            lambda d: d.item("sex").choices.append(Choice("1", {"en": "Again"})),
            "I.SEX",
            "choices",
            "own, non-empty code",
        ),
        (
            lambda d: setattr(d.item("bmi"), "calculation", None),
            "I.BMI",
            "calculation",
            "needs a calculation",
        ),
        (
            lambda d: setattr(d.item("sex"), "calculation", "1"),
            "I.SEX",
            "calculation",
            "only calculated items",
        ),
        (
            lambda d: setattr(d.item("sex"), "label", {"fr": "Sexe"}),
            "I.SEX",
            "label",
            "default language",
        ),
        (
            lambda d: setattr(d.item("height_cm"), "hard_range", Range("250", "50")),
            "I.HEIGHT_CM",
            "hard_range",
            "minimum is above",
        ),
        (
            lambda d: setattr(d.item("height_cm"), "soft_range", Range("tall", None)),
            "I.HEIGHT_CM",
            "soft_range",
            "not a valid bound",
        ),
        (
            lambda d: setattr(d.item("sex"), "soft_range", Range("1", "2")),
            "I.SEX",
            "soft_range",
            "numbers, dates and times only",
        ),
        (
            lambda d: (
                setattr(d.item("sex"), "type", ItemType.TEXT),
                setattr(d.item("sex"), "validation", Validation.REGEX),
                setattr(d.item("sex"), "pattern", "(unclosed"),
            ),
            "I.SEX",
            "pattern",
            "This pattern cannot be used: missing ): (unclosed",
        ),
        (
            lambda d: (
                setattr(d.item("sex"), "type", ItemType.TEXT),
                setattr(d.item("sex"), "validation", Validation.REGEX),
                setattr(d.item("sex"), "pattern", r"(a+)\1b"),
            ),
            "I.SEX",
            "pattern",
            "without back-references or look-arounds",
        ),
        (
            lambda d: (
                setattr(d.item("sex"), "type", ItemType.TEXT),
                setattr(d.item("sex"), "validation", Validation.PHONE),
                setattr(d.item("sex"), "pattern", r"(?=[0-9])[0-9 ]+"),
            ),
            "I.SEX",
            "pattern",
            "invalid perl operator: (?=",
        ),
        (
            lambda d: setattr(d.item("weight_kg"), "hard_range", Range("1_000", None)),
            "I.WEIGHT_KG",
            "hard_range",
            "is not a valid bound",
        ),
        (
            lambda d: setattr(d.item("weight_kg"), "soft_range", Range(None, "1E+1000000")),
            "I.WEIGHT_KG",
            "soft_range",
            "is not a valid bound",
        ),
        (
            lambda d: setattr(d.item("pregnant"), "show_if", "[sex] = '3'"),
            "I.PREGNANT",
            "show_if",
            "Line 1, column",
        ),
        (
            lambda d: setattr(d.item("pregnant"), "show_if", "[weight_kg] + 1"),
            "I.PREGNANT",
            "show_if",
            "should be a condition",
        ),
        (
            lambda d: setattr(d.item("bmi"), "calculation", "[bmi] + 1"),
            "I.BMI",
            "calculation",
            "depends on itself",
        ),
        (
            lambda d: setattr(d.item("pregnant"), "name", "sex"),
            "I.PREGNANT",
            "name",
            "The form demographics already has an item named sex.",
        ),
        (
            lambda d: setattr(d.item("pregnant"), "name", "Pregnant"),
            "I.PREGNANT",
            "name",
            "lowercase letter",
        ),
        (
            lambda d: d.schedule.visits[0].forms.append("labs"),
            "V.SCREENING",
            "forms",
            "no form “labs”",
        ),
        (
            lambda d: setattr(d.schedule.visits[0], "window_before", -1),
            "V.SCREENING",
            "window",
            "0 or more",
        ),
        (
            lambda d: d.schedule.visits.append(Visit("V.SCREENING", "again", {"en": "A"})),
            "V.SCREENING",
            "oid",
            "used twice",
        ),
        (lambda d: setattr(d, "default_language", "de"), "", "languages", "must be offered"),
    ],
)
def test_each_problem_is_found_where_it_is(mutate, where, field, message):
    found = change(mutate)
    assert (where, field) in found, sorted(found)
    assert message in found[(where, field)].message.interpolate()
    assert found[(where, field)].blocking


def test_a_calculation_cycle_through_two_items_names_both():
    def loop(definition):
        definition.item("bmi").calculation = "[weight_kg] + 0"
        weight = definition.item("weight_kg")
        weight.type, weight.validation = ItemType.CALCULATED, None
        weight.calculation = "[bmi] * 2"

    found = change(loop)
    assert ("I.BMI", "calculation") in found and ("I.WEIGHT_KG", "calculation") in found


def test_a_form_in_no_visit_is_only_a_warning():
    found = change(lambda d: d.schedule.visits[0].forms.remove("consent"))
    assert not found[("F.CONSENT", "visits")].blocking
