"""The definition document, edits on it, and the differences between two versions."""

from __future__ import annotations

import contextlib
import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datacapt.cli.demo_design import demo_definition
from datacapt.design import editing
from datacapt.design.diff import ChangeKind, diff
from datacapt.ecrf.definition import (
    DefinitionFormatError,
    Item,
    ItemType,
    Static,
    from_json,
    to_json,
    to_json_text,
)


def test_json_round_trip_of_the_demo_design():
    definition = demo_definition()
    stored = json.loads(json.dumps(to_json(definition)))
    assert from_json(stored) == definition


def test_the_text_encoded_from_the_objects_is_the_same_document():
    definition = demo_definition()
    definition.forms[0].title["pl"] = "Zażółć gęślą jaźń"  # not escaped, still the same text
    text = to_json_text(definition)
    assert json.loads(text) == to_json(definition)
    assert "Zażółć" in text
    with pytest.raises(TypeError, match="not part of a definition"):
        to_json_text(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "JSON object"),
        ({"schema": 2}, "unknown definition schema"),
        ({"forms": [{"oid": "F", "name": "f", "title": {"en": "F"}, "extra": 1}]}, "unknown keys"),
        ({"forms": [{"oid": "F", "name": "f", "title": "F"}]}, "texts by language"),
        ({"languages": "en"}, "expected a list"),
        (
            {
                "forms": [
                    {
                        "oid": "F",
                        "name": "f",
                        "title": {},
                        "sections": [
                            {
                                "oid": "S",
                                "subsections": [{"oid": "G", "blocks": [{"kind": "video"}]}],
                            }
                        ],
                    }
                ]
            },
            "unknown kind",
        ),
        (
            {
                "forms": [
                    {
                        "oid": "F",
                        "name": "f",
                        "title": {},
                        "sections": [
                            {
                                "oid": "S",
                                "subsections": [
                                    {
                                        "oid": "G",
                                        "blocks": [
                                            {
                                                "kind": "item",
                                                "oid": "I",
                                                "name": "x",
                                                "type": "hologram",
                                                "label": {},
                                            }
                                        ],
                                    }
                                ],
                            }
                        ],
                    }
                ]
            },
            "not a ItemType",
        ),
        ({"forms": [{"oid": True, "name": "f", "title": {}}]}, "expected str"),
    ],
)
def test_malformed_documents_are_refused_with_where(document, message):
    with pytest.raises(DefinitionFormatError, match=message):
        from_json(document)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_any_json_is_a_definition_or_a_format_error(document):
    with contextlib.suppress(DefinitionFormatError):
        from_json(document)


def blocks(form):
    return [
        block.oid
        for section in form.sections
        for sub in section.subsections
        for block in sub.blocks
    ]


def test_a_block_walks_across_subsections_with_up_and_down():
    definition = demo_definition()
    form = definition.form("demographics")
    extra = editing.add_subsection(definition, form.sections[0], {"en": "More"})
    first = blocks(form)[-1]
    editing.move_block(form, first, +1)
    assert extra.blocks[0].oid == first
    editing.move_block(form, first, +1)  # already last: stays
    assert extra.blocks[0].oid == first
    editing.move_block(form, first, -1)
    assert blocks(form)[-1] == first and extra.blocks == []


def test_duplicates_get_fresh_oids_and_names():
    definition = demo_definition()
    form = definition.form("vital_signs")
    copy_one = editing.duplicate_block(definition, form, "I.DIASTOLIC")
    copy_two = editing.duplicate_block(definition, form, "I.DIASTOLIC")
    assert isinstance(copy_one, Item)
    assert [copy_one.name, copy_two.name] == ["diastolic_2", "diastolic_3"]
    assert len({copy_one.oid, copy_two.oid, "I.DIASTOLIC"}) == 3
    assert copy_one.edit_checks[0].oid not in {"EC.3", copy_two.edit_checks[0].oid}
    oids = list(definition.oids())
    assert len(oids) == len(set(oids))
    static = editing.duplicate_block(definition, form, "T.VS.1")
    assert isinstance(static, Static) and static.oid != "T.VS.1"


def test_deleting_a_form_removes_it_from_every_visit():
    definition = demo_definition()
    editing.delete_form(definition, "vital_signs")
    assert all("vital_signs" not in v.forms for v in definition.schedule.visits)
    assert "vital_signs" not in definition.schedule.unscheduled_forms


def test_unknown_oids_are_not_found():
    definition = demo_definition()
    form = definition.form("demographics")
    for action in (
        lambda: editing.find_block(form, "I.NOPE"),
        lambda: editing.delete_block(form, "I.NOPE"),
        lambda: editing.find_visit(definition, "V.NOPE"),
        lambda: editing.find_form(definition, "nope"),
    ):
        with pytest.raises(editing.NotFound):
            action()


def test_a_form_keeps_a_section_and_a_section_a_subsection():
    form = demo_definition().form("consent")
    with pytest.raises(ValueError, match="at least one section"):
        editing.delete_section(form, form.sections[0].oid)
    with pytest.raises(ValueError, match="at least one sub-section"):
        editing.delete_subsection(form, form.sections[0].subsections[0].oid)


def test_diff_names_added_removed_changed_and_moved_elements():
    old = demo_definition()
    new = copy.deepcopy(old)
    form = new.form("demographics")
    editing.delete_block(form, "I.PREGNANT")
    new.item("height_cm").hard_range.max = "240"
    moved = editing.add_subsection(new, form.sections[0], {"en": "Body"})
    weight = editing.delete_block(form, "I.WEIGHT_KG")
    editing.add_block(moved, weight)
    editing.add_block(
        moved, Item(oid="I.WAIST", name="waist", type=ItemType.TEXT, label={"en": "Waist"})
    )
    changes = {(c.kind, c.oid): c for c in diff(old, new)}
    assert (ChangeKind.REMOVED, "I.PREGNANT") in changes
    assert changes[(ChangeKind.CHANGED, "I.HEIGHT_CM")].fields == ("hard_range",)
    assert (ChangeKind.MOVED, "I.WEIGHT_KG") in changes
    assert (ChangeKind.ADDED, "I.WAIST") in changes
    assert (ChangeKind.ADDED, moved.oid) in changes
    assert diff(old, copy.deepcopy(old)) == []


def test_the_demo_design_is_a_new_copy_each_time():
    edited = demo_definition()
    editing.delete_form(edited, "vital_signs")
    editing.add_subsection(edited, edited.form("demographics").sections[0], {"en": "More"})
    fresh = demo_definition()
    assert fresh.form("vital_signs") is not None
    assert len(fresh.form("demographics").sections[0].subsections) == 1
