"""REDCap data dictionaries: the reference files import as they are and export back to the same
definition; bad input gives findings with spreadsheet line numbers, never a crash."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datacapt.design.interchange import redcap
from datacapt.design.interchange.findings import (
    Finding,
    FindingLevel,
    ImportResult,
    InterchangeError,
)
from datacapt.design.interchange.redcap import COLUMNS, HEADER, PATTERNS, today_check
from datacapt.design.interchange.redcap_reader import NANP_PHONE_PATTERN, read_dictionary
from datacapt.design.interchange.redcap_writer import write_dictionary
from datacapt.ecrf.definition import (
    Alias,
    Choice,
    Definition,
    EditCheck,
    Form,
    Item,
    ItemType,
    Range,
    Schedule,
    Section,
    Severity,
    Slider,
    Static,
    SubSection,
    Validation,
    Visit,
    form_blocks,
)
from datacapt.expressions import parse
from datacapt.patterns import matches, pattern_problem
from tests.conftest import REFERENCE_DATA

DATA = REFERENCE_DATA / "redcap"
VALIDATION_TYPES_FILE = DATA / "validation-types-1" / "dictionary.csv"
ISARIC_FILE = DATA / "isaric-ccpuk-hantavirus-dictionary.csv"
csv.field_size_limit(1 << 24)


def file_rows(path: Path) -> list[list[str]]:
    """The data rows of a reference file, read independently of the module under test."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))[1:]


VALIDATION_ROWS = file_rows(VALIDATION_TYPES_FILE)
ISARIC_ROWS = file_rows(ISARIC_FILE)


