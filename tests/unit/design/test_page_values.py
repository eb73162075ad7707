"""The smart variables of a form: where it stands in the schedule and among its repeats."""

from __future__ import annotations

from decimal import Decimal

from datacapt.ecrf.definition import Definition, Form, Visit
from datacapt.ecrf.page_values import Who, smart_values
from datacapt.expressions import BLANK


def test_smart_values_of_a_repeat_of_a_middle_visit() -> None:
    form = Form(oid="F.AE", name="ae", title={"en": "Adverse events"})
    definition = Definition(forms=[form])
    definition.schedule.visits = [
        Visit(oid=f"SE.{name}", name=name, title={"en": name.title()}, forms=["ae"])
        for name in ("screening", "week_1", "week_2")
    ]
    found = smart_values(
        definition,
        form,
        "week_1",
        2,
        {("week_1", 1): {}, ("week_1", 4): {}, ("week_2", 9): {}},
        Who(record="par01-0007", site_code="par01", site_name="Paris", user="a@example.org"),
    )
    assert found["event-name"] == "week_1"
    assert found["event-label"] == "Week_1"
    assert (found["previous-event-name"], found["next-event-name"]) == ("screening", "week_2")
    assert (found["first-event-name"], found["last-event-name"]) == ("screening", "week_2")
    assert (found["current-instance"], found["previous-instance"]) == (Decimal(2), Decimal(1))
    assert (found["next-instance"], found["last-instance"]) == (Decimal(3), Decimal(4))
    assert (found["record-name"], found["record-dag-name"]) == ("par01-0007", "par01")
    assert (found["instrument-name"], found["instrument-label"]) == ("ae", "Adverse events")
    first = smart_values(definition, form, "screening", 1, {}, Who())
    assert (first["previous-event-name"], first["previous-instance"]) == (BLANK, BLANK)
    assert first["user-name"] is BLANK
