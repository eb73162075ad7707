"""The wide CSV, R and Dataset-JSON exports, each read back by a reader of its own (the csv
module and pandas, a grammar check of the R script against the CSV files and the codebook,
jsonschema with the project's Dataset-JSON 1.1 schema) and compared value by value with the
database, on a study with every item type, repeated visits and forms, missing-data codes,
French, German and Polish text, and a personal-data item that must never leave."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import jsonschema
import pandas
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from datacapt.design import services as design
from datacapt.ecrf import versions
from datacapt.ecrf.definition import (
    Choice,
    Form,
    Item,
    ItemType,
    Section,
    Slider,
    SubSection,
    Validation,
    Visit,
)
from datacapt.entry.services import new_form_instance
from datacapt.exports.csv_wide import NAME_LIMIT
from datacapt.exports.options import Coded, ExportFormat, ExportOptions
from datacapt.exports.r_script import r_string
from datacapt.exports.services import export
from datacapt.models import AuditEvent, FormInstance, FormStatus, ItemValue, Subject
from datacapt.subjects.services import new_visit_instance
from tests.factories import SETUP
from tests.functional.test_exports import TERM, entered, read_zip, signed_in, world  # noqa: F401

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "data/dataset-json/dataset-json-1.1.schema.json").read_text()
)
LONG_NAME = "medication_taken_during_the_last_seven_days_before_the_follow_up"


def _text(en: str, fr: str, de: str, pl: str) -> dict[str, str]:
    return {"en": en, "fr": fr, "de": de, "pl": pl}


def _choices(*choices: tuple[str, str, str, str, str]) -> list[Choice]:
    return [Choice(code, _text(*labels)) for code, *labels in choices]


T, V = ItemType, Validation
#: name, type, label in en/fr/de/pl, and what else the item has: one of every type.
ITEMS = [
    ("remark", T.TEXT, ("Remark", "Remarque", "Bemerkung", "Uwaga"), {}),
    ("notes", T.LONG_TEXT, ("Notes", "Notes", "Notizen", "Notatki"), {}),
    (
        "tablets",
        T.TEXT,
        ("Tablets", "Comprimés", "Tabletten", "Tabletki"),
        {"validation": V.INTEGER, "missing_codes_allowed": True},
    ),
    (
        "dose",
        T.TEXT,
        ("Dose", "Dose", "Dosis", "Dawka"),
        {"validation": V.NUMBER, "decimals": 2, "missing_codes_allowed": True},
    ),
    ("seen_on", T.TEXT, ("Seen on", "Vu le", "Gesehen am", "Widziany"), {"validation": V.DATE}),
    ("seen_at", T.TEXT, ("Seen at", "Vu à", "Um", "O"), {"validation": V.DATETIME}),
    ("taken_at", T.TEXT, ("Taken at", "Pris à", "Genommen", "Przyjęty"), {"validation": V.TIME}),
    ("walk", T.TEXT, ("Walk", "Marche", "Gehtest", "Marsz"), {"validation": V.TIME_MM_SS}),
    ("onset", T.TEXT, ("Onset", "Début", "Beginn", "Początek"), {"validation": V.PARTIAL_DATE}),
    (
        "colour",
        T.SINGLE_CHOICE,
        ("Colour", "Couleur", "Farbe", "Kolor"),
        {
            "choices": _choices(
                ("1", "Yellow", "Jaune", "Gelb", "Żółty"),
                ("2", "Green", "Vert", "Grün", "Zielony"),
                ("3", "Light blue", "Bleu clair", "Hellblau", "Jasnoniebieski"),
            )
        },
    ),
    (
        "symptoms",
        T.MULTIPLE_CHOICE,
        ("Symptoms", "Symptômes", "Symptome", "Objawy"),
        {
            "choices": _choices(
                ("a", "Cough", "Toux", "Husten", "Kaszel"),
                ("b", "Fever", "Fièvre", "Fieber", "Gorączka"),
            )
        },
    ),
    ("smoker", T.YES_NO, ("Smoker", "Fumeur", "Raucher", "Palacz"), {}),
    ("fasting", T.TRUE_FALSE, ("Fasting", "À jeun", "Nüchtern", "Na czczo"), {}),
    ("pain", T.SLIDER, ("Pain", "Douleur", "Schmerz", "Ból"), {"slider": Slider(0, 10)}),
    (
        "pain_twice",
        T.CALCULATED,
        ("Pain × 2", "Douleur × 2", "Schmerz × 2", "Ból × 2"),
        {"calculation": "[pain] * 2"},
    ),
    ("scan", T.FILE, ("Scan", "Examen", "Aufnahme", "Skan"), {"file_kind": "file"}),
    ("read_leaflet", T.ACKNOWLEDGEMENT, ("Leaflet read", "Notice lue", "Gelesen", "Czytane"), {}),
    (LONG_NAME, T.TEXT, ("Medication", "Médicament", "Medikament", "Lek"), {}),
    ("nickname", T.TEXT, ("Nickname", "Surnom", "Spitzname", "Przezwisko"), {"identifier": True}),
]
ALL_TYPES = Form(
    oid="F.ALL_TYPES",
    name="all_types",
    title=_text("Every type", "Tous les types", "Alle Typen", "Wszystkie typy"),
    repeating=True,
    sections=[
        Section(
            oid="S.ALL_TYPES.1",
            subsections=[
                SubSection(
                    oid="G.ALL_TYPES.1",
                    blocks=[
                        Item(f"I.{name.upper()}", name, kind, _text(*label), **more)
                        for name, kind, label, more in ITEMS
                    ],
                )
            ],
        )
    ],
)
OIDS = {name: f"I.{name.upper()}" for name, *_rest in ITEMS}

#: (subject, follow-up repeat, form repeat) → the texts stored, by item name.
ENTERED = {
    ("par01-0001", 1, 1): {
        "remark": "Légère céphalée, Übelkeit, ból głowy",
        "notes": '=SUM(A1:A9)\nsecond line, "quoted"',
        "tablets": "12",
        "dose": "2.50",
        "seen_on": "2026-03-04",
        "seen_at": "2026-03-04T09:15",
        "taken_at": "08:30",
        "walk": "04:30",
        "onset": "2025-11",
        "colour": "1",
        "symptoms": "a|b",
        "smoker": "1",
        "fasting": "0",
        "pain": "7",
        "pain_twice": "14",
        "scan": "scan-001.pdf",
        "read_leaflet": "1",
        LONG_NAME: "Paracétamol",
        "nickname": "Kowalski the secret",
    },
    ("par01-0001", 1, 2): {"remark": "Zweite Zeile", "colour": "3", "smoker": "0", "pain": "0"},
    ("par01-0001", 2, 1): {"remark": "Żółć", "dose": "-0.25", "pain": "10", "pain_twice": "20"},
    ("ber01-0001", 1, 1): {"remark": "Grüße aus Berlin", "colour": "2"},
}
#: (subject, follow-up repeat, form repeat) → item name → missing-data code (the value blank).
MISSING = {("ber01-0001", 1, 1): {"tablets": "NK", "dose": "NA"}}


@pytest.fixture
def study(entered, dbsession, world):  # noqa: F811
    """The demo design with a form of every type, repeated within a repeating follow-up visit
    (version 2), and its values stored for both subjects."""
    draft = versions.draft(dbsession, world.study)
    definition = versions.definition_of(draft)
    definition.languages = ["en", "fr", "de", "pl"]
    definition.forms.append(ALL_TYPES)
    definition.schedule.visits.append(
        Visit(
            "V.FOLLOW_UP",
            "follow_up",
            _text("Follow-up", "Suivi", "Nachsorge", "Kontrola"),
            day=56,
            repeating=True,
            forms=["all_types"],
        )
    )
    design.save_draft(
        dbsession,
        world.study,
        draft,
        definition,
        expected_lock=draft.lock_version,
        action="design.imported",
        element=None,
        old=None,
        new=None,
        actor=SETUP,
    )
    design.publish(
        dbsession,
        world.study,
        draft,
        actor=SETUP,
        reason="Every type",
        expected_lock=draft.lock_version,
    )
    visits = {}
    for (label, visit_repeat, form_repeat), values in ENTERED.items():
        subject = world.subjects[label]
        if (label, visit_repeat) not in visits:
            visits[(label, visit_repeat)] = new_visit_instance(
                dbsession, subject, "follow_up", visit_repeat, SETUP
            )
        instance = new_form_instance(
            dbsession,
            subject,
            visits[(label, visit_repeat)],
            "all_types",
            form_repeat,
            status=FormStatus.COMPLETE,
            version_number=2,
            actor=SETUP,
        )
        missing = MISSING.get((label, visit_repeat, form_repeat), {})
        for name, text in [*values.items(), *((name, None) for name in missing)]:
            number = Decimal(text) if text and re.fullmatch(r"-?\d+(\.\d+)?", text) else None
            dbsession.add(
                ItemValue(
                    tenant_id=subject.tenant_id,
                    form_instance_id=instance.id,
                    item_oid=OIDS[name],
                    value=text,
                    value_number=number,
                    missing_code=missing.get(name),
                )
            )
    dbsession.flush()
    return world


def database(dbsession) -> dict[tuple[str, str, int, str, int, str], tuple[str | None, str | None]]:
    """(subject, visit, visit repeat, form, form repeat, item OID) → (text, missing-data code)."""
    rows = dbsession.execute(
        select(
            Subject.label,
            FormInstance.visit,
            FormInstance.visit_repeat,
            FormInstance.form,
            FormInstance.repeat,
            ItemValue.item_oid,
            ItemValue.value,
            ItemValue.missing_code,
        )
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .join(Subject, Subject.id == FormInstance.subject_id)
    ).all()
    return {tuple(row[:6]): (row[6], row[7]) for row in rows}


def run(dbsession, built, tmp_path, kind: ExportFormat, **options):
    target = tmp_path / f"{kind.value}.zip"
    result = export(
        dbsession, built.study, ExportOptions(format=kind, **options), target, actor=SETUP
    )
    return target, result


def codebook(files) -> dict[str, dict[str, str]]:
    return {row["item"]: row for row in files["codebook.csv"]}


def code_labels(entry: dict[str, str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in entry["codes"].split("; ")) if entry["codes"] else {}


def test_the_wide_csv_holds_every_value_once_under_its_predictable_name(study, dbsession, tmp_path):
    target, result = run(
        dbsession, study, tmp_path, ExportFormat.CSV_WIDE, coded=Coded.BOTH, bom=True
    )
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == ["data.csv", "columns.csv", "codebook.csv"]
        raw = archive.read("data.csv")
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    files = read_zip(target)
    rows = {row["subject"]: row for row in files["data.csv"]}
    assert set(rows) == {"par01-0001", "ber01-0001"}
    assert rows["ber01-0001"]["site"] == "ber01"
    mapping = {row["column"]: row for row in files["columns.csv"]}
    assert list(mapping) == list(files["data.csv"][0])  # every column, in order
    assert all(len(name) <= NAME_LIMIT for name in mapping)
    # the rule: VISIT[_Rn].FORM[_Rm].ITEM, with _label and _missing beside
    for name in (
        "follow_up.all_types.remark",
        "follow_up.all_types_R2.colour",
        "follow_up.all_types_R2.colour_label",
        "follow_up_R2.all_types.dose",
        "follow_up.all_types.tablets_missing",
        "screening.demographics.weight_kg",
        "unscheduled.adverse_events.ae_term",
    ):
        assert name in mapping and mapping[name]["full_name"] == name
    cut = [row for row in mapping.values() if row["column"] != row["full_name"]]
    assert {row["item"] for row in cut} == {LONG_NAME}
    assert all(len(row["full_name"]) > NAME_LIMIT for row in cut)
    assert len({row["column"] for row in cut}) == len(cut)  # still unique once cut
    stored = database(dbsession)
    codes = codebook(files)
    oid_of = {entry["item"]: entry["oid"] for entry in codes.values()}
    written = 0
    for subject, row in rows.items():
        for column, place in mapping.items():
            if place["holds"] == "key":
                continue
            key = (
                subject,
                place["visit"],
                int(place["visit_repeat"]),
                place["form"],
                int(place["form_repeat"]),
                oid_of[place["item"]],
            )
            text, missing = stored.get(key, (None, None))
            expected = {"value": text, "missing": missing, "label": None}[place["holds"]]
            if place["holds"] == "label" and text is not None:
                expected = "|".join(code_labels(codes[place["item"]])[c] for c in text.split("|"))
            if (
                expected is not None
                and expected.startswith(("=", "+", "-", "@"))
                and not re.fullmatch(r"-?\d+(\.\d+)?", expected)
            ):
                expected = "'" + expected  # neutralised, as in every CSV export
            assert row[column] == (expected or ""), (subject, column)
            written += place["holds"] == "value" and text is not None
    personal = {k for k in stored if k[5] in ("I.NICKNAME", "I.INITIALS")}
    assert written == len(
        [k for k, (text, _m) in stored.items() if text is not None and k not in personal]
    )
    assert result.values == len(stored) - len(personal)
    assert "Kowalski" not in raw.decode("utf-8")
    assert not any(row["item"] == "nickname" for row in mapping.values())
    assert "I.NICKNAME" not in {entry["oid"] for entry in codes.values()}
    frame = pandas.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(frame.columns) == list(mapping)
    by_subject = frame.set_index("subject")
    assert (
        by_subject.loc["par01-0001", "follow_up.all_types.remark"]
        == "Légère céphalée, Übelkeit, ból głowy"
    )
    assert (
        by_subject.loc["par01-0001", "follow_up.all_types.notes"]
        == '\'=SUM(A1:A9)\nsecond line, "quoted"'
    )
    assert by_subject.loc["ber01-0001", "follow_up.all_types.tablets_missing"] == "NK"


# --- Dataset-JSON -------------------------------------------------------------------------


def typed(text: str, data_type: str):
    """What the database's text is as a Dataset-JSON value of ``data_type``."""
    if data_type == "boolean":
        return text == "1"
    if data_type == "integer":
        return int(text)
    if data_type == "decimal":
        return format(Decimal(text), "f")
    return text


