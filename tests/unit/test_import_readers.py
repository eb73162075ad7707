"""The import readers on files written as exports and other tools write them: any text comes
back as it was written (formula neutralising undone), with the line its row starts on."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from datacapt.cli.demo_design import demo_definition
from datacapt.exports.cells import neutralised
from datacapt.imports import long_csv, redcap_csv
from datacapt.imports.cells import Cell, Refusal

#: Text a browser can send and a database can hold: no lone surrogate, no NUL.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
HEADER = ["subject", "site", "visit", "visit_repeat", "form", "form_repeat", "item", "value"]


#: A text starting with an apostrophe and a formula sign reads back without its apostrophe: the
#: export writes it unchanged, and the import cannot tell it from one it neutralised.
PLAIN = TEXT.filter(lambda text: not text.startswith("'"))


@given(PLAIN)
def test_a_neutralised_text_is_restored(text):
    assert long_csv.restored(neutralised(text)) == text


@given(st.lists(PLAIN, min_size=1, max_size=8))
def test_long_csv_values_come_back_as_written_with_their_lines(values):
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*HEADER, "missing_code"])
    lines, line = [], 2
    for value in values:
        cells = ["par01-0001", "par01", "screening", "1", "vital_signs", "1", "heart_rate"]
        writer.writerow([*cells, neutralised(value), ""])
        lines.append(line)
        line += neutralised(value).count("\n") + neutralised(value).count("\r") + 1
        line -= neutralised(value).count("\r\n")
    data = out.getvalue().encode("utf-8")
    read = list(long_csv.read(io.BytesIO(data), demo_definition()))
    assert all(isinstance(cell, Cell) for cell in read)
    assert [cell.value for cell in read] == values
    assert [cell.line for cell in read] == lines


def test_redcap_events_groups_repeats_and_columns_not_in_the_design():
    definition = demo_definition()
    header = "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
    header += "redcap_data_access_group,systolic,ae_term,ae_serious,adverse_events_complete,pulse"
    rows = [
        "par01-0001,screening_arm_1,,,par01,120,,,,",
        "par01-0001,unscheduled_arm_1,adverse_events,2,par01,,Céphalée,1,2,",
        "par01-0001,screening_arm_1,,,par01,,,,,88",
    ]
    data = "\r\n".join([header, *rows]).encode()
    read = list(redcap_csv.read(io.BytesIO(data), definition))
    systolic, term, serious, refusal = read
    assert (systolic.visit, systolic.form, systolic.item, systolic.value) == (
        "screening",
        "vital_signs",
        "systolic",
        "120",
    )
    assert (term.visit, term.form_repeat, term.value, term.complete) == (
        "unscheduled",
        2,
        "Céphalée",
        True,
    )
    assert serious.item == "ae_serious" and serious.site == "par01"
    assert isinstance(refusal, Refusal) and refusal.line == 4
    assert refusal.message.mapping == {"column": "pulse"}
