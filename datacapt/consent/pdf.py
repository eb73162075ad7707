"""The final consent PDF (PDF/A-2b, WeasyPrint): the exact document the subject reviewed (its
SHA-256 printed beside it), their answers, the signatures, and an audit certificate listing
every event of the record with its chained hash. Fonts come from the system (DejaVu) and are
embedded; the template fetches nothing and escapes every text but the sanitised document."""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup
from pyramid.i18n import Localizer

from datacapt.config import TEMPLATES_DIR
from datacapt.models import ConsentRecord, ConsentVersion, Site, Study, Subject

TEMPLATE = "consent/pdf.jinja2"
PDF_VARIANT = "pdf/a-2b"
STYLE = """
@page { size: A4; margin: 18mm 16mm; @bottom-right { content: counter(page) " / " counter(pages);
  font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; line-height: 1.4; }
h1 { font-size: 15pt; } h2 { font-size: 13pt; } h3 { font-size: 11pt; }
table { border-collapse: collapse; width: 100%; margin: 4mm 0; }
th, td { border: 0.5pt solid #888; padding: 1.5mm; text-align: left; vertical-align: top; }
.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; word-break: break-all; }
.document { border: 0.5pt solid #444; padding: 4mm; margin: 4mm 0; }
"""


def render(
    localizer: Localizer,
    record: ConsentRecord,
    version: ConsentVersion,
    subject: Subject,
    site: Site,
    study: Study,
    certificate: list[dict[str, Any]],
) -> bytes:
    # Imported here: WeasyPrint is slow to import and needs Pango (see exports.pdf).
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(
        lambda text: localizer.translate(text, domain="datacapt"),
        lambda s, p, n: localizer.pluralize(s, p, n, domain="datacapt"),
        newstyle=True,
    )
    html = environment.get_template(TEMPLATE).render(
        record=record,
        version=version,
        subject=subject,
        site=site,
        study=study,
        document=Markup(record.document_html or ""),  # noqa: S704 (sanitised when saved)
        certificate=certificate,
    )
    fetcher = URLFetcher(allowed_protocols=())
    return HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=[CSS(string=STYLE, url_fetcher=fetcher)], pdf_variant=PDF_VARIANT
    )