def check_dataset(document: dict, form: str, stored, files) -> int:
    """Compare a dataset with the database value by value; the number of values compared."""
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert document["datasetJSONVersion"] == "1.1.0" and document["name"] == form
    assert document["records"] == len(document["rows"])
    names = [column["name"] for column in document["columns"]]
    table = files[f"forms/{form}.csv"]
    if table:
        assert names == list(table[0])  # the per-form table's columns, in its order
    keys = {c["name"]: c["keySequence"] for c in document["columns"] if "keySequence" in c}
    assert keys == {"subject": 1, "visit": 2, "visit_repeat": 3, "form_repeat": 4}
    codes = codebook(files)
    compared = 0
    for values in document["rows"]:
        row = dict(zip(names, values, strict=True))
        assert isinstance(row["visit_repeat"], int) and isinstance(row["form_repeat"], int)
        for column in document["columns"]:
            name = column["name"]
            entry = codes.get(name)
            if entry is None or entry["form"] != form:
                continue
            assert column["itemOID"] == entry["oid"] and column["label"] == entry["label"]
            key = (
                row["subject"],
                row["visit"],
                row["visit_repeat"],
                form,
                row["form_repeat"],
                entry["oid"],
            )
            text, missing = stored.get(key, (None, None))
            assert row[name] == (None if text is None else typed(text, column["dataType"])), key
            if entry["missing_codes_allowed"] == "yes":
                assert row[f"{name}_missing"] == missing
            compared += text is not None
    return compared