def dictionary(*rows: dict[str, Any] | list[str], header: Iterable[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [row.get(column, "") for column in COLUMNS] if isinstance(row, dict) else row
        )
    return buffer.getvalue().encode()


def field(name: str, kind: str = "text", form: str = "form_1", **cells: str) -> dict[str, str]:
    return {"name": name, "form": form, "type": kind, "label": name.title(), **cells}


def blocks(definition: Definition) -> list[Item | Static]:
    return [block for form in definition.forms for block in form_blocks(form)]


def item(definition: Definition, name: str) -> Item:
    found = definition.item(name)
    assert found is not None, name
    return found


def at(result: ImportResult, line: int) -> list[Finding]:
    return [f for f in result.findings if re.match(rf"line {line}(,|$)", f.where)]


def levels(findings: Iterable[Finding]) -> dict[FindingLevel, int]:
    counts = dict.fromkeys(FindingLevel, 0)
    for finding in findings:
        counts[finding.level] += 1
    return counts


def round_trip(definition: Definition) -> Definition:
    text, _findings = write_dictionary(definition)
    return read_dictionary(text.encode()).definition


# --- the reference files ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def validation_types() -> ImportResult:
    return read_dictionary(VALIDATION_TYPES_FILE.read_bytes())


@pytest.fixture(scope="module")
def isaric() -> ImportResult:
    return read_dictionary(ISARIC_FILE.read_bytes())


def test_validation_types_file(validation_types: ImportResult) -> None:
    definition = validation_types.definition
    assert [form.name for form in definition.forms] == ["form_1"]
    assert definition.forms[0].oid == "F.FORM_1"
    assert definition.forms[0].title == {"en": "Form 1"}
    assert definition.languages == ["en"]
    assert definition.schedule == Schedule()
    sql_rows = [row for row in VALIDATION_ROWS if row[3] == "sql"]
    assert len(blocks(definition)) == len(VALIDATION_ROWS) - len(sql_rows) == 49
    assert len([row[7] for row in VALIDATION_ROWS if row[7]]) == 37
    (sql,) = at(validation_types, 12)
    assert sql.level is FindingLevel.WARNING
    assert "f_sql" in sql.where
    assert "SQL" in sql.message
    assert [section.title for section in definition.forms[0].sections] == [
        {},
        {"en": "Menu of Field Types"},
        {"en": "Menu of Validation Types (for Text Boxes)"},
    ]


FIELD_TYPES: dict[str, dict[str, Any]] = {
    "record_id": {"type": ItemType.TEXT, "validation": None},
    "f_checkbox": {"type": ItemType.MULTIPLE_CHOICE, "widget": None},
    "f_dropdown": {"type": ItemType.SINGLE_CHOICE, "widget": "dropdown"},
    "f_radio": {"type": ItemType.SINGLE_CHOICE, "widget": "radio"},
    "f_file_upload": {"type": ItemType.FILE, "file_kind": "file"},
    "f_signature": {"type": ItemType.FILE, "file_kind": "signature"},
    "f_notes": {"type": ItemType.LONG_TEXT},
    "f_text": {"type": ItemType.TEXT, "validation": None},
    "f_true_false": {"type": ItemType.TRUE_FALSE, "choices": []},
    "f_yes_no": {"type": ItemType.YES_NO, "choices": []},
    "f_slider": {
        "type": ItemType.SLIDER,
        "slider": Slider(
            min=-1, max=101, left={"en": "-1"}, middle={"en": "50"}, right={"en": "101"}
        ),
        "soft_range": None,
    },
}


def _validations() -> dict[str, dict[str, Any]]:
    """What each REDCap validation type must become, written out independently of the module."""
    expected: dict[str, dict[str, Any]] = {
        "integer": {"validation": Validation.INTEGER},
        "email": {"validation": Validation.EMAIL},
        "phone": {"validation": Validation.PHONE, "pattern_name": "phone"},
        "time": {"validation": Validation.TIME, "with_seconds": False},
        "time_hh_mm_ss": {"validation": Validation.TIME, "with_seconds": True},
        "time_mm_ss": {"validation": Validation.TIME_MM_SS},
    }
    for decimals in (None, 1, 2, 3, 4):
        for comma in (False, True):
            name = "number" + (f"_{decimals}dp" if decimals else "")
            name += "_comma_decimal" if comma else ""
            expected[name] = {
                "validation": Validation.NUMBER,
                "decimals": decimals,
                "decimal_comma": comma,
            }
    for order in ("dmy", "mdy", "ymd"):
        expected[f"date_{order}"] = {"validation": Validation.DATE, "date_format": order}
        for seconds in (False, True):
            name = f"datetime_{'seconds_' if seconds else ''}{order}"
            expected[name] = {
                "validation": Validation.DATETIME,
                "date_format": order,
                "with_seconds": seconds,
            }
    for name in (
        "alpha_only",
        "mrn_10d",
        "mrn_generic",
        "vmrn",
        "ssn",
        "zipcode",
        "postalcode_australia",
        "postalcode_canada",
        "postalcode_french",
        "postalcode_germany",
        "phone_australia",
    ):
        expected[name] = {"validation": Validation.REGEX, "pattern_name": name}
    return expected


VALIDATIONS = _validations()


def test_every_redcap_validation_type_is_expected() -> None:
    file_types = {row[7] for row in VALIDATION_ROWS if row[3] == "text" and row[7]}
    assert not VALIDATION_ROWS or file_types == set(VALIDATIONS)
    assert len(VALIDATIONS) == 36


@pytest.mark.parametrize(
    "row",
    [row for row in VALIDATION_ROWS if row[3] not in ("sql", "descriptive", "calc")],
    ids=lambda row: row[0],
)
def test_field_and_validation_types_map(validation_types: ImportResult, row: list[str]) -> None:
    found = item(validation_types.definition, row[0])
    expected = FIELD_TYPES.get(row[0]) or {"type": ItemType.TEXT, **VALIDATIONS[row[7]]}
    assert {key: getattr(found, key) for key in expected} == expected
    assert found.oid == f"I.{row[0].upper()}"
    assert found.label == {"en": row[4]}
    if found.validation is Validation.REGEX:
        assert found.pattern == PATTERNS[row[7]]
    if row[3] in ("radio", "dropdown", "checkbox"):
        assert [(c.code, c.label) for c in found.choices] == [
            ("0", {"en": "Zero"}),
            ("1", {"en": "One"}),
            ("2", {"en": "Two"}),
        ]


def test_calc_and_descriptive_fields(validation_types: ImportResult) -> None:
    definition = validation_types.definition
    calculated = item(definition, "f_calculated")
    assert calculated.type is ItemType.CALCULATED
    assert parse(calculated.calculation or "") == parse("3+4")
    (static,) = [block for block in blocks(definition) if isinstance(block, Static)]
    assert static.oid == "T.F_DESCRIPTIVE"
    assert static.content == {"en": "Descriptive Text"}


@pytest.mark.parametrize("row", [row for row in VALIDATION_ROWS if row[7]], ids=lambda row: row[0])
def test_export_restores_each_validation_type(
    validation_types: ImportResult, row: list[str]
) -> None:
    text, _findings = write_dictionary(validation_types.definition)
    written = {cells[0]: cells for cells in csv.reader(io.StringIO(text))}
    assert written[row[0]][3] == row[3]
    assert written[row[0]][7] == row[7]


def test_isaric_forms_and_blocks(isaric: ImportResult) -> None:
    definition = isaric.definition
    names = list(dict.fromkeys(row[1] for row in ISARIC_ROWS))
    assert len(names) == 10
    assert (
        [form.name for form in definition.forms]
        == names
        == [
            "inclusion_criteria",
            "consent",
            "presentation",
            "daily",
            "add_research_sample",
            "medication",
            "pathogen_testing",
            "conv_research_samples",
            "outcome",
            "withdrawal",
        ]
    )
    assert definition.forms[0].title == {"en": "Inclusion criteria"}
    assert [b.oid for b in blocks(definition)][:2] == ["I.SUBJID", "I.PRES_ENROLMENTDATE"]
    assert len(ISARIC_ROWS) == 586
    assert not any(row[3] == "sql" for row in ISARIC_ROWS)
    assert len(blocks(definition)) == 586
    assert sum(isinstance(block, Static) for block in blocks(definition)) == 1
    titled = [s for form in definition.forms for s in form.sections if s.title]
    assert len(titled) == sum(1 for row in ISARIC_ROWS if row[2].strip()) == 35


def test_isaric_choices_match_the_file(isaric: ImportResult) -> None:
    definition = isaric.definition
    choice_rows = [row for row in ISARIC_ROWS if row[3] in ("radio", "dropdown", "checkbox")]
    for row in choice_rows:
        assert len(item(definition, row[0]).choices) == len(row[5].split("|")), row[0]
    assert sum(len(item(definition, row[0]).choices) for row in choice_rows) == 3580
    assert item(definition, "consent_samples").choices == [
        Choice("1", {"en": "Yes"}),
        Choice("2", {"en": "No"}),
        Choice("3", {"en": "N/K"}),
    ]
    organisms = item(definition, "test_pathtested_otherl2")
    assert organisms.widget == "autocomplete"
    assert organisms.choices[:2] == [
        Choice("1", {"en": "Achromobacter"}),
        Choice("2", {"en": "Achromobacter xylosoxidans"}),
    ]


def test_isaric_expressions(isaric: ImportResult) -> None:
    definition = isaric.definition
    logic_rows = [row for row in ISARIC_ROWS if row[11].strip()]
    assert len(logic_rows) == 403
    kept = [block for block in blocks(definition) if block.show_if]
    left_out = [f for f in isaric.findings if "branching logic left out" in f.message]
    assert len(kept) + len(left_out) == 403
    assert left_out == []  # every one of the file's 403 parses
    (calc_row,) = [row for row in ISARIC_ROWS if row[3] == "calc"]
    calculated = item(definition, calc_row[0])
    assert calculated.type is ItemType.CALCULATED
    assert parse(calculated.calculation or "") == parse(calc_row[5])
    assert parse(item(definition, "inclu_disease_otherl3").show_if or "") == parse(
        "[inclu_disease(88)] = '1'"
    )
    # A defect of the file itself: the logic tests a code its field does not have.
    (wrong_code,) = at(isaric, 468)
    assert wrong_code.level is FindingLevel.WARNING
    assert "'7' is not a code of [medi_medtype]" in wrong_code.message
    assert item(definition, "medi_route").show_if


def test_isaric_ranges_notes_and_tags(isaric: ImportResult) -> None:
    definition = isaric.definition
    enrolment = item(definition, "pres_enrolmentdate")
    assert enrolment.soft_range == Range(min="2000-01-01")
    assert enrolment.hard_range is None
    onset = item(definition, "pres_onsetdate")
    assert onset.soft_range is None
    assert onset.edit_checks == [today_check("pres_onsetdate", "max", forced=False)]
    today_rows = [row for row in ISARIC_ROWS if "today" in (row[8], row[9])]
    checks = [check for _form, i in definition.items() for check in i.edit_checks]
    assert len(checks) == len(today_rows) == 22
    numbers = [row for row in ISARIC_ROWS if row[7] == "number" and (row[8] or row[9])]
    assert all(item(definition, row[0]).soft_range for row in numbers)
    limited = [i for _form, i in definition.items() if i.max_length]
    assert [i.max_length for i in limited] == [9, 9, 9]
    hidden = [i for _form, i in definition.items() if "@HIDDEN" in (i.annotation or "")]
    assert [i.annotation for i in hidden] == [" @HIDDEN", " @HIDDEN", " @CHARLIMIT=9 @HIDDEN"]
    assert sum(i.required for _form, i in definition.items()) == 10
    noted = [i for _form, i in definition.items() if i.help]
    assert len(noted) == sum(1 for row in ISARIC_ROWS if row[6].strip()) == 5


def test_isaric_html_and_file_level_findings(isaric: ImportResult) -> None:
    definition = isaric.definition
    assert item(definition, "consent_options").label == {
        "en": "Consent options (select all to which the patient agreed):"
    }
    assert any(f.level is FindingLevel.INFO and "HTML" in f.message for f in at(isaric, 10))
    (static,) = [block for block in blocks(definition) if isinstance(block, Static)]
    assert static.content == {
        "en": "Please enter each medication on a Medication form which can be found on the "
        "Record Home Page."
    }
    alignment = [f for f in isaric.findings if "custom alignment" in f.message]
    assert len(alignment) == 1
    assert alignment[0].where == "269 fields"
    assert any(f.where == "schedule" for f in isaric.findings)
    applied = [f.message for f in isaric.findings if "applied by Datacapt's forms" in f.message]
    assert [message.split()[2] for message in applied] == ["@CHARLIMIT", "@HIDDEN"]
    assert levels(isaric.findings) == {
        FindingLevel.INFO: 11,
        FindingLevel.WARNING: 1,
        FindingLevel.ERROR: 0,
    }
    assert isaric.ok


@pytest.mark.parametrize("path", [VALIDATION_TYPES_FILE, ISARIC_FILE], ids=lambda p: p.stem)
def test_reference_files_round_trip(path: Path) -> None:
    first = read_dictionary(path.read_bytes())
    text, _findings = write_dictionary(first.definition)
    assert text.splitlines()[0] == ",".join(f'"{name}"' if "," in name else name for name in HEADER)
    second = read_dictionary(text.encode())
    assert second.definition == first.definition
    assert write_dictionary(second.definition)[0] == text


# --- mapping details --------------------------------------------------------------------------


def test_sections_subsections_and_matrix_groups() -> None:
    result = read_dictionary(
        dictionary(
            field("record_id"),
            field(
                "pain",
                "radio",
                section="<b>Symptoms</b>",
                choices="0, No | 1, Yes",
                matrix="symptoms",
            ),
            field("fever", "radio", choices="0, No | 1, Yes", matrix="symptoms", ranking="y"),
            field("comment", "notes"),
            field("cough", "radio", choices="0, No | 1, Yes", matrix="symptoms"),
        )
    )
    form = result.definition.forms[0]
    assert [s.oid for s in form.sections] == ["S.FORM_1.1", "S.FORM_1.2"]
    assert form.sections[1].title == {"en": "Symptoms"}
    subsections = form.sections[1].subsections
    assert [(g.oid, g.matrix, len(g.blocks)) for g in subsections] == [
        ("G.FORM_1.2", "symptoms", 2),
        ("G.FORM_1.3", None, 1),
        ("G.FORM_1.4", "symptoms", 1),
    ]
    assert any("HTML" in f.message and f.level is FindingLevel.INFO for f in at(result, 3))
    assert any("ranking" in f.message for f in at(result, 4))
    assert any("split" in f.message for f in at(result, 6))
    assert round_trip(result.definition) == result.definition


def test_ranges_bounds_and_action_tags() -> None:
    result = read_dictionary(
        dictionary(
            field("weight", validation="number", min="30", max="250.5"),
            field("height", validation="integer", min="100", max="230", annotation="@FORCE-MINMAX"),
            field("visit_date", validation="date_dmy", min="1/2/2020", max="today"),
            field("seen_at", validation="datetime_ymd", min="2020-01-01 08:00", max="now"),
            field("clock", validation="time", min="8:00"),
            field("postcode", validation="zipcode", min="1"),
            field("initials", annotation="@CHARLIMIT=3 @HIDDEN"),
            field("ratio", validation="number_comma_decimal", min="0,5"),
            field("dob", validation="date_ymd", max="today", annotation="@FORCE-MINMAX"),
            field("count", validation="int", min="0"),
            field("free", annotation=" @FORCE-MINMAX"),
        )
    )
    definition = result.definition
    assert item(definition, "weight").soft_range == Range("30", "250.5")
    assert item(definition, "height").hard_range == Range("100", "230")
    assert item(definition, "height").soft_range is None
    visit_date = item(definition, "visit_date")
    assert visit_date.soft_range == Range(min="2020-02-01")
    assert visit_date.edit_checks == [today_check("visit_date", "max", forced=False)]
    assert visit_date.edit_checks[0].severity is Severity.WARNING
    assert item(definition, "seen_at").soft_range == Range(min="2020-01-01 08:00")
    assert any("'now'" in f.message for f in at(result, 5))
    assert item(definition, "clock").soft_range == Range(min="08:00")
    assert item(definition, "postcode").soft_range is None
    assert any(f.level is FindingLevel.WARNING for f in at(result, 7))
    assert item(definition, "initials").max_length == 3
    assert item(definition, "initials").annotation == "@CHARLIMIT=3 @HIDDEN"
    assert item(definition, "ratio").soft_range == Range(min="0.5")
    dob = item(definition, "dob")
    assert (dob.hard_range, dob.soft_range) == (None, None)
    assert dob.edit_checks == [today_check("dob", "max", forced=True)]
    assert dob.edit_checks[0].severity is Severity.BLOCKING
    assert item(definition, "count").validation is Validation.INTEGER
    assert any(f.level is FindingLevel.INFO and "'int'" in f.message for f in at(result, 11))
    assert any("@HIDDEN applied" in f.message for f in result.findings)
    text, _findings = write_dictionary(definition)
    written = {cells[0]: cells for cells in csv.reader(io.StringIO(text))}
    assert written["visit_date"][8:10] == ["2020-02-01", "today"]
    assert (written["dob"][9], written["dob"][17]) == ("today", "@FORCE-MINMAX")
    assert written["count"][7] == "integer"
    assert written["free"][17] == " @FORCE-MINMAX"  # no range: the tag is left as it is
    assert round_trip(definition) == definition


def test_action_tag_expressions_are_renamed_and_checked_at_import() -> None:
    result = read_dictionary(
        dictionary(
            field("Age", validation="integer"),
            field("summary", annotation="@CALCTEXT(concat([Age], [ghost])) @HIDDEN"),
            field("later", annotation="@IF([age] > 1, @READONLY, @PLACEHOLDER='x')"),
        )
    )
    summary = item(result.definition, "summary")
    assert summary.annotation == "@CALCTEXT(concat([age], [ghost])) @HIDDEN"
    (problem,) = [f for f in at(result, 3) if "action tag" in f.message]
    assert "[ghost]" in problem.message and "kept, to be corrected" in problem.message
    assert not [f for f in at(result, 4) if "action tag:" in f.message]
    kept = [f.message for f in result.findings if "@PLACEHOLDER" in f.message]
    assert kept and "kept in the annotation" in kept[0]


def test_expressions_are_validated_renamed_and_events_noted() -> None:
    result = read_dictionary(
        dictionary(
            field("Age", validation="integer"),
            field("adult", "yesno", logic="[Age] >= 18"),
            field("smart", logic="[event-name] = 'baseline_arm_1'"),
            field("later", logic="[baseline_arm_1][age] > 1 AND [ghost] = '1'"),
            field("survey", logic="[survey-url] <> ''"),
        )
    )
    definition = result.definition
    assert item(definition, "age").name == "age"
    assert any("imported as age" in f.message for f in at(result, 2))
    assert parse(item(definition, "adult").show_if or "") == parse("[age] >= 18")
    assert item(definition, "smart").show_if == "[event-name] = 'baseline_arm_1'"
    assert item(definition, "survey").show_if is None
    (survey,) = [f for f in at(result, 6) if "left out" in f.message]
    assert survey.level is FindingLevel.WARNING
    assert "no surveys" in survey.message
    assert item(definition, "later").show_if is not None
    assert any("[ghost]" in f.message for f in at(result, 5))
    assert any(f.where == "event baseline_arm_1" for f in result.findings)


def test_choices_and_slider_details() -> None:
    result = read_dictionary(
        dictionary(
            field("colour", "dropdown", choices=" r , Red, dark | g,Green | blue | 1, <i>x</i> "),
            field("dup", "radio", choices="1, A | 1, B | , C"),
            field("mood", "slider", choices="Sad | Happy", validation="number"),
        )
    )
    colour = item(result.definition, "colour")
    assert colour.choices == [
        Choice("r", {"en": "Red, dark"}),
        Choice("g", {"en": "Green"}),
        Choice("blue", {"en": "blue"}),
        Choice("1", {"en": "x"}),
    ]
    assert any("no comma" in f.message for f in at(result, 2))
    assert item(result.definition, "dup").choices == [Choice("1", {"en": "A"})]
    assert len(at(result, 3)) == 2
    mood = item(result.definition, "mood")
    assert mood.slider == Slider(left={"en": "Sad"}, right={"en": "Happy"}, show_number=True)
    assert round_trip(result.definition) == result.definition


# --- the regular expressions ------------------------------------------------------------------

PATTERN_SAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "alpha_only": (["abc", "ABCdef"], ["", "ab1", "é", "a b"]),
    "mrn_10d": (["0123456789"], ["123456789", "01234567890", "012345678a"]),
    "mrn_generic": (["A-12_b", "007"], ["", "A 12", "A/12"]),
    "vmrn": (["1234", "123456789"], ["123", "1234567890", "12a4"]),
    "ssn": (
        ["123-45-6789", "899-01-0001"],
        ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000", "123456789"],
    ),
    "zipcode": (["37232", "37232-0011"], ["3723", "37232-11", "37232 0011"]),
    "postalcode_australia": (["2000", "0800"], ["200", "20000", "2O00"]),
    "postalcode_canada": (
        ["K1A 0B6", "k1a0b6", "H3Z 2Y7"],
        ["D1A 0B6", "K1A-0B6", "W1A 0B6", "K1A 0B", "K1A 0U6"],
    ),
    "postalcode_french": (
        ["75001", "01000", "97400", "98000"],
        ["7500", "1000", "99000", "00100", "750010"],
    ),
    "postalcode_germany": (["10115", "01067", "99998"], ["00100", "1011", "101155", "1O115"]),
    "phone_australia": (
        ["0298765432", "(02) 9876 5432", "0412 345 678", "03 9876 5432"],
        ["0198765432", "029876543", "+61298765432", "(02)98765432 1"],
    ),
}
NANP_SAMPLES = (
    [
        "615-322-2222",
        "(212) 555-1234",
        "615.322.2222",
        "6153222222",
        "615-322-2222 x123",
        "615 322 2222 ext. 9",
    ],
    ["123-456-7890", "615-122-2222", "322-2222", "615-322-222", "+44 20 7946 0958"],
)


