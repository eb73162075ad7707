"""Exports narrowed to chosen subjects: through the selection every format reads, on the Exports
page (labels typed), in saved definitions and on the command line; an unknown label refused."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.services import (
    ExportRefused,
    export,
    export_path,
    known_subjects,
    options_of,
    selection,
)
from datacapt.exports.source import count_forms
from datacapt.models import DataExport, ExportDefinition, FormInstance, ItemValue, Subject
from datacapt.models.entry import FormStatus
from tests.factories import SETUP, build_world, login, make_subject
from tests.functional.test_exports import EXPORTS, read_zip, run, signed_in
from tests.functional.test_exports_pdf import casebooks, flat

CHOSEN = ("par01-0001", "par01-0003")
WEIGHTS = {"par01-0001": "61.5", "par01-0002": "72.0", "par01-0003": "80.4"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def entered(testapp, world, dbsession):
    """Demographics of three Paris subjects, each with a weight of its own, through the forms."""
    for label in ("par01-0002", "par01-0003"):
        make_subject(dbsession, world.sites["par01"], label)
    login(testapp, world.users["coordinator"].email)
    for label, weight in WEIGHTS.items():
        page = testapp.get(f"/acme/demo/subjects/{label}/screening/demographics/")
        form = page.forms["entry-form"]
        form["sex"], form["height_cm"], form["weight_kg"] = "1", "170", weight
        assert form.submit().status_int in (200, 303)
    return testapp


def stored_values(dbsession, labels):
    """(subject, form, item, value) of the subjects' stored values, from the database itself."""
    rows = dbsession.execute(
        select(Subject.label, FormInstance.form, ItemValue.item_oid, ItemValue.value)
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label.in_(labels), ItemValue.value.is_not(None))
    ).all()
    return {tuple(row) for row in rows}


def forms_of(dbsession, labels) -> int:
    return dbsession.scalar(
        select(func.count(FormInstance.id))
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label.in_(labels), FormInstance.status != FormStatus.REMOVED)
    )


def test_a_csv_of_chosen_subjects_holds_exactly_their_values(entered, dbsession, world, tmp_path):
    told: list[int] = []
    options = ExportOptions(format=ExportFormat.CSV, subjects=CHOSEN)
    target = tmp_path / "chosen.zip"
    result = export(dbsession, world.study, options, target, actor=SETUP, progress=told.append)
    values = read_zip(target)["values.csv"]
    exported = {
        (r["subject"], r["form"], "I." + r["item"].upper(), r["value"])
        for r in values
        if r["value"]
    }
    assert exported == stored_values(dbsession, CHOSEN)
    assert {r["subject"] for r in values} == set(CHOSEN)
    assert WEIGHTS["par01-0002"] not in {r["value"] for r in values}
    assert result.values == len(values)

    wanted = selection(dbsession, world.study, options)
    assert count_forms(dbsession, world.study, options, wanted) == forms_of(dbsession, CHOSEN)
    everyone = ExportOptions(format=ExportFormat.CSV)
    assert count_forms(dbsession, world.study, everyone, wanted) > forms_of(dbsession, CHOSEN)
    assert len(told) == forms_of(dbsession, CHOSEN) and told[-1] == 99

    table = read_zip(target)["forms/demographics.csv"]
    assert sorted(row["weight_kg"] for row in table) == sorted(WEIGHTS[label] for label in CHOSEN)


def test_the_pdf_casebooks_are_those_of_the_chosen_subjects(entered, dbsession, world, tmp_path):
    target, result = run(
        dbsession, world, tmp_path, "c.zip", format=ExportFormat.PDF, subjects=("par01-0002",)
    )
    ((name, text),) = casebooks(target).items()
    assert name == "par01/par01-0002.pdf"
    assert "Subjects par01-0002" in flat(text)  # the cover names the option
    assert WEIGHTS["par01-0002"] in text and WEIGHTS["par01-0003"] not in text
    assert result.values == len(stored_values(dbsession, ("par01-0002",)))