def test_dataset_json_is_valid_and_holds_the_values_typed(study, dbsession, tmp_path):
    target, result = run(dbsession, study, tmp_path, ExportFormat.DATASET_JSON)
    csv_target, _ = run(dbsession, study, tmp_path, ExportFormat.CSV)
    files = read_zip(csv_target)
    stored = database(dbsession)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        documents = {
            name.removeprefix("forms/").removesuffix(".json"): json.loads(
                archive.read(name).decode("utf-8")
            )
            for name in names
            if name.endswith(".json")
        }
    assert set(documents) == {
        "consent",
        "demographics",
        "vital_signs",
        "adverse_events",
        "all_types",
    }
    assert "codebook.csv" in names
    compared = sum(check_dataset(doc, form, stored, files) for form, doc in documents.items())
    personal = {"I.NICKNAME", "I.INITIALS"}
    kept = [k for k, (text, _m) in stored.items() if k[5] not in personal]
    assert result.values == len(kept)
    assert compared == len([k for k in kept if stored[k][0] is not None])
    columns = {c["name"]: c for c in documents["all_types"]["columns"]}
    names_of = {name: position for position, name in enumerate(columns)}
    expected_types = {
        "remark": "string",
        "notes": "string",
        "tablets": "integer",
        "dose": "decimal",
        "seen_on": "date",
        "seen_at": "datetime",
        "taken_at": "time",
        "walk": "string",
        "onset": "string",
        "colour": "string",
        "symptoms": "string",
        "smoker": "boolean",
        "fasting": "boolean",
        "pain": "integer",
        "pain_twice": "decimal",
        "scan": "string",
        "read_leaflet": "boolean",
    }
    assert {name: columns[name]["dataType"] for name in expected_types} == expected_types
    assert columns["dose"]["targetDataType"] == "decimal"
    assert "nickname" not in columns
    remarks = [row[names_of["remark"]] for row in documents["all_types"]["rows"]]
    assert "Légère céphalée, Übelkeit, ból głowy" in remarks  # UTF-8, not escaped away
    assert documents["all_types"]["studyOID"] == "ST.DEMO"
    assert documents["all_types"]["metaDataVersionOID"] == "MDV.2"
    assert (
        documents["all_types"]["dbLastModifiedDateTime"]
        <= documents["all_types"]["datasetJSONCreationDateTime"]
    )
    with zipfile.ZipFile(target) as archive:
        assert "Kowalski" not in b"".join(archive.read(n) for n in names).decode("utf-8")


