"""Consent documents and their versions: authoring a draft (sanitised rich text in sections,
comprehension questions), going live, and what a live version freezes.

Text is written in Markdown (HTML allowed) and kept as HTML cleaned by nh3 (the Ammonia
sanitiser): only a safelist of tags and attributes survives, so what a subject reads can hold no
script, style or foreign resource. A level-2 heading (``## ``) starts a new section.

A live version never changes (the service refuses, and a database trigger refuses what gets past
it). Going live supersedes the document's previous live version and marks every subject who
consented to an earlier version at the sites it applies to as requiring re-consent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.consent import hold
from datacapt.i18n import _
from datacapt.models import (
    ConsentDocument,
    ConsentRecord,
    ConsentStatus,
    ConsentVersion,
    Site,
    Study,
)
from datacapt.models.consent import VersionState
from datacapt.validation import ValidationError

MARKDOWN = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")
ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "h3", "h4", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td", "hr", "a", "sub", "sup",
}  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}, "th": {"scope"}}
MAX_TEXT = 100_000


class Frozen(Exception):
    """The version is live (or superseded): it takes no change."""


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()


def split_sections(text: str) -> list[dict[str, str]]:
    """Markdown with ``## `` headings → [{"title", "html"}] (sanitised)."""
    sections: list[dict[str, Any]] = []
    current: dict[str, Any] = {"title": "", "lines": []}
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith("## "):
            if current["title"] or "".join(current["lines"]).strip():
                sections.append(current)
            current = {"title": line[3:].strip()[:200], "lines": []}  # escaped when shown
        else:
            current["lines"].append(line)
    if current["title"] or "".join(current["lines"]).strip():
        sections.append(current)
    return [
        {"title": s["title"], "html": sanitise(MARKDOWN.render("\n".join(s["lines"])))}
        for s in sections
    ]


def parse_questions(text: str) -> list[dict[str, Any]]:
    """Blocks separated by a blank line: the question, then ``- `` wrong and ``* `` right
    choices, then ``? `` the explanation shown after a wrong answer."""
    questions = []
    for block in [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]:
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        question, choices, answer, explanation = lines[0], [], None, ""
        for line in lines[1:]:
            if line.startswith(("- ", "* ")):
                if line.startswith("* "):
                    answer = len(choices)
                choices.append(line[2:].strip()[:300])
            elif line.startswith("? "):
                explanation = line[2:].strip()[:1000]
        if len(choices) < 2 or answer is None:
            raise ValidationError(
                "questions",
                _(
                    "Each question needs at least two choices (“- ”) and one right answer (“* ”):"
                    " ${question}",
                    mapping={"question": question[:80]},
                ),
            )
        questions.append(
            {
                "question": question[:500],
                "choices": choices,
                "answer": answer,
                "explanation": explanation,
            }
        )
    return questions


def questions_text(questions: list[dict[str, Any]]) -> str:
    """The authoring text of ``questions`` (what :func:`parse_questions` reads back)."""
    blocks = []
    for q in questions:
        lines = [q["question"]]
        lines += [("* " if i == q["answer"] else "- ") + c for i, c in enumerate(q["choices"])]
        if q.get("explanation"):
            lines.append("? " + q["explanation"])
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _event(version: ConsentVersion, action: str, **details: Any) -> dict[str, Any]:
    return {
        "tenant_id": version.tenant_id,
        "study_id": version.study_id,
        "action": action,
        "entity_type": "consent_version",
        "entity_id": version.id,
        **details,
    }


def documents(
    dbsession: Session, study: Study
) -> list[tuple[ConsentDocument, list[ConsentVersion]]]:
    """The study's documents with their versions, newest first (two queries)."""
    docs = dbsession.scalars(
        select(ConsentDocument)
        .where(ConsentDocument.study_id == study.id)
        .order_by(ConsentDocument.id)
    ).all()
    versions = dbsession.scalars(
        select(ConsentVersion)
        .where(ConsentVersion.study_id == study.id)
        .order_by(ConsentVersion.id.desc())
    ).all()
    return [(doc, [v for v in versions if v.document_id == doc.id]) for doc in docs]


def create_document(
    dbsession: Session, actor: Actor, study: Study, title: str, language: str
) -> ConsentVersion:
    """A new document with its first draft version (number 1, dated today)."""
    title = " ".join(title.split())
    if not title:
        raise ValidationError("title", _("Give the document a title."))
    if len(title) > 200:
        raise ValidationError("title", _("At most ${count} characters.", mapping={"count": 200}))
    document = ConsentDocument(tenant_id=study.tenant_id, study_id=study.id, title=title)
    dbsession.add(document)
    dbsession.flush()
    version = ConsentVersion(
        tenant_id=study.tenant_id,
        study_id=study.id,
        document_id=document.id,
        number="1",
        state=VersionState.DRAFT,
        version_date=datetime.now(UTC).date(),
        content={language: {"title": title, "sections": [], "questions": []}},
    )
    dbsession.add(version)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        **_event(version, "consent.document_created", new={"title": title, "number": "1"}),
    )
    return version


def _date(value: str, field: str, required: bool) -> date | None:
    value = value.strip()
    if not value:
        if required:
            raise ValidationError(field, _("Enter a date."))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, _("Enter a date as YYYY-MM-DD.")) from None