def test_every_pattern_runs_in_re2() -> None:
    assert {name: pattern_problem(p) for name, p in PATTERNS.items()} == dict.fromkeys(PATTERNS)
    assert pattern_problem(NANP_PHONE_PATTERN) is None


@pytest.mark.parametrize(
    ("pattern", "value", "valid"),
    [
        (pattern, value, valid)
        for name, (good, bad) in PATTERN_SAMPLES.items()
        for pattern in [PATTERNS[name]]
        for value, valid in [(v, True) for v in good] + [(v, False) for v in bad]
    ]
    + [(NANP_PHONE_PATTERN, v, True) for v in NANP_SAMPLES[0]]
    + [(NANP_PHONE_PATTERN, v, False) for v in NANP_SAMPLES[1]],
)
def test_validation_patterns(pattern: str, value: str, valid: bool) -> None:
    assert matches(pattern, value) is valid


def test_every_pattern_has_samples() -> None:
    assert set(PATTERN_SAMPLES) == set(PATTERNS)


# --- export -----------------------------------------------------------------------------------


def _foreign_definition() -> Definition:
    """Things REDCap cannot express, in a definition made in the designer."""
    weight = Item(
        oid="I.WEIGHT",
        name="weight",
        type=ItemType.TEXT,
        label={"en": "Weight", "fr": "Poids"},
        units="kg",
        validation=Validation.NUMBER,
        hard_range=Range("20", "300"),
        soft_range=Range("40", "150"),
        aliases=[Alias("CDASH", "VSORRES")],
        edit_checks=[EditCheck("EC.1", "[weight] > 200", {"en": "Heavy?"})],
        missing_codes_allowed=True,
    )
    height = Item(
        oid="I.HEIGHT",
        name="height",
        type=ItemType.TEXT,
        label={"en": "Height"},
        validation=Validation.INTEGER,
        hard_range=Range("100", "230"),
        max_length=3,
    )
    partial = Item(
        oid="I.ONSET",
        name="onset",
        type=ItemType.TEXT,
        label={"en": "Onset"},
        validation=Validation.PARTIAL_DATE,
    )
    custom = Item(
        oid="I.KIT",
        name="kit",
        type=ItemType.TEXT,
        label={"en": "Kit"},
        validation=Validation.REGEX,
        pattern="^[A-Z]{3}[0-9]{6}$",
    )
    consent = Item(
        oid="I.CONSENT",
        name="consent",
        type=ItemType.ACKNOWLEDGEMENT,
        label={"en": "I have read it | all"},
    )
    note = Static(oid="T.1", content={"en": "Fill in <all> fields & **check**"})
    repeating = SubSection(
        oid="G.2",
        title={"en": "Medications"},
        repeating=True,
        show_if="[weight] > 1",
        blocks=[consent],
    )
    form = Form(
        oid="F.VITALS",
        name="vitals",
        title={"en": "Vital signs"},
        repeating=True,
        sections=[
            Section(
                oid="S.1",
                title={"en": "Measures"},
                show_if="[weight] > 0",
                subsections=[
                    SubSection(oid="G.1", blocks=[weight, height, partial, custom, note]),
                    repeating,
                ],
            ),
            Section(oid="S.2", title={"en": "Empty"}),
        ],
    )
    visit = Visit(oid="V.BASE", name="baseline", title={"en": "Baseline"}, forms=["vitals"])
    return Definition(languages=["en", "fr"], forms=[form], schedule=Schedule(visits=[visit]))


