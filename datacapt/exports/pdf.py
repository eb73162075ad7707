"""PDF casebooks: a zip holding a PDF/A-2b casebook per subject (``<site>/<subject>.pdf``) and
``codebook.csv``.

Each casebook is rendered from a Jinja template with print CSS by WeasyPrint and written into
the zip before the next subject is read, so memory holds one casebook at a time. Its words are
in the study's language, its times in the study's zone; fonts come from the system (DejaVu
Sans, which covers Polish, German and French) and are embedded, as PDF/A asks. The template
fetches nothing: every resource is refused, and every text is escaped.
"""

from __future__ import annotations

import tempfile
import zipfile
from datetime import UTC, datetime
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from pyramid.i18n import make_localizer
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.config import PROJECT_DIR, TEMPLATES_DIR, get_app_settings
from datacapt.ecrf.definition import Definition, from_json
from datacapt.exports import archive, tables
from datacapt.exports.casebook_pages import Casebook, Cover, Pages
from datacapt.exports.csv_zip import write_csv
from datacapt.exports.options import ExportOptions
from datacapt.exports.source import StudyData
from datacapt.exports.subject_reads import read_subject
from datacapt.exports.wording import Wording
from datacapt.i18n import DEFAULT_LANGUAGE, LANGUAGES, _
from datacapt.models import StudyVersion, User
from datacapt.models.design import VersionState

TEMPLATE = "exports/pdf/casebook.jinja2"
STYLESHEET = TEMPLATES_DIR / "exports" / "pdf" / "casebook.css"
LOCALE_DIR = PROJECT_DIR / "datacapt" / "locale"
#: Archival PDF (ISO 19005-2, level B): fonts embedded, an sRGB output intent, XMP metadata.
PDF_VARIANT = "pdf/a-2b"
#: What the cover names of the options (the others by their own name); the coded-value and
#: byte-order-mark options do not apply to casebooks, which show codes with their labels.
OPTION_LABELS = {
    "format": _("Format"),
    "sites": _("Sites"),
    "subjects": _("Subjects"),
    "forms": _("Forms"),
    "visits": _("Visits"),
    "statuses": _("Form status"),
    "lock_states": _("Lock state"),
    "audit_trail": _("Audit trail"),
}
NOT_FOR_CASEBOOKS = {"coded", "bom"}
#: Where the template's "Page X of Y" takes the page counters.
PAGE, PAGES = "[page]", "[pages]"


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string that cannot end the string or the style element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    return '"' + escaped.replace("\n", "\\a ") + '"'


def page_counter(words: str) -> Markup:
    """``Page [page] of [pages]`` (in any language) as the CSS ``content`` of a page's margin,
    the markers becoming the page counters."""
    before, _page, rest = str(words).partition(PAGE)
    middle, _pages, after = rest.partition(PAGES)
    parts = [css_string(before), "counter(page)", css_string(middle), "counter(pages)"]
    return Markup(" ".join([*parts, css_string(after)]))  # noqa: S704 (escaped above)


def _definitions(dbsession: Session, data: StudyData) -> dict[int, Definition]:
    rows = dbsession.execute(
        select(StudyVersion.number, StudyVersion.definition).where(
            StudyVersion.study_id == data.study.id,
            StudyVersion.state == VersionState.PUBLISHED,
        )
    )
    return {number: from_json(document) for number, document in rows}


def _zone(dbsession: Session) -> ZoneInfo:
    """The study's zone: the zone the installation is configured for."""
    return ZoneInfo(get_app_settings(dbsession.info["registry"]).default_timezone)


def _exporter(dbsession: Session, actor: Actor | None, wording: Wording) -> str:
    """Who exported: the person, or the system (and the person it acted for, if any)."""
    person_id = actor.user_id or actor.on_behalf_of if actor else None
    user = dbsession.get(User, person_id) if person_id else None
    person = f"{user.name} <{user.email}>" if user else None
    if actor and actor.user_id and person:
        return person
    name = actor.name if actor and actor.name else "datacapt"
    if person:
        return wording.translate(
            _("the system (${name}) for ${person}", mapping={"name": name, "person": person})
        )
    return wording.translate(_("the system (${name})", mapping={"name": name}))


