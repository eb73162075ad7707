"""Randomisations in exports: each subject's randomisation number, date, stratum and list in
every format with subject-level columns, and — only for an exporter who may see allocations —
the arm and what each split-body product is. A blinded exporter's file never holds them."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import openpyxl
import pytest
from sqlalchemy import select

from datacapt.accounts.services import grant_study_role
from datacapt.design.interchange.odm import ODM_NS
from datacapt.ecrf.versions import published_design
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.services import export
from datacapt.exports.subject_columns import gather
from datacapt.models import Randomisation, RandomisationMethod
from datacapt.permissions import StudyRole
from datacapt.randomisation import services
from datacapt.reactions import reactions_of
from tests.factories import SETUP, build_world, make_subject
from tests.functional.test_exports import entered, signed_in  # noqa: F401
from tests.functional.test_exports_odm import read_valid


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


CONCEALED = ("Placebo", "Active drug", "Retinol cream", "Vehicle cream", ".arm", ".product")
EXPORTS = "/acme/demo/exports/"


def design(key, method, arms, zones=None, name=""):
    return services.DesignInput(
        method=RandomisationMethod(method),
        arms=[{"code": code, "label": label, "ratio": 1} for code, label in arms],
        block_sizes=[2] if method == "blocks" else [],
        by_site=False,
        items=[],
        weights=[],
        measure="range",
        p=0.8,
        list_length=6,
        blinded=True,
        key=key,
        name=name,
        zones=zones,
    )


@pytest.fixture
def randomised(entered, dbsession, registry, world):  # noqa: F811
    """par01-0001 (who has data) randomised under a main design and a split-body one."""
    definition = published_design(dbsession, world.study).definition
    sites = list(world.sites.values())
    for given in (
        design("main", "blocks", [("PLA", "Placebo"), ("ACT", "Active drug")]),
        design(
            "skin",
            "latin_square",
            [("X17", "Retinol cream"), ("Y42", "Vehicle cream")],
            [{"code": "L", "label": "Left cheek"}, {"code": "R", "label": "Right cheek"}],
            "Cheeks",
        ),
    ):
        saved = services.save_design(dbsession, world.study, given, SETUP)
        services.generate_lists(dbsession, saved, sites, definition, SETUP)
        services.randomise(
            dbsession,
            reactions_of(registry),
            world.study,
            definition,
            world.subjects["par01-0001"],
            world.sites["par01"],
            SETUP,
            key=given.key,
        )
    dbsession.flush()
    rows = dbsession.scalars(select(Randomisation).order_by(Randomisation.id)).all()
    return {"main": rows[0], "skin": rows[1]}


def subject_rows(target, kind):
    """The subject-level table of an export, as dicts (subject, site, the columns)."""
    if kind is ExportFormat.XLSX:
        sheet = openpyxl.load_workbook(target, read_only=True)["subjects"]
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
        return [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    with zipfile.ZipFile(target) as files:
        if kind is ExportFormat.CSV:
            text = files.read("subjects.csv").decode()
            return list(csv.DictReader(io.StringIO(text)))
        if kind is ExportFormat.CSV_WIDE:
            rows = list(csv.DictReader(io.StringIO(files.read("data.csv").decode())))
            return [row for row in rows if row["subject"] == "par01-0001"]
        dataset = json.loads(files.read("subjects.json"))
        names = [column["name"] for column in dataset["columns"]]
        return [dict(zip(names, row, strict=True)) for row in dataset["rows"]]


def file_text(target, kind):
    if kind is ExportFormat.XLSX:
        book = openpyxl.load_workbook(target, read_only=True)
        return " ".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
        )
    with zipfile.ZipFile(target) as files:
        return " ".join(files.read(name).decode() for name in files.namelist())


FORMATS = [ExportFormat.CSV, ExportFormat.CSV_WIDE, ExportFormat.XLSX, ExportFormat.DATASET_JSON]


@pytest.mark.parametrize("kind", FORMATS)
def test_a_blinded_exporter_gets_numbers_dates_and_product_codes_never_arms(
    randomised, dbsession, world, tmp_path, kind
):
    target = tmp_path / f"export-{kind.value}.{'xlsx' if kind is ExportFormat.XLSX else 'zip'}"
    export(dbsession, world.study, ExportOptions(format=kind), target, actor=SETUP)
    (row,) = subject_rows(target, kind)
    main, skin = randomised["main"], randomised["skin"]
    assert row["randomisation.main.number"] == main.number
    assert row["randomisation.main.date"] == main.randomised_at.isoformat()
    assert row["randomisation.main.list"] == "test"
    assert row["randomisation.skin.number"] == skin.number
    left, right = skin.arm.split(",")
    assert (row["randomisation.skin.zone.L"], row["randomisation.skin.zone.R"]) == (left, right)
    assert "randomisation.main.arm" not in row
    text = file_text(target, kind)
    assert not [word for word in CONCEALED if word in text]


@pytest.mark.parametrize("kind", FORMATS)
def test_an_exporter_who_sees_allocations_gets_the_arms_and_products(
    randomised, dbsession, world, tmp_path, kind
):
    target = tmp_path / f"export-{kind.value}.{'xlsx' if kind is ExportFormat.XLSX else 'zip'}"
    options = ExportOptions(format=kind, allocations=True)
    export(dbsession, world.study, options, target, actor=SETUP)
    (row,) = subject_rows(target, kind)
    main, skin = randomised["main"], randomised["skin"]
    assert row["randomisation.main.arm"] == main.arm
    assert row["randomisation.main.arm_label"] in {"Placebo", "Active drug"}
    labels = {"X17": "Retinol cream", "Y42": "Vehicle cream"}
    left = skin.arm.split(",")[0]
    assert row["randomisation.skin.zone.L.product"] == labels[left]


def test_an_export_without_randomisations_has_no_subject_table(entered, dbsession, world, tmp_path):  # noqa: F811
    target = tmp_path / "export"
    export(dbsession, world.study, ExportOptions(format=ExportFormat.CSV), target, actor=SETUP)
    with zipfile.ZipFile(target) as files:
        assert "subjects.csv" not in files.namelist()


def page_export(client):
    form = client.get(EXPORTS).forms["export-form"]
    form["format"] = "csv"
    page = form.submit().follow()
    row = page.html.select("#export-list tbody tr")[0]
    return row.find("a", string="Download")["href"]


def subjects_csv(body):
    with zipfile.ZipFile(io.BytesIO(body)) as files:
        return files.read("subjects.csv").decode()


def test_exports_from_the_page_follow_the_exporters_concealment(randomised, app, dbsession, world):
    blinded = signed_in(app, world, "data_manager")
    said = blinded.get(EXPORTS).html.find(id="export-allocations").text
    assert "without the arms" in said
    text = subjects_csv(blinded.get(page_export(blinded)).body)
    assert "randomisation.main.number" in text and "randomisation.main.arm" not in text
    assert "Placebo" not in text and "Active drug" not in text

    unblinded_user = world.users["data_manager"]
    grant_study_role(dbsession, unblinded_user, world.study, StudyRole.STUDY_ADMIN)
    dbsession.flush()
    unblinded = signed_in(app, world, "data_manager")
    assert "with their arms" in unblinded.get(EXPORTS).html.find(id="export-allocations").text
    link = page_export(unblinded)
    text = subjects_csv(unblinded.get(link).body)
    assert "randomisation.main.arm" in text and randomised["main"].arm in text
    # A blinded reader of the exports never downloads the unblinded file.
    monitor = signed_in(app, world, "monitor")
    assert monitor.get(link, status=404).status_int == 404


def odm_subject_items(root):
    """SubjectKey → {item name: value} of the subject-level ItemGroup, names from the ItemDefs."""
    ns = {"odm": ODM_NS}
    names = {
        item.get("OID"): item.get("Name")
        for item in root.iterfind(".//odm:ItemDef", ns)
        if item.get("OID").startswith("IT.DATACAPT.SUBJECT.")
    }
    found = {}
    for group in root.iterfind(".//odm:ItemGroupData[@ItemGroupOID='IG.DATACAPT.SUBJECT']", ns):
        subject = group.getparent().getparent().getparent().get("SubjectKey")
        found[subject] = {
            names[item.get("ItemOID")]: item.get("Value")
            for item in group.iterfind("odm:ItemData", ns)
        }
    return found


@pytest.mark.parametrize("allocations", [False, True])
def test_odm_carries_randomisations_as_a_subject_item_group_valid_against_the_schema(
    randomised, dbsession, world, tmp_path, allocations
):
    target = tmp_path / "export.xml"
    options = ExportOptions(format=ExportFormat.ODM, allocations=allocations)
    export(dbsession, world.study, options, target, actor=SETUP)
    root = read_valid(target)
    items = odm_subject_items(root)["par01-0001"]
    main, skin = randomised["main"], randomised["skin"]
    assert items["randomisation.main.number"] == main.number
    assert items["randomisation.skin.zone.L"] == skin.arm.split(",")[0]
    protocol_refs = [
        ref.get("StudyEventOID")
        for ref in root.iterfind(f".//{{{ODM_NS}}}Protocol/{{{ODM_NS}}}StudyEventRef")
    ]
    assert "SE.DATACAPT.SUBJECT" in protocol_refs
    text = target.read_text()
    if allocations:
        assert items["randomisation.main.arm"] == main.arm
        assert "Placebo" in text or "Active drug" in text
    else:
        assert "randomisation.main.arm" not in items
        assert not [word for word in CONCEALED if word in text]


def test_the_subject_columns_cost_the_same_queries_however_many_are_randomised(
    randomised, dbsession, registry, world, query_counter
):
    definition = published_design(dbsession, world.study).definition

    def randomise_more(count: int) -> None:
        for number in range(count):
            label = f"par01-{9000 + len(world.subjects) + number:04d}"
            subject = make_subject(dbsession, world.sites["par01"], label)
            world.subjects[label] = subject
            for key in ("main", "skin"):
                services.randomise(
                    dbsession,
                    reactions_of(registry),
                    world.study,
                    definition,
                    subject,
                    world.sites["par01"],
                    SETUP,
                    key=key,
                )
        dbsession.flush()

    def cost() -> int:
        query_counter.clear()
        table = gather(dbsession, world.study, ExportOptions(format=ExportFormat.CSV))
        assert len(table.rows) == len(world.subjects) - 1  # ber01-0001 is not randomised
        return len(query_counter)

    randomise_more(1)
    few = cost()
    randomise_more(4)
    assert cost() == few
