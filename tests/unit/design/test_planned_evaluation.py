"""A published form's planned evaluation, and the numbers read with their places counted in the
text, give what the general paths give, on many forms and inputs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.design import bench_form
from datacapt.cli.demo_design import demo_definition
from datacapt.ecrf import runtime, values
from datacapt.ecrf.definition import (
    Choice,
    EditCheck,
    Form,
    Item,
    ItemType,
    Range,
    Section,
    Severity,
    Static,
    SubSection,
    Validation,
    form_items,
)
from datacapt.ecrf.runtime import FormState, Page, evaluate_form
from datacapt.numbers import MAX_PLACES, NumberError, parse_number, read_number, shown_number

CHOICES = [Choice("1", {"en": "A"}), Choice("2", {"en": "B"})]


def item(name: str, kind: ItemType = ItemType.TEXT, **fields: Any) -> Item:
    return Item(oid=f"I.{name}", name=name, type=kind, label={"en": name}, **fields)


def kitchen_sink() -> Form:
    """Chained branching, a section and a subsection hidden by a condition, calculations, action
    tags (with @IF), required items and edit checks."""
    return Form(
        oid="F.K",
        name="k",
        title={"en": "K"},
        sections=[
            Section(
                oid="S.1",
                subsections=[
                    SubSection(
                        oid="G.1",
                        blocks=[
                            item("a", ItemType.YES_NO, required=True),
                            item("b", ItemType.YES_NO, show_if="[a] = '1'"),
                            item("c", ItemType.SINGLE_CHOICE, choices=CHOICES, show_if="[b] = '1'"),
                            item(
                                "n",
                                validation=Validation.NUMBER,
                                decimals=1,
                                required=True,
                                hard_range=Range("0", "500"),
                                soft_range=Range("10", "200"),
                                edit_checks=[
                                    EditCheck("EC.1", "[n] > [m] + 10", {"en": "far"}),
                                    EditCheck("EC.2", "[n] = 99", {"en": "no"}, Severity.BLOCKING),
                                ],
                            ),
                            item("m", validation=Validation.INTEGER, show_if="[n] <> ''"),
                            item("double", ItemType.CALCULATED, calculation="[n] * 2"),
                            Static(oid="T.1", content={"en": "x"}, show_if="[double] > 100"),
                            item(
                                "d",
                                validation=Validation.DATE,
                                date_format="dmy",
                                partial_dates=True,
                                soft_range=Range("2000-01-01", "2030-12-31"),
                                required=True,
                            ),
                        ],
                    ),
                    SubSection(
                        oid="G.2",
                        show_if="[a] = '1' or [double] > 50",
                        blocks=[
                            item("t", annotation="@CHARLIMIT=3 @DEFAULT='ab'"),
                            item("r", annotation="@READONLY @DEFAULT='[n]'"),
                            item("h", annotation="@IF([a] = '1', @HIDDEN, @READONLY)"),
                            item("ct", annotation="@CALCTEXT(if([n] > 20, 'big', 'small'))"),
                            item(
                                "cd",
                                validation=Validation.DATE,
                                annotation="@CALCDATE([d], 7, 'd')",
                            ),
                        ],
                    ),
                ],
            ),
            Section(
                oid="S.2",
                show_if="[c] = '2'",
                subsections=[
                    SubSection(
                        oid="G.3",
                        blocks=[
                            item("e", validation=Validation.EMAIL, required=True),
                            item("ticks", ItemType.MULTIPLE_CHOICE, choices=CHOICES),
                        ],
                    )
                ],
            ),
        ],
    )


FORMS = [kitchen_sink(), bench_form(1, 20), *demo_definition().forms]
RAW = ["", "0", "1", "2", "1|2", "7", "7.5", "99", "150", "600", "abc", "a@b.example",
       "15/03/2020", "UK/03/1970", "31/02/2026", "2026-01-31", "1e3", "-1"]  # fmt: skip


def outcome(state: FormState) -> list[Any]:
    """What a page and a save read of a state."""
    found: list[Any] = []
    for section in state.sections:
        found.append((section.oid, section.visible))
        for sub in section.subsections:
            found.append((sub.oid, sub.visible, [b.block.oid for b in sub.blocks]))
    for oid, block in state.blocks.items():
        parsed = block.parsed
        messages = [(str(m), getattr(m, "mapping", None)) for m in (parsed.error, parsed.warning)]
        found.append(
            (
                oid,
                block.raw,
                parsed.stored,
                parsed.value,
                messages,
                block.visible,
                [check.oid for check in block.fired],
                block.missing,
                block.tags,
                block.concealed,
                block.readonly,
            )
        )
    return found


def both(form: Form, posted: dict[str, list[str]], page: Page) -> tuple[list[Any], list[Any]]:
    values.plan_published(form_items(form))
    arguments: dict[str, Any] = {"others": {"other": Decimal(3)}, "today": date(2026, 3, 1)}
    runtime._FORM_PLANS.pop(id(form), None)
    general = outcome(evaluate_form(form, posted, page=page, **arguments))
    runtime.plan_published_forms([form])
    assert runtime._FORM_PLANS[id(form)][0] is form
    planned = outcome(evaluate_form(form, posted, page=page, **arguments))
    runtime._FORM_PLANS.pop(id(form), None)
    return general, planned


@st.composite
def inputs(draw: st.DrawFn) -> tuple[Form, dict[str, list[str]], Page]:
    form = draw(st.sampled_from(FORMS))
    posted: dict[str, list[str]] = {}
    for question in form_items(form):
        if draw(st.booleans()):
            text = draw(st.sampled_from(RAW) | st.text(max_size=6))
            posted[question.name] = text.split("|")
    saved = draw(st.none() | st.just(posted))
    page = Page(saved=saved, opening=draw(st.booleans()), now=datetime(2026, 3, 1, 10, 30))
    return form, posted, page


@settings(max_examples=400, deadline=None)
@given(inputs())
def test_a_planned_evaluation_gives_what_the_general_path_gives(
    found: tuple[Form, dict[str, list[str]], Page],
) -> None:
    general, planned = both(*found)
    assert planned == general


def test_the_kitchen_sink_hides_computes_and_checks() -> None:
    """The comparison above meets every branch: hidden blocks, calculations, tags, checks."""
    form = kitchen_sink()
    posted = {"a": ["1"], "b": ["1"], "c": ["2"], "n": ["150"], "m": ["3"], "d": ["15/03/2020"]}
    general, planned = both(form, posted, Page(saved=None, opening=True))
    assert planned == general
    values.plan_published(form_items(form))
    runtime.plan_published_forms([form])
    state = evaluate_form(form, posted, page=Page(saved=None, opening=True))
    blocks = {s.block.oid: s for s in state.blocks.values()}
    assert blocks["I.ct"].raw == ["big"] and blocks["I.double"].parsed.value == Decimal(300)
    assert [check.oid for check in blocks["I.n"].fired] == ["EC.1"]
    assert blocks["I.h"].concealed and blocks["I.r"].readonly
    hidden = evaluate_form(form, {"a": ["0"]})
    assert not hidden.blocks["I.b"].visible and not hidden.blocks["I.e"].visible
    assert hidden.blocks["I.a"].missing is False and hidden.blocks["I.n"].missing is True


def test_only_a_published_forms_evaluation_is_planned_and_plans_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime, "_FORM_PLANS", {})
    draft = kitchen_sink()
    assert evaluate_form(draft, {"a": ["0"]}).blocks["I.b"].visible is False
    draft.sections[0].subsections[0].blocks[1].show_if = None  # a draft changes: read afresh
    assert evaluate_form(draft, {"a": ["0"]}).blocks["I.b"].visible is True
    assert runtime._FORM_PLANS == {}
    monkeypatch.setattr(runtime, "FORM_PLANS_LIMIT", 2)
    first, second = [kitchen_sink(), kitchen_sink()], [kitchen_sink()]
    runtime.plan_published_forms(first)
    runtime.plan_published_forms(second)
    assert set(runtime._FORM_PLANS) == {id(second[0])}


def places_before(text: str) -> int:
    """The places as parse_number's callers counted them before: from the digits' tuple."""
    exponent = Decimal(text.replace(",", ".")).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


NUMBER_TEXT = st.from_regex(
    r"[+-]?(?:[0-9]{1,32}(?:[.,][0-9]{0,32})?|[.,][0-9]{1,32})(?:[eE][+-]?[0-9]{1,3})?",
    fullmatch=True,
)


@settings(max_examples=500, deadline=None)
@given(NUMBER_TEXT | st.text(max_size=12), st.booleans())
def test_a_numbers_places_are_those_of_its_digits(text: str, comma: bool) -> None:
    try:
        number, places = read_number(text, decimal_comma=comma)
    except NumberError as error:
        refused = error.message
    else:
        refused = None
    if refused is not None:
        with pytest.raises(NumberError) as again:
            parse_number(text, decimal_comma=comma)
        assert again.value.message == refused
        return
    assert parse_number(text, decimal_comma=comma) == number
    assert places == places_before(text) <= MAX_PLACES
    assert number.adjusted() < 28


def shown_before(text: str, locale: str) -> str:
    """shown_number as it was: the oracle."""
    from datacapt.numbers import PLAIN, decimal_symbol

    return text if PLAIN.fullmatch(text) is None else text.replace(".", decimal_symbol(locale))


@given(
    NUMBER_TEXT | st.text(alphabet="0123456789.-,e ", max_size=8),
    st.sampled_from(["en", "fr", "de", "pl", "xx"]),
)
def test_a_number_is_shown_as_it_was(text: str, locale: str) -> None:
    assert shown_number(text, locale) == shown_before(text, locale)


def test_a_bound_that_does_not_read_is_met_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "_PLANS", {})
    broken = item("w", validation=Validation.NUMBER, soft_range=Range("1", "abc"))
    with pytest.raises(InvalidOperation):
        values.parse_value(broken, ["5"])
    values.plan_published([broken])
    assert values._PLANS[id(broken)][1].bounds is None
    with pytest.raises(InvalidOperation):
        values.parse_value(broken, ["5"])


def test_a_published_versions_forms_are_planned_when_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datacapt.ecrf import versions
    from datacapt.ecrf.definition import to_json
    from tests.unit.design.test_kernel_fast_paths import _OneDocument

    monkeypatch.setattr(runtime, "_FORM_PLANS", {})
    monkeypatch.setattr(versions, "_DEFINITIONS", {})
    document = to_json(demo_definition())
    design = versions.design_of(_OneDocument(document), (992, 1, "hash"))  # type: ignore[arg-type]
    assert design is not None and design.definition.forms
    assert all(runtime._FORM_PLANS[id(form)][0] is form for form in design.definition.forms)


def test_a_published_forms_items_are_kept_and_a_drafts_read_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datacapt.ecrf import definition

    monkeypatch.setattr(definition, "_ITEMS", {})
    monkeypatch.setattr(runtime, "_FORM_PLANS", {})
    published, draft = kitchen_sink(), kitchen_sink()
    runtime.plan_published_forms([published])
    found = form_items(published)
    assert [i.oid for i in found] == [i.oid for i in form_items(draft)]
    found.clear()  # a caller's list is its own
    assert len(form_items(published)) == len(form_items(draft)) > 0
    draft.sections.pop()
    assert len(form_items(draft)) < len(form_items(published))
    monkeypatch.setattr(definition, "ITEMS_LIMIT", 1)
    runtime.plan_published_forms([draft])
    assert set(definition._ITEMS) == {id(draft)}