def test_export_reports_what_redcap_cannot_express() -> None:
    text, findings = write_dictionary(_foreign_definition())
    for where, words in [
        ("languages", "fr"),
        ("schedule", "baseline"),
        ("F.VITALS", "title"),
        ("F.VITALS", "repeating"),
        ("S.1", "condition"),
        ("S.2", "no field"),
        ("G.2", "sub-section title"),
        ("G.2", "repeating"),
        ("G.2", "condition"),
        ("I.WEIGHT", "units"),
        ("I.WEIGHT", "hard range"),
        ("I.WEIGHT", "alias"),
        ("I.WEIGHT", "missing data"),
        ("EC.1", "edit check"),
        ("I.ONSET", "partial_date"),
        ("I.KIT", "pattern"),
        ("I.CONSENT", "checkbox"),
        ("I.HEIGHT", "@FORCE-MINMAX"),
        ("I.HEIGHT", "@CHARLIMIT=3"),
    ]:
        assert any(f.where == where and words in f.message for f in findings), (where, words)
    assert not any("soft range" in f.message for f in findings)
    rows = {cells[0]: cells for cells in csv.reader(io.StringIO(text))}
    assert rows["weight"][8:10] == ["40", "150"]
    assert rows["height"][17] == "@FORCE-MINMAX @CHARLIMIT=3"
    assert rows["consent"][3:6] == [
        "checkbox",
        "I have read it | all",
        "1, I have read it &#124; all",
    ]
    assert rows["v_1"][3] == "descriptive"
    back = read_dictionary(text.encode()).definition
    height = item(back, "height")
    assert (height.hard_range, height.max_length) == (Range("100", "230"), 3)
    (static,) = [b for b in blocks(back) if isinstance(b, Static)]
    assert static.content == {"en": "Fill in <all> fields & **check**"}


