"""CDISC ODM 1.3.2 ClinicalData: ``SubjectData`` (its ``SiteRef``) → ``StudyEventData`` →
``FormData`` → ``ItemGroupData`` → ``ItemData``, matched to the design by OID (the OIDs the
design's ODM metadata carries). Read as it streams (lxml iterparse, each subject's elements
dropped once read) with the design import's safety: no network, no DTD, no entities."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from lxml import etree

from datacapt.design.interchange.odm import ODM_NS
from datacapt.ecrf.casebook import UNSCHEDULED
from datacapt.ecrf.definition import Definition
from datacapt.i18n import _
from datacapt.imports.cells import Cell, Refusal, Unreadable, whole

#: Namespaces an ODM 1.3.x document may use for its elements.
VERSIONS = ("http://www.cdisc.org/ns/odm/v1.3",)
#: The OID the design's ODM metadata gives the unscheduled visits.
UNSCHEDULED_OID = "UNSCHEDULED"


def _events(source: BinaryIO) -> Iterator[tuple[str, Any]]:
    parser = etree.iterparse(
        source,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        first = True
        for event, element in parser:
            if first:
                first = False
                if element.getroottree().docinfo.doctype:
                    raise Unreadable(
                        _("The file declares a document type (DOCTYPE): ODM files have none.")
                    )
                name = etree.QName(element)
                if name.localname != "ODM" or name.namespace not in VERSIONS:
                    raise Unreadable(_("This is not an ODM 1.3 document."))
            yield event, element
    except etree.XMLSyntaxError as error:
        raise Unreadable(
            _("The file is not well-formed XML: ${error}.", mapping={"error": str(error)})
        ) from None


def check(raw: BinaryIO) -> None:
    """Refuse at upload what is not an ODM document (only its first element is read)."""
    for _event in _events(raw):
        return
    raise Unreadable(_("The file is empty."))


def _oids(definition: Definition) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    visits = {visit.oid: visit.name for visit in definition.schedule.visits}
    visits[UNSCHEDULED_OID] = UNSCHEDULED
    forms = {form.oid: form.name for form in definition.forms}
    items = {item.oid: item.name for _form, item in definition.items()}
    return visits, forms, items


def read(raw: BinaryIO, definition: Definition) -> Iterator[Cell | Refusal]:
    visits, forms, items = _oids(definition)
    tag = f"{{{ODM_NS}}}"
    where: dict[str, Any] = {}
    for event, element in _events(raw):
        local = element.tag[len(tag) :] if element.tag.startswith(tag) else ""
        if event == "start":
            if local == "SubjectData":
                where = {"subject": element.get("SubjectKey", ""), "site": None}
            elif local == "StudyEventData":
                where["visit"] = element.get("StudyEventOID", "")
                where["visit_repeat"] = element.get("StudyEventRepeatKey")
            elif local == "FormData":
                where["form"] = element.get("FormOID", "")
                where["form_repeat"] = element.get("FormRepeatKey")
            continue
        if local == "SiteRef":
            where["site"] = element.get("LocationOID")
        elif local == "ItemData":
            yield _cell(element, where, visits, forms, items)
        elif local == "SubjectData":
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del element.getparent()[0]


def _cell(
    element: Any,
    where: dict[str, Any],
    visits: dict[str, str],
    forms: dict[str, str],
    items: dict[str, str],
) -> Cell | Refusal:
    line = element.sourceline or 0
    visit, form = visits.get(where.get("visit", "")), forms.get(where.get("form", ""))
    item = items.get(element.get("ItemOID", ""))
    for name, found, oid in (
        ("StudyEventOID", visit, where.get("visit")),
        ("FormOID", form, where.get("form")),
        ("ItemOID", item, element.get("ItemOID")),
    ):
        if found is None:
            return Refusal(
                line,
                _(
                    "${attribute} ${oid} is not in the study's design.",
                    mapping={"attribute": name, "oid": oid or "?"},
                ),
            )
    visit_repeat, form_repeat = whole(where.get("visit_repeat")), whole(where.get("form_repeat"))
    if visit_repeat is None or form_repeat is None:
        return Refusal(line, _("A repeat key is not a whole number from 1."))
    value = element.get("Value")
    if value is None:  # ODM 1.3.0's ItemData holds its value as text
        value = element.text or ""
    return Cell(
        line=line,
        subject=where.get("subject", ""),
        site=where.get("site"),
        visit=visit,
        visit_repeat=visit_repeat,
        form=form or "",
        form_repeat=form_repeat,
        item=item or "",
        value=value,
    )
