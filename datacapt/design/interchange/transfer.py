"""Import and export of designs in the two exchange formats, for the web and the command line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.design import services
from datacapt.design.interchange import odm_reader, odm_writer, redcap_reader, redcap_writer
from datacapt.design.interchange.findings import (
    Finding,
    FindingLevel,
    ImportResult,
    InterchangeError,
)
from datacapt.ecrf.definition import Definition, form_blocks
from datacapt.models import Study, StudyVersion

FORMATS = ("redcap", "odm")
#: "odm-redcap": ODM with each field's logic also in REDCap's attributes, for REDCap to read (a
#: declared extension: the official schema alone refuses those attributes, as REDCap's own files).
EXPORT_FORMATS = (*FORMATS, "odm-redcap")
MAX_IMPORT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Export:
    content: bytes
    filename: str
    content_type: str
    findings: list[Finding]


def read(format_name: str, data: bytes, language: str = "en") -> ImportResult:
    """Parse a file whose texts without a language are in ``language`` (the study's first);
    raises InterchangeError when nothing in it can be read or its design holds nothing, which
    would replace the draft with an empty one."""
    if format_name == "redcap":
        result = redcap_reader.read_dictionary(data, language)
    else:
        result = odm_reader.read_metadata(data, language=language)
    if not any(True for form in result.definition.forms for _block in form_blocks(form)):
        problems = [str(f) for f in result.findings if f.level is not FindingLevel.INFO]
        raise InterchangeError(
            "the file's design holds no field or text: nothing to import"
            + (f" ({'; '.join(problems[:3])})" if problems else "")
        )
    return result


def study_language(study: Study) -> str:
    """The language a file's unlabelled texts are taken in: the study's first."""
    return study.languages[0] if study.languages else "en"


def write(format_name: str, definition: Definition, study: Study, number: int) -> Export:
    stem = f"{study.code}-v{number}"
    if format_name == "redcap":
        text, findings = redcap_writer.write_dictionary(definition)
        return Export(text.encode("utf-8"), f"{stem}-dictionary.csv", "text/csv", findings)
    content, findings = odm_writer.write_metadata_report(
        definition,
        study_oid=f"ST.{study.code.upper()}",
        study_name=study.title,
        version_oid=f"MDV.{number}",
        version_name=f"Version {number}",
        redcap_logic=format_name == "odm-redcap",
    )
    suffix = "odm-redcap" if format_name == "odm-redcap" else "odm"
    return Export(content, f"{stem}-{suffix}.xml", "application/xml", findings)


def import_into_draft(
    dbsession: Session,
    study: Study,
    result: ImportResult,
    *,
    format_name: str,
    data: bytes,
    actor: Actor,
) -> StudyVersion:
    """Replace the draft's design (starting a draft if needed) with an imported one."""
    draft = services.working_draft(dbsession, study, actor)
    services.save_draft(
        dbsession,
        study,
        draft,
        result.definition,
        expected_lock=draft.lock_version,
        action="design.imported",
        element=None,
        old=None,
        new={
            "format": format_name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "forms": len(result.definition.forms),
            "findings": len(result.findings),
        },
        actor=actor,
    )
    return draft