def test_export_of_an_empty_definition_is_the_header() -> None:
    text, findings = write_dictionary(Definition())
    assert list(csv.reader(io.StringIO(text))) == [list(HEADER)]
    assert findings == []


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(range(256)) * 3,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"<html><body>not a dictionary</body></html>",
        b"name,age\nalice,3\n",
        "\ufeffVariable / Field Name,Form Name\nx,y\n".encode(),
    ],
    ids=["empty", "binary", "png", "html", "other-csv", "too-few-columns"],
)
def test_unreadable_files_raise(data: bytes) -> None:
    with pytest.raises(InterchangeError):
        read_dictionary(data)


def test_bad_rows_become_findings_and_the_rest_is_imported() -> None:
    data = dictionary(
        field("record_id"),
        field("record_id", label="again"),
        ["short", "form_1", "", "text"],
        field("gadget", "widget"),
        field("code", validation="postalcode_mars"),
        field("pick", "radio", choices="1, One | Two"),
        field("shown", logic="[record_id] = = 1"),
        field("", label="nameless"),
        field("query", "sql", section="Lost header?", choices="select 1"),
        field("after", "yesno"),
        field("nowhere", form=""),
    )
    result = read_dictionary(data)
    definition = result.definition
    assert [b.name for b in blocks(definition) if isinstance(b, Item)] == [
        "record_id",
        "short",
        "code",
        "pick",
        "shown",
        "after",
    ]
    assert item(definition, "record_id").label == {"en": "Record_Id"}
    assert "twice" in at(result, 3)[0].message
    assert "cells" in at(result, 4)[0].message
    assert "unknown field type 'widget'" in at(result, 5)[0].message
    assert "postalcode_mars" in at(result, 6)[0].message
    assert item(definition, "code").validation is None
    assert "no comma" in at(result, 7)[0].message
    assert item(definition, "pick").choices[1] == Choice("Two", {"en": "Two"})
    (logic,) = at(result, 8)
    assert "[record_id] = = 1" in logic.message
    assert item(definition, "shown").show_if is None
    assert "without a variable name" in at(result, 9)[0].message
    assert "SQL" in at(result, 10)[0].message
    assert definition.forms[0].sections[-1].title == {"en": "Lost header?"}
    assert "header" in at(result, 11)[0].message
    assert "without a form name" in at(result, 12)[0].message
    for line in (3, 4, 5, 6, 7, 8, 9, 10, 12):
        assert any(f.level is FindingLevel.WARNING for f in at(result, line)), line