def save_draft(
    dbsession: Session,
    actor: Actor,
    version: ConsentVersion,
    *,
    language: str,
    languages: list[str],
    title: str,
    text: str,
    questions: str,
    number: str,
    version_date: str,
    ethics_approved_on: str,
    site_ids: list[int] | None,
    study_sites: list[Site],
) -> None:
    """Replace the draft's text in ``language`` and its version details."""
    if version.state is not VersionState.DRAFT:
        raise Frozen()
    if language not in languages:
        raise ValidationError("language", _("Choose one of the study's languages."))
    number = number.strip()
    if not number or len(number) > 20:
        raise ValidationError("number", _("Give the version a number (at most 20 characters)."))
    if len(text) > MAX_TEXT or len(questions) > MAX_TEXT:
        raise ValidationError("text", _("This text is too long."))
    sections = split_sections(text)
    parsed = parse_questions(questions)
    dated = _date(version_date, "version_date", True)
    ethics = _date(ethics_approved_on, "ethics_approved_on", False)
    known = {site.id for site in study_sites}
    if site_ids is not None and (not site_ids or not set(site_ids) <= known):
        raise ValidationError("sites", _("Choose the sites it applies to."))
    content = dict(version.content)
    content[language] = {
        "title": " ".join(title.split())[:200],
        "sections": sections,
        "questions": parsed,
        "source": text,
    }
    old = {"number": version.number, "languages": sorted(version.content)}
    version.content = content
    version.number = number
    version.version_date = dated
    version.ethics_approved_on = ethics
    version.site_ids = sorted(site_ids) if site_ids is not None else None
    audit.record(
        dbsession,
        actor,
        **_event(
            version,
            "consent.draft_saved",
            field=language,
            old=old,
            new={"number": number, "languages": sorted(content), "sections": len(sections)},
        ),
    )


def publish(dbsession: Session, actor: Actor, version: ConsentVersion) -> int:
    """Make the draft live; the number of consents now requiring re-consent."""
    if version.state is not VersionState.DRAFT:
        raise Frozen()
    if not version.content or not all(text.get("sections") for text in version.content.values()):
        raise ValidationError("text", _("Write the text of every language before going live."))
    if version.ethics_approved_on is None:
        raise ValidationError(
            "ethics_approved_on", _("Enter the ethics approval date before going live.")
        )
    now = datetime.now(UTC)
    previous = dbsession.scalars(
        select(ConsentVersion).where(
            ConsentVersion.document_id == version.document_id,
            ConsentVersion.state == VersionState.LIVE,
        )
    ).all()
    for old in previous:
        old.state = VersionState.SUPERSEDED
    version.state, version.published_at = VersionState.LIVE, now
    audit.record(
        dbsession,
        actor,
        **_event(version, "consent.version_live", field="state", old="draft", new="live"),
    )
    older = select(ConsentVersion.id).where(
        ConsentVersion.document_id == version.document_id, ConsentVersion.id != version.id
    )
    where = [
        ConsentRecord.version_id.in_(older),
        ConsentRecord.status.in_([ConsentStatus.SIGNED, ConsentStatus.NEEDS_COUNTERSIGNATURE]),
        ConsentRecord.requires_reconsent.is_(False),
        ConsentRecord.withdrawn_on.is_(None),
    ]
    if version.site_ids is not None:
        where.append(ConsentRecord.site_id.in_(version.site_ids))
    affected = dbsession.execute(
        select(ConsentRecord.id, ConsentRecord.subject_id, ConsentRecord.site_id).where(*where)
    ).all()
    if affected:
        dbsession.execute(
            update(ConsentRecord)
            .where(ConsentRecord.id.in_([row.id for row in affected]))
            .values(requires_reconsent=True)
        )
        audit.record_many(
            dbsession,
            actor,
            [
                {
                    "tenant_id": version.tenant_id,
                    "study_id": version.study_id,
                    "site_id": row.site_id,
                    "subject_id": row.subject_id,
                    "action": "consent.reconsent_required",
                    "entity_type": "consent_record",
                    "entity_id": row.id,
                    "field": "requires_reconsent",
                    "old": "false",
                    "new": "true",
                    "reason": f"version {version.number}",
                }
                for row in affected
            ],
        )
        hold.keep(dbsession, {row.subject_id for row in affected})
    return len(affected)


def new_version(dbsession: Session, actor: Actor, version: ConsentVersion) -> ConsentVersion:
    """A draft copying ``version``'s text, numbered after the document's highest number."""
    numbers = dbsession.scalars(
        select(ConsentVersion.number).where(ConsentVersion.document_id == version.document_id)
    ).all()
    whole = [int(n) for n in numbers if n.isdigit()]
    draft = ConsentVersion(
        tenant_id=version.tenant_id,
        study_id=version.study_id,
        document_id=version.document_id,
        number=str(max(whole, default=0) + 1),
        state=VersionState.DRAFT,
        version_date=datetime.now(UTC).date(),
        ethics_approved_on=None,
        site_ids=version.site_ids,
        content=dict(version.content),
    )
    dbsession.add(draft)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        **_event(draft, "consent.version_created", new={"from": version.number}),
    )
    return draft


def applies_to(version: ConsentVersion, site_id: int) -> bool:
    return version.site_ids is None or site_id in version.site_ids


def live_versions(dbsession: Session, study_id: int, site_id: int) -> list[ConsentVersion]:
    found = dbsession.scalars(
        select(ConsentVersion)
        .where(ConsentVersion.study_id == study_id, ConsentVersion.state == VersionState.LIVE)
        .order_by(ConsentVersion.id)
    ).all()
    return [v for v in found if applies_to(v, site_id)]