def test_ndjson_is_one_metadata_line_then_a_row_a_line(study, dbsession, tmp_path):
    target, _ = run(dbsession, study, tmp_path, ExportFormat.DATASET_NDJSON, coded=Coded.BOTH)
    whole, _ = run(dbsession, study, tmp_path, ExportFormat.DATASET_JSON, coded=Coded.BOTH)
    csv_target, _ = run(dbsession, study, tmp_path, ExportFormat.CSV, coded=Coded.BOTH)
    files, stored = read_zip(csv_target), database(dbsession)
    with zipfile.ZipFile(target) as lines, zipfile.ZipFile(whole) as documents:
        assert [n for n in lines.namelist() if n.endswith(".ndjson")] == [
            f"forms/{form}.ndjson"
            for form in ("consent", "demographics", "vital_signs", "adverse_events", "all_types")
        ]
        for name in lines.namelist():
            if not name.endswith(".ndjson"):
                continue
            form = name.removeprefix("forms/").removesuffix(".ndjson")
            head, *rows = [
                json.loads(line) for line in lines.read(name).decode("utf-8").splitlines()
            ]
            assert "rows" not in head and all(isinstance(row, list) for row in rows)
            check_dataset({**head, "rows": rows}, form, stored, files)
            document = json.loads(documents.read(f"forms/{form}.json"))
            assert rows == document["rows"]
    columns = {c["name"]: c for c in head["columns"]}
    assert columns["colour_label"]["dataType"] == "string"