def test_line_numbers_count_records_not_physical_lines() -> None:
    result = read_dictionary(
        dictionary(field("first", label="two\nlines"), field("dup"), field("dup"))
    )
    assert item(result.definition, "first").label == {"en": "two\nlines"}
    assert "twice" in at(result, 4)[0].message


def test_windows_1252_semicolons_and_short_headers() -> None:
    text = dictionary(field("age", label="Âge du patient")).decode()
    result = read_dictionary(text.replace(",", ";").encode("cp1252"))
    assert item(result.definition, "age").label == {"en": "Âge du patient"}
    assert {f.level for f in result.findings if f.where == "file"} == {
        FindingLevel.WARNING,
        FindingLevel.INFO,
    }
    utf16 = read_dictionary(dictionary(field("age", label="Âge")).decode().encode("utf-16"))
    assert item(utf16.definition, "age").label == {"en": "Âge"}
    short = read_dictionary(dictionary(["age", "form_1", "", "text", "Age"], header=HEADER[:16]))
    assert item(short.definition, "age").label == {"en": "Age"}
    assert any(f.where == "line 1" for f in short.findings)


def test_names_apart_by_a_last_underscore_keep_apart_oids() -> None:
    """REDCap names may end with "_": such a field, descriptive text or form is not merged into
    the one without it (values are stored by item OID), and a round trip keeps every OID."""
    rows = [
        field("a", "text", form="form_a"),
        field("a_", "text", form="form_a"),
        field("b", "calc", form="form_a_"),
        field("b_", "descriptive", form="form_a_"),
    ]
    rows[2]["choices"] = "1 + [a]"
    definition = read_dictionary(dictionary(*rows)).definition
    assert [form.oid for form in definition.forms] == ["F.FORM_A", "F.FORM_A_"]
    assert [block.oid for block in blocks(definition)] == ["I.A", "I.A_", "I.B", "T.B_"]
    assert round_trip(definition) == definition


