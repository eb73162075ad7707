"""What an export covers and how coded values are written: the same options for every format."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from datacapt.models.entry import FormStatus, LockState


class ExportFormat(enum.StrEnum):
    CSV = "csv"  # a zip: values (long), one table per form, the codebook
    XLSX = "xlsx"  # one workbook: a sheet per form, the codebook
    SAS = "sas"  # a zip: an XPORT v5 file per form, the variable map, the codebook
    SPSS = "spss"  # the same with .sav files
    STATA = "stata"  # the same with .dta (118) files
    CSV_WIDE = "csv-wide"  # a zip: a row per subject, a column per visit, form and item
    R = "r"  # the CSV zip with a script that reads it into R with types, labels and factors
    DATASET_JSON = "dataset-json"  # a zip: a CDISC Dataset-JSON 1.1 file per form, codebook
    DATASET_NDJSON = "dataset-ndjson"  # the same in Dataset-JSON's NDJSON representation
    PDF = "pdf"  # a zip: a casebook (PDF/A-2b) per subject, the codebook
    ODM = "odm"  # one CDISC ODM 1.3.2 XML file: metadata, admin data and clinical data


class Coded(enum.StrEnum):
    """How a choice item's value is written."""

    CODES = "codes"
    LABELS = "labels"
    BOTH = "both"  # the code, and its label in a column of its own


@dataclass(frozen=True)
class ExportOptions:
    format: ExportFormat
    sites: tuple[str, ...] = ()  # site codes; empty: every site
    subjects: tuple[str, ...] = ()  # subject labels; empty: every subject
    forms: tuple[str, ...] = ()  # form names; empty: every form
    visits: tuple[str, ...] = ()  # visit names; empty: every visit
    statuses: tuple[FormStatus, ...] = ()  # e.g. complete only; removed log rows never
    lock_states: tuple[LockState, ...] = ()  # e.g. locked only
    coded: Coded = Coded.CODES
    #: A UTF-8 byte-order mark, for spreadsheet programs that guess the encoding otherwise.
    bom: bool = False
    #: The snapshot time that files' headers carry (workbook properties, SAS/SPSS/Stata
    #: headers), so a rerun gives the same bytes; not a choice, hence not in ``describe()``.
    stamp: datetime | None = None
    #: PDF casebooks: each value's audit trail (who, when, old → new, reason) under it.
    audit_trail: bool = False
    #: ODM: every value change from the audit trail (a Transactional file), not the values now.
    odm_transactional: bool = False
    #: The data as the audit trail says it was at this moment (aware); None: as it is now. A
    #: plain option, so a run kept with its ``as_of`` gives the same data when run again.
    as_of: datetime | None = None
    #: Every date of a subject moved by the subject's own whole number of days (de-identified
    #: sets): intervals within a subject are kept, the real dates are not.
    shift_dates: bool = False
    #: Personal-data (identifier) items included: only for those who may see personal data.
    personal: bool = False
    #: Concealed allocations (arms, what split-body products are): only for those who may see
    #: them; set from the requester's permission, never a choice.
    allocations: bool = False

    def describe(self) -> dict[str, object]:
        """The options as the audit trail and the export's own files record them."""
        return {
            "format": self.format.value,
            "sites": list(self.sites),
            "subjects": list(self.subjects),
            "forms": list(self.forms),
            "visits": list(self.visits),
            "statuses": [status.value for status in self.statuses],
            "lock_states": [state.value for state in self.lock_states],
            "coded": self.coded.value,
            "bom": self.bom,
            "audit_trail": self.audit_trail,
            "odm_transactional": self.odm_transactional,
            "as_of": self.as_of.astimezone(UTC).isoformat() if self.as_of else None,
            "shift_dates": self.shift_dates,
            "personal": self.personal,
            # only when set, so that the options of exports without it read as before
            **({"allocations": True} if self.allocations else {}),
        }