def test_the_schema_refuses_what_the_specification_does_not_allow():
    valid = {
        "datasetJSONCreationDateTime": "2026-12-03T14:05:09+00:00",
        "datasetJSONVersion": "1.1.0",
        "itemGroupOID": "IG.DM",
        "records": 1,
        "name": "DM",
        "label": "Demographics",
        "columns": [{"itemOID": "IT.AGE", "name": "AGE", "label": "Age", "dataType": "integer"}],
        "rows": [[42]],
    }
    jsonschema.validate(valid, SCHEMA, cls=jsonschema.Draft202012Validator)
    for broken in (
        {k: v for k, v in valid.items() if k != "records"},
        {**valid, "datasetJSONVersion": "1.0.0"},
        {**valid, "datasetJSONCreationDateTime": "03/12/2026"},
        {**valid, "columns": [{**valid["columns"][0], "dataType": "number"}]},
        {**valid, "rows": [[{"age": 42}]]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA, cls=jsonschema.Draft202012Validator)


# --- R ------------------------------------------------------------------------------------
# R is not installed here (and CRAN is not reachable), so the script is checked by a small
# parser of the R it uses, then every file, column, label and level it names is compared
# with the CSV files and the codebook beside it.

TOKEN = re.compile(
    r"""(?P<space>[ \t]+|\#[^\n]*)|(?P<newline>\n)
    |(?P<string>"(?:[^"\\\n]|\\["\\nrt]|\\x[0-9a-f]{2})*")
    |(?P<number>\d+(\.\d+)?L?)|(?P<name>[A-Za-z.][A-Za-z0-9._]*)
    |(?P<op><-|::|\[\[|\]\]|==|&&|\|\||[-+*/=(){}\[\],$!<>])""",
    re.VERBOSE,
)
KEYWORDS = {"function", "if", "else", "for", "in"}


@dataclass
class Call:
    function: str
    arguments: list[tuple[str | None, object]]


def tokens(source: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(source):
        match = TOKEN.match(source, position)
        assert match, f"R syntax error at {source[position : position + 30]!r}"
        kind = match.lastgroup
        if kind != "space":
            found.append((kind, match.group()))
        position = match.end()
    return found


class RParser:
    """A recursive-descent parser of the R the script is written in: calls with named
    arguments, assignments, indexing, functions, if, for and blocks."""

    BINARY = {"<-", "=", "==", "&&", "||", "+", "-", "*", "/", "$", "<", ">"}
    END = ("end", "")

    def __init__(self, source: str) -> None:
        self.items = tokens(source)
        self.at = 0

    def peek(self, skip_newlines: bool = False) -> tuple[str, str]:
        if skip_newlines:
            self.skip_newlines()
        return self.items[self.at] if self.at < len(self.items) else self.END

    def skip_newlines(self) -> None:
        while self.at < len(self.items) and self.items[self.at][0] == "newline":
            self.at += 1

    def take(self, text: str | None = None, skip_newlines: bool = True) -> tuple[str, str]:
        token = self.peek(skip_newlines)
        assert token != self.END, "R: unexpected end"
        assert text is None or token[1] == text, f"R: expected {text!r}, found {token[1]!r}"
        self.at += 1
        return token

    def program(self) -> list[object]:
        statements = []
        while self.peek(skip_newlines=True) != self.END:
            statements.append(self.expression(inside=False))
        return statements

    def expression(self, inside: bool) -> object:
        left = self.unary()
        while (token := self.peek(skip_newlines=inside))[1] in self.BINARY:
            self.take()
            right = self.unary()
            left = ("assign" if token[1] == "<-" else token[1], left, right)
        return left

    def unary(self) -> object:
        if self.peek(skip_newlines=True)[1] == "!":
            self.take("!")
            return ("not", self.unary())
        return self.postfix()

    def postfix(self) -> object:
        value = self.primary()
        while (token := self.peek())[1] in ("(", "[[", "::"):
            if token[1] == "::":
                self.take("::")
                value = f"{value}::{self.take()[1]}"
            elif token[1] == "[[":
                self.take("[[")
                value = ("index", value, self.expression(True))
                self.take("]]")
            else:
                value = Call(str(value), self.arguments())
        return value

    def arguments(self) -> list[tuple[str | None, object]]:
        self.take("(")
        found: list[tuple[str | None, object]] = []
        while self.peek(skip_newlines=True)[1] != ")":
            name = None
            kind, text = self.peek()
            following = self.items[self.at + 1] if self.at + 1 < len(self.items) else self.END
            if kind in ("name", "string") and following[1] == "=":
                self.take()
                name = self.unescape(text[1:-1]) if kind == "string" else text
                self.take("=")
            found.append((name, self.expression(True)))
            if self.peek(skip_newlines=True)[1] == ",":
                self.take(",")
            else:
                assert self.peek()[1] == ")", f"R: expected ',' or ')', found {self.peek()[1]!r}"
        self.take(")")
        return found

    def block(self) -> list[object]:
        self.take("{")
        statements = []
        while self.peek(skip_newlines=True)[1] != "}":
            statements.append(self.expression(inside=False))
        self.take("}")
        return statements

    def primary(self) -> object:
        kind, text = self.take()
        if kind == "string":
            return ("string", self.unescape(text[1:-1]))
        if kind == "number":
            return ("number", text)
        if text == "(":
            value = self.expression(True)
            self.take(")")
            return value
        if text == "{":
            self.at -= 1
            return ("block", self.block())
        if text == "function":
            self.arguments()
            return (
                "function",
                self.block() if self.peek(True)[1] == "{" else self.expression(True),
            )
        if text == "if":
            self.take("(")
            condition = self.expression(True)
            self.take(")")
            return ("if", condition, self.expression(False))
        if text == "for":
            self.take("(")
            variable = self.take()[1]
            self.take("in")
            sequence = self.expression(True)
            self.take(")")
            return ("for", variable, sequence, self.expression(False))
        assert kind == "name" and text not in KEYWORDS, f"R: unexpected {text!r}"
        return text

    @staticmethod
    def unescape(body: str) -> str:
        return re.sub(
            r"\\(x[0-9a-f]{2}|.)",
            lambda m: (
                chr(int(m.group(1)[1:], 16))
                if m.group(1).startswith("x")
                else {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1))
            ),
            body,
        )


def value_of(node: object) -> object:
    """A literal ``c(...)``, ``list(...)`` or string as Python data."""
    if isinstance(node, tuple) and node[0] == "string":
        return node[1]
    assert isinstance(node, Call) and node.function in ("c", "list"), node
    if all(name is not None for name, _ in node.arguments) and node.arguments:
        return {name: value_of(value) for name, value in node.arguments}
    return [value_of(value) for _, value in node.arguments]


def reads(source: str) -> dict[str, dict[str, object]]:
    """Each ``datacapt_read`` call of the script: file → its arguments as Python data."""
    found = {}
    for statement in RParser(source).program():
        if (
            isinstance(statement, tuple)
            and statement[0] == "assign"
            and isinstance(statement[2], Call)
        ):
            call = statement[2]
            if call.function == "datacapt_read":
                (_, file), *named = call.arguments
                found[value_of(file)] = {name: value_of(value) for name, value in named}
    return found


def test_the_r_script_reads_every_table_with_its_types_labels_and_factors(
    study, dbsession, tmp_path
):
    target, result = run(dbsession, study, tmp_path, ExportFormat.R, coded=Coded.BOTH)
    csv_target, csv_result = run(dbsession, study, tmp_path, ExportFormat.CSV, coded=Coded.BOTH)
    files = read_zip_csv(target)
    with zipfile.ZipFile(target) as archive:
        source = archive.read("read_data.R").decode("utf-8")
    assert result.values == csv_result.values
    assert files == read_zip(csv_target)  # the CSV export itself, unchanged
    calls = reads(source)
    assert set(calls) == {name for name in files if name != "codebook.csv"}
    codes = codebook(files)
    for file, arguments in calls.items():
        header = list(files[file][0]) if files[file] else None
        types = arguments["types"]
        if header is not None:
            assert list(types) == header  # every column, in order, and no other
        labels = arguments["labels"]
        assert list(labels) == list(types)
        factors = arguments.get("factors", {})
        for name, kind in types.items():
            cells = [row[name] for row in files[file] if row[name] != ""]
            if kind == "integer":
                assert all(re.fullmatch(r"-?\d+", cell) for cell in cells), (file, name)
            elif kind == "numeric":
                assert all(re.fullmatch(r"-?\d+(\.\d+)?", cell) for cell in cells), (file, name)
            entry = codes.get(name)
            if file.startswith("forms/") and entry is not None:
                assert labels[name] == entry["label"]
                if entry["type"] in ("single_choice", "yes_no", "true_false", "acknowledgement"):
                    levels = code_labels(entry)
                    assert factors[name] == {
                        "levels": list(levels),
                        "labels": list(levels.values()),
                    }
                    assert set(cells) <= set(levels), (file, name)  # no code would become NA
                else:
                    assert name not in factors
                if entry["missing_codes_allowed"] == "yes":
                    assert types[f"{name}_missing"] == "character"
        for name in arguments.get("dates", []):
            assert codes[name]["validation"] == "date"
            assert all(
                re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[name]) for row in files[file] if row[name]
            )
        for name in arguments.get("datetimes", []):
            assert codes[name]["validation"] == "datetime"
    form = calls["forms/all_types.csv"]
    assert form["types"]["tablets"] == "integer" and form["types"]["dose"] == "numeric"
    assert form["numbers"] == ["pain_twice"] and form["dates"] == ["seen_on"]
    assert form["labels"]["remark"] == "Remark" and form["factors"]["colour"]["labels"] == [
        "Yellow",
        "Green",
        "Light blue",
    ]
    assert "nickname" not in form["types"] and "Kowalski" not in source


