"""A form while it is filled: branching, calculations and edit checks, on the server."""

from __future__ import annotations

from decimal import Decimal

from datacapt.cli.demo_design import demo_definition
from datacapt.ecrf.definition import (
    Form,
    Item,
    ItemType,
    Section,
    SubSection,
    Validation,
)
from datacapt.ecrf.runtime import evaluate_form


def demographics():
    return demo_definition().form("demographics")


def by_name(state):
    return {s.name: s for s in state.items()}


def test_branching_shows_a_question_only_when_its_condition_holds():
    men = by_name(evaluate_form(demographics(), {"sex": ["1"], "pregnant": ["1"]}))
    assert not men["pregnant"].visible
    women = by_name(evaluate_form(demographics(), {"sex": ["2"], "pregnant": ["1"]}))
    assert women["pregnant"].visible


def test_values_of_hidden_questions_are_not_kept():
    state = evaluate_form(demographics(), {"sex": ["1"], "pregnant": ["1"]})
    assert state.stored()["pregnant"] is None
    assert by_name(state)["pregnant"].raw == ["1"]  # still in the page, in case it comes back


def test_a_calculation_is_made_from_the_typed_values():
    state = by_name(evaluate_form(demographics(), {"height_cm": ["180"], "weight_kg": ["72.5"]}))
    assert state["bmi"].parsed.stored == "22.4"
    blank = by_name(evaluate_form(demographics(), {"height_cm": ["180"]}))
    assert blank["bmi"].parsed.stored is None


def test_edit_checks_fire_on_valid_values_only():
    high = by_name(evaluate_form(demographics(), {"height_cm": ["150"], "weight_kg": ["120.0"]}))
    assert [check.oid for check in high["bmi"].fired] == ["EC.2"]
    vital = demo_definition().form("vital_signs")
    state = evaluate_form(vital, {"systolic": ["80"], "diastolic": ["90"]})
    assert [(s.name, c.oid) for s, c in state.blocking_checks] == [("diastolic", "EC.3")]
    refused = evaluate_form(vital, {"systolic": ["80"], "diastolic": ["ninety"]})
    assert refused.blocking_checks == [] and "diastolic" in refused.errors


def test_required_questions_that_are_shown_and_blank_are_flagged():
    state = by_name(evaluate_form(demographics(), {"sex": ["1"]}))
    assert state["birth_date"].missing
    assert not state["pregnant"].missing  # hidden, so not required


def test_chains_of_branching_settle():
    """c depends on b, which depends on a: hiding b must hide c in the same evaluation."""

    def yes_no(name, show_if=None):
        return Item(
            oid=f"I.{name.upper()}",
            name=name,
            type=ItemType.YES_NO,
            label={"en": name},
            show_if=show_if,
        )

    form = Form(
        oid="F.X",
        name="x",
        title={"en": "X"},
        sections=[
            Section(
                oid="S.1",
                subsections=[
                    SubSection(
                        oid="G.1",
                        blocks=[
                            yes_no("a"),
                            yes_no("b", "[a] = '1'"),
                            yes_no("c", "[b] = '1'"),
                        ],
                    )
                ],
            )
        ],
    )
    shown = by_name(evaluate_form(form, {"a": ["1"], "b": ["1"], "c": ["1"]}))
    assert shown["c"].visible
    hidden = by_name(evaluate_form(form, {"a": ["0"], "b": ["1"], "c": ["1"]}))
    assert not hidden["b"].visible and not hidden["c"].visible


def test_a_hidden_section_hides_all_its_questions():
    form = Form(
        oid="F.X",
        name="x",
        title={"en": "X"},
        sections=[
            Section(
                oid="S.1",
                subsections=[
                    SubSection(
                        oid="G.1",
                        blocks=[Item(oid="I.A", name="a", type=ItemType.YES_NO, label={"en": "A"})],
                    )
                ],
            ),
            Section(
                oid="S.2",
                show_if="[a] = '1'",
                subsections=[
                    SubSection(
                        oid="G.2",
                        blocks=[
                            Item(
                                oid="I.B",
                                name="b",
                                type=ItemType.TEXT,
                                label={"en": "B"},
                                validation=Validation.INTEGER,
                            )
                        ],
                    )
                ],
            ),
        ],
    )
    state = evaluate_form(form, {"a": ["0"], "b": ["12"]})
    assert not state.sections[1].visible
    assert state.stored() == {"a": "0", "b": None}


def test_values_from_other_forms_and_visits_reach_expressions():
    form = Form(
        oid="F.X",
        name="x",
        title={"en": "X"},
        sections=[
            Section(
                oid="S.1",
                subsections=[
                    SubSection(
                        oid="G.1",
                        blocks=[
                            Item(
                                oid="I.D",
                                name="delta",
                                type=ItemType.CALCULATED,
                                label={"en": "D"},
                                calculation="[weight_kg] - [screening][weight_kg]",
                            ),
                        ],
                    )
                ],
            )
        ],
    )
    state = by_name(
        evaluate_form(
            form,
            {},
            others={"weight_kg": Decimal("70")},
            visits={"screening": {"weight_kg": Decimal("72.5")}},
        )
    )
    assert state["delta"].parsed.stored == "-2.5"


def _calculated(calculation: str) -> Form:
    return Form(
        oid="F.X",
        name="x",
        title={"en": "X"},
        sections=[
            Section(
                oid="S.1",
                subsections=[
                    SubSection(
                        oid="G.1",
                        blocks=[
                            Item(
                                oid="I.N",
                                name="n",
                                type=ItemType.TEXT,
                                label={"en": "N"},
                                validation=Validation.NUMBER,
                            ),
                            Item(
                                oid="I.C",
                                name="c",
                                type=ItemType.CALCULATED,
                                label={"en": "C"},
                                calculation=calculation,
                            ),
                        ],
                    )
                ],
            )
        ],
    )


def test_a_calculation_is_written_out_only_within_bounds():
    shown = by_name(evaluate_form(_calculated("[n]"), {"n": ["1E+150000000"]}))
    assert "28 digits" in shown["n"].error.interpolate()
    assert shown["c"].parsed.stored is None and shown["c"].error is None
    scaled = by_name(evaluate_form(_calculated("[n] * 10 ^ 30"), {"n": ["1"]}))
    assert "too large to keep" in scaled["c"].error.interpolate()
    tiny = by_name(evaluate_form(_calculated("[n] / 3 / 10 ^ 5"), {"n": ["1"]}))
    assert tiny["c"].parsed.stored == "0.0000033333333333333333333333"
    literal = by_name(evaluate_form(_calculated("1" + "0" * 40), {}))
    assert "too large to keep" in literal["c"].error.interpolate()
