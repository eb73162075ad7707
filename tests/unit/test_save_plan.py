"""The save's plan is decided from what was read, without a database: the same plan the
application applies and the benchmark's loader writes in bulk."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from bench.design import bench_form
from datacapt.ecrf.definition import Definition, ItemType
from datacapt.entry import services as entry
from datacapt.models import FormStatus, LockState, Subject, WarningKind

DEFINITION = Definition(default_language="en", languages=["en"])


def _scope(form):
    return entry.EntryScope(
        study=None,
        subject=Subject(lock_state=LockState.OPEN),
        visit="visit01",
        visit_repeat=1,
        form=form,
        form_repeat=1,
        version_number=1,
    )


def _plan(form, everything):
    request = entry.EntryRequest(
        {"f01_i01": ["150"], "f01_i03": ["60"]}, {}, False, "", None, date(2026, 6, 15)
    )
    reads = entry.SaveReads(everything=everything)
    return entry.plan_save(_scope(form), DEFINITION, request, reads, missing_codes=set())


def test_a_form_reading_only_its_own_items_needs_no_other_value():
    assert entry._names_read_elsewhere(bench_form(1, 9)) == frozenset()


def test_an_edit_check_reading_another_visit_is_planned_with_the_value_read_there():
    form = bench_form(1, 9)
    form.sections[0].subsections[0].blocks[0].edit_checks[
        0
    ].condition = "[f01_i01] > [screening][f02_i03] + 100"
    assert entry._names_read_elsewhere(form) == {"f02_i03"}
    assert _plan(form, {}).to_open == []  # nothing read: the check cannot fire
    plan = _plan(form, {("screening", 1): {"f02_i03": Decimal(20)}})
    assert [(item.oid, kind) for item, kind, _check, _message in plan.to_open] == [
        ("I.F01.I01", WarningKind.EDIT_CHECK)
    ]
    assert plan.status is FormStatus.IN_PROGRESS
    assert [event["action"] for event in plan.events] == ["entry.form_started"] + [
        "entry.value_changed"
    ] * len(plan.changes)


def test_the_typed_copies_come_from_the_parse_as_they_would_from_the_stored_text():
    """A save's typed copies are the parse's typed values, read again from nothing: the same
    as ``typed`` reading the canonical text (a number's exponent too), and never a
    calculation's (whose text may be rounded)."""
    form = bench_form(1, 9)
    items = {item.name: item for item in entry.form_items(form)}
    items["f01_i07"].decimal_comma = True
    calculated = replace(items["f01_i09"], type=ItemType.CALCULATED, calculation="[f01_i02] / 3")
    blocks = form.sections[0].subsections[0].blocks
    blocks[blocks.index(items["f01_i09"])] = calculated
    posted = {
        "f01_i01": ["150"],
        "f01_i02": ["72"],  # 72.0: quantized to the item's one decimal
        "f01_i03": ["1e2"],
        "f01_i04": ["31/01/2026"],
        "f01_i05": ["2"],
        "f01_i06": ["-0"],
        "f01_i07": ["3,5"],
        "f01_i08": ["1"],
    }
    request = entry.EntryRequest(posted, {}, False, "", None, date(2026, 6, 15))
    plan = entry.plan_save(
        _scope(form), DEFINITION, request, entry.SaveReads(), missing_codes=set()
    )
    changes = {change.item.name: change for change in plan.changes}
    assert changes["f01_i09"].new.value is not None and changes["f01_i09"].parsed is None
    assert all(changes[name].parsed is not None for name in posted)
    for change in changes.values():
        value = change.new.value
        assert repr(entry._typed_columns(change.item, value, change.parsed)) == repr(
            entry._typed_columns(change.item, value)
        )
    assert changes["f01_i02"].parsed.value == Decimal("72.0")
    assert entry._typed_columns(
        changes["f01_i04"].item, "2026-01-31", changes["f01_i04"].parsed
    ) == (
        None,
        date(2026, 1, 31),
    )