def test_a_header_alone_is_an_empty_definition() -> None:
    result = read_dictionary(dictionary())
    assert result.definition.forms == []
    assert any("no fields" in f.message for f in result.findings)


# --- properties -------------------------------------------------------------------------------

FILE_TYPES = sorted({row[3] for row in VALIDATION_ROWS} or {"text", "radio", "sql"})
FILE_VALIDATIONS = sorted({row[7] for row in VALIDATION_ROWS if row[3] == "text"} or {""})
PIECES = st.one_of(
    st.text(max_size=4),
    st.sampled_from(
        [",", "|", '"', "'", "\n", "\r\n", " ", "<b>", "</i>", "&amp;", "é", "日本", "🙂"]
    ),
)
LABELS = st.lists(PIECES, max_size=6).map("".join)
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@st.composite
def random_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(NAMES, min_size=1, max_size=8, unique=True))
    rows = []
    for name in names:
        kind = draw(st.sampled_from(FILE_TYPES))
        row = field(name, kind, form=draw(st.sampled_from(["form_a", "form_b"])))
        row["label"] = draw(LABELS)
        row["note"] = draw(LABELS)
        row["section"] = draw(st.one_of(st.just(""), LABELS))
        row["required"] = draw(st.sampled_from(["", "y"]))
        if kind in ("radio", "dropdown", "checkbox"):
            codes = draw(
                st.lists(
                    st.from_regex(r"[a-z0-9]{1,3}", fullmatch=True),
                    min_size=1,
                    max_size=4,
                    unique=True,
                )
            )
            choices = [(code, draw(LABELS)) for code in codes]
            row["choices"] = " | ".join(f"{code}, {label}" for code, label in choices)
            row["expected choices"] = choices  # not a column: dictionary() ignores it
            row["matrix"] = draw(st.sampled_from(["", "grid"]))
        elif kind == "slider":
            row["choices"] = draw(LABELS)
        elif kind == "calc":
            row["choices"] = "1 + [" + names[0] + "]"
        elif kind == "text":
            row["validation"] = draw(st.sampled_from(FILE_VALIDATIONS))
        if draw(st.booleans()):
            row["logic"] = f"[{names[0]}] <> ''"
        rows.append(row)
    return rows


