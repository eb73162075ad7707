"""What an ODM import did not keep: unknown elements and attributes by kind, and vendor
extension namespaces, one finding each. A mixin of the ODM reader (:mod:`.odm_reader`)."""

from __future__ import annotations

from collections import defaultdict

from lxml import etree

from datacapt.design.interchange import odm
from datacapt.design.interchange.findings import FindingLevel

INFO = FindingLevel.INFO

#: Why an element kind is not kept, for the findings; others are "not part of a design".
NOT_KEPT: dict[str, str] = {
    "ItemDef": "not referenced by any item group",
    "ItemGroupDef": "not referenced by any form",
    "CodeList": "not used by any item",
    "ConditionDef": "not used by any reference",
    "MethodDef": "not used by any item",
    "MeasurementUnit": "not used by any item",
    "Presentation": "presentation hints are not read",
    "ArchiveLayout": "archived layouts (PDF) are not read",
    "ImputationMethod": "imputation methods are not read",
    "Role": "item roles are not read",
    "Include": "metadata included from another version is not read",
    "ClinicalData": "only study metadata is read",
    "AdminData": "only study metadata is read",
    "ReferenceData": "only study metadata is read",
}


class NotKeptReport:
    """The ODM reader's last pass: reporting what no other pass used."""

    def report(self) -> None:
        for (kind, oid), copies in self.copies.items():
            if len(copies) > 1:
                self.note(
                    f"{kind} {oid}",
                    f"used {len(copies)} times: each use is a copy ({', '.join(copies)})",
                    INFO,
                )
        self.report_elements()
        by_tag: dict[str, list[str]] = defaultdict(list)
        for (tag, attribute), count in self.unmapped_attributes.items():
            by_tag[tag].append(f"{attribute} ×{count}")
        for tag, attributes in by_tag.items():
            self.note(tag, f"attributes not kept: {', '.join(attributes)}", INFO)
        self.report_namespaces()

    def report_elements(self) -> None:
        """One finding per kind of ODM element not read, with a few examples."""
        missed: dict[str, list[str]] = defaultdict(list)
        self._collect_missed(self.root, missed)
        for kind, labels in missed.items():
            why = NOT_KEPT.get(kind, "not part of a Datacapt design")
            examples = ", ".join(label for label in labels[:5] if label)
            more = f": {examples}{', …' if len(labels) > 5 else ''}" if examples else ""
            self.note(kind, f"{len(labels)} not kept ({why}){more}")

    def _collect_missed(self, element: etree._Element, missed: dict[str, list[str]]) -> None:
        """A method, not a nested function calling itself: that one would be a reference cycle
        holding the reader, its tree and its code lists until the garbage collector ran, and a
        large import's memory would carry them while the design is stored (issue 15)."""
        for child in element:
            if not isinstance(child.tag, str) or child in self.skipped:
                continue
            name = etree.QName(child)
            if name.namespace != (self.ns or None):
                continue
            if child in self.used:
                self._collect_missed(child, missed)
                continue
            kind = name.localname
            if kind in ("Alias", "Description"):
                kind = f"{etree.QName(element).localname}/{kind}"
            label = child.get("OID") or child.get("Context") or ""
            missed[kind].append(label)

    def report_namespaces(self) -> None:
        """One finding per extension namespace, naming the elements and attributes seen."""
        seen: dict[str, tuple[str, set[str], set[str]]] = {}
        standard = {self.ns, odm.XML_NS, odm.XSI_NS}
        for element in self.root.iter():
            if not isinstance(element.tag, str):
                continue
            name = etree.QName(element)
            if name.namespace not in standard and name.namespace:
                entry = seen.setdefault(name.namespace, (element.prefix or "", set(), set()))
                entry[1].add(name.localname)
            for attribute in element.attrib:
                attribute_name = etree.QName(attribute)
                if attribute_name.namespace and attribute_name.namespace not in standard:
                    prefix = next(
                        (p for p, uri in element.nsmap.items() if uri == attribute_name.namespace),
                        "",
                    )
                    entry = seen.setdefault(attribute_name.namespace, (prefix or "", set(), set()))
                    entry[2].add(attribute_name.localname)
        for namespace, (prefix, elements, attributes) in seen.items():
            parts = [f"elements {', '.join(sorted(elements))}"] if elements else []
            parts += [f"attributes {', '.join(sorted(attributes))}"] if attributes else []
            label = f" ({prefix}:)" if prefix else ""
            self.note(
                f"namespace {namespace}",
                f"extension{label} ignored: {'; '.join(parts)}",
            )