def test_an_unknown_subject_is_refused_by_name(world, dbsession, tmp_path):
    with pytest.raises(ExportRefused, match="no subject par01-0009, zzz in study demo"):
        run(
            dbsession,
            world,
            tmp_path,
            format=ExportFormat.CSV,
            subjects=("par01-0001", "zzz", "par01-0009"),
        )


def test_the_labels_asked_are_looked_up_in_one_query(world, dbsession):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = dbsession.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = known_subjects(dbsession, world.study, ("par01-0001", "ber01-0001", "lyo01-0001"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert found == {"par01-0001", "ber01-0001"}  # another study's subject is not this one's
    assert len(statements) == 1


def test_the_page_exports_the_subjects_typed_and_refuses_an_unknown_one(
    entered, app, world, dbsession
):
    manager = signed_in(app, world, "data_manager")
    form = manager.get(EXPORTS).forms["export-form"]
    form["format"], form["subjects"] = "csv", "par01-0003,\npar01-0009  nobody"
    refused = form.submit(status=422)
    field = refused.html.find(id="field-subjects")
    assert field["aria-invalid"] == "true"
    message = field.find_parent(class_="field").find(class_="field-error").text
    assert "No subject par01-0009, nobody in this study." in message
    assert refused.forms["export-form"]["subjects"].value == "par01-0003,\npar01-0009  nobody"

    form = refused.forms["export-form"]
    form["subjects"] = " par01-0001, par01-0003\npar01-0001 "
    form.submit().follow()
    row = dbsession.scalar(select(DataExport))
    assert row.options["subjects"] == list(CHOSEN)  # each label once, in the order typed
    assert {r["subject"] for r in read_zip(export_path(app.registry, row))["values.csv"]} == set(
        CHOSEN
    )


def test_a_saved_definition_keeps_its_subjects_and_shows_them_to_edit(
    entered, app, world, dbsession
):
    manager = signed_in(app, world, "data_manager")
    form = manager.get(EXPORTS).forms["export-form"]
    form["format"], form["name"], form["subjects"] = "csv", "Two subjects", "par01-0001 par01-0003"
    form.action = EXPORTS + "@@save-definition"
    assert form.submit().status_int == 303
    definition = dbsession.scalar(select(ExportDefinition))
    assert options_of(definition.options).subjects == CHOSEN
    edit = manager.get(f"{EXPORTS}@@definition?id={definition.id}").forms["export-form"]
    assert edit["subjects"].value == "par01-0001 par01-0003"
    edit["subjects"] = "par01-0002"
    edit.submit().follow()
    dbsession.refresh(definition)
    assert definition.options["subjects"] == ["par01-0002"]


def test_the_options_of_an_older_row_without_subjects_read_back():
    described = ExportOptions(format=ExportFormat.CSV, sites=("par01",)).describe()
    del described["subjects"]
    assert options_of(described) == ExportOptions(format=ExportFormat.CSV, sites=("par01",))


def test_the_command_line_exports_chosen_subjects(datacapt, tmp_path):
    assert datacapt("demo")[0] == 0

    def export_to(name: str, *labels: str) -> tuple[int, str, str]:
        chosen = [argument for label in labels for argument in ("--subject", label)]
        target = str(tmp_path / name)
        return datacapt("export", "acme", "demo", "--format", "csv", "-o", target, *chosen)

    assert export_to("all.zip")[0] == 0
    assert export_to("first.zip", "par01-0001")[0] == 0
    assert export_to("second.zip", "par01-0002")[0] == 0
    every = read_zip(tmp_path / "all.zip")["values.csv"]
    first = read_zip(tmp_path / "first.zip")["values.csv"]
    assert first and {row["subject"] for row in first} == {"par01-0001"}
    assert first == [row for row in every if row["subject"] == "par01-0001"]
    assert read_zip(tmp_path / "second.zip")["values.csv"] == []
    refused = export_to("x.zip", "par01-0001", "nobody")
    assert refused == (2, "", "datacapt: error: no subject nobody in study demo\n")