def _as_read(text: str) -> str | None:
    """What a clean cell reads as (None when HTML or entities make it a different story)."""
    if "<" in text or "&" in text:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


@settings(max_examples=100, deadline=None)
@given(random_rows())
def test_random_dictionaries_round_trip(rows: list[dict[str, Any]]) -> None:
    first = read_dictionary(dictionary(*rows))
    assert round_trip(first.definition) == first.definition
    kept = {b.name: b for b in blocks(first.definition) if isinstance(b, Item)}
    for row in rows:
        if row["type"] in ("sql", "descriptive"):
            continue
        found = kept[row["name"]]
        expected = _as_read(row["label"])
        if expected is not None:
            assert found.label == {"en": expected}
        choices = [(code, _as_read(label)) for code, label in row.get("expected choices", [])]
        if all(label is not None and "|" not in label for _code, label in choices):
            assert [(c.code, c.label) for c in found.choices] == [
                (code, {"en": label}) for code, label in choices
            ]


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=600),
        st.text(max_size=600).map(lambda text: (",".join(HEADER) + "\n" + text).encode()),
    )
)
def test_random_bytes_give_a_result_or_an_interchange_error(data: bytes) -> None:
    try:
        result = read_dictionary(data)
    except InterchangeError:
        return
    assert isinstance(result, ImportResult)
    assert isinstance(result.definition, Definition)


@given(st.text(alphabet="<>ab!- /", max_size=40))
def test_a_lt_no_tag_can_follow_is_text_before_the_parser_sees_it(raw):
    """Every "<" after the cell's last ">" opens nothing: written as &lt; (read back as "<"),
    the parser no longer rescans the rest of the cell from each one (quadratic time)."""
    end = raw.rfind(">")
    escaped = redcap._unopened(raw)
    assert escaped[: end + 1] == raw[: end + 1]
    assert "<" not in escaped[end + 1 :]
    assert escaped[end + 1 :].replace("&lt;", "<") == raw[end + 1 :]


def test_unclosed_tags_and_comments_stay_text():
    assert redcap.markdown_text("<b>x</b> a < b <a <a") == "**x** a < b <a <a"
    assert redcap.plain_text("<i>y</i><!--<!--") == "y<!--<!--"  # as the parser gave it