def read_zip_csv(path: Path) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: list(csv.DictReader(io.TextIOWrapper(archive.open(name), "utf-8-sig")))
            for name in archive.namelist()
            if name.endswith(".csv")
        }


@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_any_text_becomes_an_r_string_that_reads_back_the_same(text):
    ((kind, literal),) = tokens(r_string(text))
    assert kind == "string" and RParser.unescape(literal[1:-1]) == text


def test_the_r_grammar_check_fails_on_broken_r():
    assert reads('x <- datacapt_read("a.csv", types = c("v" = "integer"), labels = c("v" = "V"))\n')
    for broken in (
        'x <- datacapt_read("a.csv", types = c("v" = "integer")\n',
        'x <- "unclosed\n',
        "x <- c(1,, 'a')\n",
    ):
        with pytest.raises(AssertionError):
            reads(broken)


# --- from the page and the command line ----------------------------------------------------


def test_the_new_formats_from_the_command_line(datacapt, tmp_path):
    assert datacapt("demo")[0] == 0
    for kind, member in (
        ("csv-wide", "data.csv"),
        ("r", "read_data.R"),
        ("dataset-json", "forms/vital_signs.json"),
        ("dataset-ndjson", "forms/vital_signs.ndjson"),
    ):
        target = tmp_path / f"{kind}.zip"
        code, _out, err = datacapt("export", "acme", "demo", "--format", kind, "-o", str(target))
        assert code == 0, err
        with zipfile.ZipFile(target) as archive:
            assert member in archive.namelist() and "codebook.csv" in archive.namelist()


def test_a_data_manager_exports_dataset_json_from_the_page(entered, app, world, dbsession):  # noqa: F811
    manager = signed_in(app, world, "data_manager")
    form = manager.get("/acme/demo/exports/").forms["export-form"]
    form["format"] = "dataset-json"
    (row,) = form.submit().follow().html.select("#export-list tbody tr")
    assert "Ready" in row.text
    body = manager.get(row.find("a", string="Download")["href"]).body
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        document = json.loads(archive.read("forms/adverse_events.json"))
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert TERM in document["rows"][0]  # JSON text, nothing to neutralise
    exported = dbsession.scalar(
        select(AuditEvent.new_value).where(AuditEvent.action == "data.exported")
    )
    assert "dataset-json" in exported