def _options(options: ExportOptions, wording: Wording) -> list[tuple[str, str]]:
    shown = []
    for key, value in options.describe().items():
        if key in NOT_FOR_CASEBOOKS:
            continue
        if isinstance(value, bool):
            text = wording.translate(_("Yes") if value else _("No"))
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value) or "—"
        else:
            text = "—" if value is None else str(value)
        label = OPTION_LABELS.get(key)
        shown.append((wording.translate(label) if label else key, text))
    return shown


class Renderer:
    """One export's template, stylesheet and fonts, kept for all its casebooks."""

    def __init__(self, wording: Wording) -> None:
        # Imported here: WeasyPrint takes most of a second to import and needs Pango, which
        # the web and job processes that never write a PDF can do without.
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher

        self.html = HTML
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )
        environment.install_gettext_callables(wording.translate, wording.plural, newstyle=True)
        environment.filters["page_counter"] = page_counter
        environment.globals.update(PAGE=PAGE, PAGES=PAGES)
        self.template = environment.get_template(TEMPLATE)
        self.fetcher = URLFetcher(allowed_protocols=())
        self.fonts = FontConfiguration()
        self.stylesheet = CSS(
            string=STYLESHEET.read_text(encoding="utf-8"),
            font_config=self.fonts,
            url_fetcher=self.fetcher,
        )

    def write(self, casebook: Casebook, target: Path) -> None:
        html = self.template.render(casebook=casebook)
        self.html(string=html, url_fetcher=self.fetcher).write_pdf(
            target,
            stylesheets=[self.stylesheet],
            font_config=self.fonts,
            pdf_variant=PDF_VARIANT,
        )


def write(target: Path, data: StudyData) -> int:
    """Write the zip to ``target``; the number of values written. Progress is told as each
    casebook is written (not as its forms are read, which is the quick part)."""
    dbsession, study = data.dbsession, data.study
    report, data.progress = data.progress, lambda percent: None
    definitions = _definitions(dbsession, data)
    latest = definitions[max(definitions)] if definitions else Definition()
    spoken = latest.default_language
    if spoken not in LANGUAGES:
        spoken = DEFAULT_LANGUAGE
    wording = Wording(
        latest.default_language,
        make_localizer(spoken, [str(LOCALE_DIR)]),
        _zone(dbsession),
        dict(study.missing_codes),
    )
    cover = Cover(
        study.code,
        study.title,
        wording.moment(data.options.stamp or datetime.now(UTC)),  # a rerun: the same bytes
        _exporter(dbsession, data.actor, wording),
        _options(data.options, wording),
    )
    kept = {column.item.oid for column in data.catalogue.columns()}
    renderer = Renderer(wording)
    count = written = 0
    with (
        tempfile.TemporaryDirectory(prefix="datacapt-export-") as scratch,
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zipped,
    ):
        folder = Path(scratch)
        pages = Pages(definitions, latest, wording, kept, cover)
        for label, group in groupby(data.records(), key=attrgetter("subject")):
            records = list(group)
            reads = read_subject(dbsession, study, label, with_changes=data.options.audit_trail)
            path = folder / f"{label}.pdf"
            renderer.write(pages.casebook(records, reads), path)
            archive.add(zipped, f"{records[0].site}/{label}.pdf", path)
            path.unlink()
            count += sum(len(record.values) for record in records)
            written += len(records)
            report(min(99, 100 * written // max(1, data.total)))
        codebook = folder / "codebook.csv"
        write_csv(codebook, [tables.CODEBOOK_HEADER, *tables.codebook_rows(data.catalogue)])
        archive.add(zipped, "codebook.csv", codebook)
    return count
