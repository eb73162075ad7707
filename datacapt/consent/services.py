"""A subject's consent: starting it (in person or remote), the identity check, reading,
answering, reviewing and signing, the investigator's countersignature or rejection, the final
PDF, re-consent and withdrawal.

States (the original Datacapt's): needs signature → needs countersignature → signed, or
rejected. A subject signs only when their identity was checked *for this signing*: in person, by
the site's staff on their own session (the subject then signs in the flow staff opened); remote,
by a one-time code mailed to the address on file plus the date of birth on file, checked within
the very subject session that signs. A subject session opened by a link alone never signs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from pyramid.i18n import TranslationString
from pyramid.registry import Registry
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from datacapt import audit, sealing
from datacapt.actor import Actor
from datacapt.consent import events, hold
from datacapt.consent.documents import applies_to
from datacapt.i18n import _
from datacapt.models import (
    AuditEvent,
    ConsentDocument,
    ConsentRecord,
    ConsentSettings,
    ConsentStatus,
    ConsentVersion,
    IdentityMethod,
    Site,
    Study,
    Subject,
    SubjectContact,
    SubjectLink,
    User,
)
from datacapt.models.consent import VersionState
from datacapt.reactions import publish
from datacapt.security import new_token, token_hash
from datacapt.subjects import contacts
from datacapt.validation import ValidationError

LINK_PURPOSE = "consent"
LINK_LIFETIME = timedelta(days=7)
CODE_LIFETIME = timedelta(minutes=10)
MAX_CODE_FAILURES = 5
#: What the subject's signature means (§11.50(a)(3)); shown and stored in their language.
SUBJECT_MEANING = _("I consent to take part in this study.")
COUNTERSIGN_MEANING = _("I explained this study and obtained this consent.")


class Refused(Exception):
    def __init__(self, message: TranslationString) -> None:
        super().__init__(str(message))
        self.message = message


# --- settings --------------------------------------------------------------------------------


def settings_of(dbsession: Session, study: Study) -> ConsentSettings:
    found = dbsession.get(ConsentSettings, study.id)
    return found or ConsentSettings(
        study_id=study.id,
        tenant_id=study.tenant_id,
        identity_method=IdentityMethod.IN_PERSON,
        block_entry=False,
    )


def save_settings(
    dbsession: Session, actor: Actor, study: Study, method: str, block_entry: bool
) -> None:
    if method not in {m.value for m in IdentityMethod}:
        raise ValidationError("identity_method", _("Choose how identity is checked."))
    row = dbsession.get(ConsentSettings, study.id)
    old = (
        {"identity_method": row.identity_method.value, "block_entry": row.block_entry}
        if row
        else None
    )
    if row is None:
        row = ConsentSettings(study_id=study.id, tenant_id=study.tenant_id)
        dbsession.add(row)
    row.identity_method, row.block_entry = IdentityMethod(method), block_entry
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="consent.settings_changed",
        entity_type="study",
        entity_id=study.id,
        old=old,
        new={"identity_method": method, "block_entry": block_entry},
    )


# --- the rendered document -------------------------------------------------------------------


def text_of(version: ConsentVersion, language: str) -> dict[str, Any]:
    return version.content.get(language) or next(iter(version.content.values()))


def render_document(version: ConsentVersion, language: str, labels: dict[str, str]) -> Markup:
    """The document as the subject reviews it and the PDF prints it: its hash is what they
    sign. ``labels``: the translated words around it (version, dates)."""
    text = text_of(version, language)
    parts = [f'<article class="consent-document" lang="{escape(language)}">']
    parts.append(f"<h2>{escape(text.get('title', ''))}</h2>")
    details = [
        f"{labels['version']} {version.number}",
        f"{labels['dated']} {version.version_date.isoformat()}",
    ]
    if version.ethics_approved_on:
        details.append(f"{labels['ethics']} {version.ethics_approved_on.isoformat()}")
    parts.append(f'<p class="consent-version">{escape(" · ".join(details))}</p>')
    for section in text.get("sections", []):
        parts.append("<section>")
        if section["title"]:
            parts.append(f"<h3>{escape(section['title'])}</h3>")
        parts.append(section["html"])  # sanitised when saved (nh3)
        parts.append("</section>")
    parts.append("</article>")
    return Markup("\n".join(parts))  # noqa: S704 (escaped above, sections sanitised)


def document_hash(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


# --- starting --------------------------------------------------------------------------------


def _record_event(record: ConsentRecord, action: str, **details: Any) -> dict[str, Any]:
    return {
        "tenant_id": record.tenant_id,
        "study_id": record.study_id,
        "site_id": record.site_id,
        "subject_id": record.subject_id,
        "action": action,
        "entity_type": "consent_record",
        "entity_id": record.id,
        **details,
    }


def records_of(dbsession: Session, subject: Subject) -> list[tuple[ConsentRecord, ConsentVersion]]:
    return [
        (r, v)
        for r, v in dbsession.execute(
            select(ConsentRecord, ConsentVersion)
            .join(ConsentVersion, ConsentVersion.id == ConsentRecord.version_id)
            .where(ConsentRecord.subject_id == subject.id)
            .order_by(ConsentRecord.id.desc())
        )
    ]


def _birth(value: str) -> date:
    try:
        born = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError("birth_date", _("Enter a date as YYYY-MM-DD.")) from None
    if born > datetime.now(UTC).date() or born.year < 1900:
        raise ValidationError("birth_date", _("Enter a date as YYYY-MM-DD."))
    return born


def _associated(record_id: int) -> bytes:
    return f"datacapt:consent:{record_id}:birth".encode()


def start(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    subject: Subject,
    version: ConsentVersion,
    *,
    method: IdentityMethod,
    language: str,
    identity_confirmed: bool,
    birth_date: str,
) -> tuple[ConsentRecord, str | None]:
    """A consent to ``version`` for ``subject``; in person, staff confirm the identity now;
    remote, the date of birth on file is sealed and a one-time link made (its token returned,
    shown once)."""
    if version.state is not VersionState.LIVE or not applies_to(version, subject.site_id):
        raise ValidationError("version", _("Choose a live version for this site."))
    if language not in version.content:
        raise ValidationError("language", _("Choose one of the version's languages."))
    if method is IdentityMethod.IN_PERSON and not identity_confirmed:
        raise ValidationError(
            "identity_confirmed", _("Confirm that you checked the subject's identity.")
        )
    born = _birth(birth_date) if method is IdentityMethod.REMOTE else None
    now = datetime.now(UTC)
    record = ConsentRecord(
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        site_id=subject.site_id,
        subject_id=subject.id,
        version_id=version.id,
        language=language,
        status=ConsentStatus.NEEDS_SIGNATURE,
        identity_method=method,
        progress={},
        created_by_id=actor.user_id,
    )
    if method is IdentityMethod.IN_PERSON:
        record.identity_confirmed_by_id, record.identity_verified_at = actor.user_id, now
    dbsession.add(record)
    dbsession.flush()
    token = None
    if born is not None:
        sealed = sealing.seal(registry, born.isoformat().encode(), _associated(record.id))
        record.birth_key_id, record.birth_nonce, record.birth_sealed = (
            sealed.key_id,
            sealed.nonce,
            sealed.ciphertext,
        )
        token = new_token()
        dbsession.add(
            SubjectLink(
                token_hash=token_hash(token),
                tenant_id=subject.tenant_id,
                study_id=subject.study_id,
                subject_id=subject.id,
                purpose=LINK_PURPOSE,
                created_at=now,
                expires_at=now + LINK_LIFETIME,
                created_by_id=actor.user_id,
            )
        )
    audit.record(
        dbsession,
        actor,
        **_record_event(
            record,
            "consent.started",
            new={"version": version.number, "language": language, "identity": method.value},
        ),
    )
    return record, token


def email_on_file(dbsession: Session, registry: Registry, actor: Actor, subject_id: int) -> str:
    reach = _reach_on_file(dbsession, registry, actor, subject_id, ("email",))
    return reach.address if reach is not None and reach.channel == "email" else ""


def code_reach(
    dbsession: Session, registry: Registry, actor: Actor, subject_id: int
) -> contacts.Reach | None:
    """Where the identity code goes: a text message to the phone on file when the subject
    prefers them, else the address on file."""
    return _reach_on_file(dbsession, registry, actor, subject_id, ("email", "phone"))


def _reach_on_file(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    subject_id: int,
    fields: tuple[str, ...],
) -> contacts.Reach | None:
    """The subject's contact details, their reading in the personal-data access log."""
    row = dbsession.get(SubjectContact, subject_id)
    if row is None:
        return None
    try:
        opened = contacts.open_logged(
            dbsession, registry, row, actor, purpose="consent", fields=fields
        )
    except contacts.ContactUnreadable:
        return None
    if "phone" not in fields:
        opened = contacts.Contact(email=opened.email)
    return contacts.reach(opened)


# --- the identity check (remote) ---------------------------------------------------------------


def _code_hash(record: ConsentRecord, code: str) -> str:
    return hashlib.sha256(f"{record.id}:{code}".encode()).hexdigest()


def issue_code(dbsession: Session, actor: Actor, record: ConsentRecord) -> str:
    """A fresh six-digit code for ``record`` (the caller mails it); only its hash is kept."""
    if record.identity_method is not IdentityMethod.REMOTE or record.status is not (
        ConsentStatus.NEEDS_SIGNATURE
    ):
        raise Refused(_("This consent takes no code."))
    code = f"{secrets.randbelow(1_000_000):06d}"
    record.code_hash = _code_hash(record, code)
    record.code_expires_at = datetime.now(UTC) + CODE_LIFETIME
    record.code_failures = 0
    audit.record(dbsession, actor, **_record_event(record, "consent.code_sent"))
    return code


def verify_identity(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    record: ConsentRecord,
    *,
    session_id: int,
    code: str,
    birth_date: str,
) -> None:
    """Check the code and the date of birth; on success this subject session may sign."""
    now = datetime.now(UTC)
    if (
        record.code_hash is None
        or record.code_expires_at is None
        or record.code_expires_at <= now
        or record.code_failures >= MAX_CODE_FAILURES
    ):
        raise ValidationError("code", _("Ask for a new code."))
    try:
        born = date.fromisoformat(birth_date.strip())
    except ValueError:
        born = None
    sealed = sealing.Sealed(
        record.birth_key_id or "", record.birth_nonce or b"", record.birth_sealed or b""
    )
    on_file = sealing.unseal(registry, sealed, _associated(record.id)).decode()
    code_ok = hmac.compare_digest(record.code_hash, _code_hash(record, code.strip()))
    if not code_ok or born is None or born.isoformat() != on_file:
        record.code_failures += 1
        audit.record(dbsession, actor, **_record_event(record, "consent.identity_refused"))
        raise ValidationError("code", _("The code or the date of birth is not right."))
    record.code_hash = None
    record.identity_session_id, record.identity_verified_at = session_id, now
    audit.record(
        dbsession,
        actor,
        **_record_event(record, "consent.identity_verified", new={"method": "remote"}),
    )


def may_sign(record: ConsentRecord, *, staff: bool, subject_session_id: int | None) -> bool:
    """Whether the identity was checked for *this* signing: in person on the staff's session,
    remote within this very subject session."""
    if record.identity_verified_at is None:
        return False
    if record.identity_method is IdentityMethod.IN_PERSON:
        return staff
    return (
        not staff
        and subject_session_id is not None
        and record.identity_session_id == subject_session_id
    )


# --- reading, answering, reviewing ---------------------------------------------------------


def mark_read(record: ConsentRecord, section: int, sections: int) -> None:
    progress = dict(record.progress or {})
    progress["read"] = max(progress.get("read", 0), min(section + 1, sections))
    record.progress = progress


def check_answers(
    record: ConsentRecord, questions: list[dict[str, Any]], posted: dict[str, str]
) -> dict[str, str]:
    """The wrong or missing answers (question index → explanation); all right: recorded."""
    wrong: dict[str, str] = {}
    chosen: dict[str, int] = {}
    for index, question in enumerate(questions):
        value = posted.get(f"q{index}", "")
        if not value.isdigit() or int(value) != question["answer"]:
            wrong[f"q{index}"] = question.get("explanation") or ""
        else:
            chosen[str(index)] = int(value)
    if not wrong:
        record.answers = {
            str(i): {"question": q["question"], "answer": q["choices"][q["answer"]]}
            for i, q in enumerate(questions)
        }
        progress = dict(record.progress or {})
        progress["answered"] = True
        record.progress = progress
    return wrong


def mark_reviewed(record: ConsentRecord, shown_hash: str, current_hash: str) -> None:
    if not hmac.compare_digest(shown_hash, current_hash):
        raise Refused(_("The document changed since it was shown: review it again."))
    progress = dict(record.progress or {})
    progress["reviewed"] = current_hash
    record.progress = progress


def next_step(record: ConsentRecord, sections: int, questions: int) -> str:
    progress = record.progress or {}
    if progress.get("read", 0) < sections:
        return "read"
    if questions and not progress.get("answered"):
        return "quiz"
    if not progress.get("reviewed"):
        return "review"
    return "sign"


@dataclass(frozen=True)
class SubjectSignature:
    printed_name: str
    agreed: bool
    representative_name: str = ""
    representative_relation: str = ""
    witness_name: str = ""


def _name(value: str, field: str, required: bool) -> str:
    value = " ".join(value.split())
    if required and not value:
        raise ValidationError(field, _("Write the name in full."))
    if len(value) > 200:
        raise ValidationError(field, _("At most ${count} characters.", mapping={"count": 200}))
    return value


def sign(
    dbsession: Session,
    actor: Actor,
    record: ConsentRecord,
    signature: SubjectSignature,
    *,
    document_html: str,
    meaning: str,
    zone: str,
    sections: int,
    questions: int,
    staff_witness_id: int | None,
) -> None:
    """The subject's signature; the record then needs the investigator's countersignature."""
    if record.status is not ConsentStatus.NEEDS_SIGNATURE or record.withdrawn_on:
        raise Refused(_("This consent is not waiting for a signature."))
    current = document_hash(document_html)
    if (
        next_step(record, sections, questions) != "sign"
        or (record.progress or {}).get("reviewed") != current
    ):
        raise Refused(_("Read the document, answer the questions and review it first."))
    name = _name(signature.printed_name, "printed_name", True)
    representative = _name(signature.representative_name, "representative_name", False)
    relation = _name(signature.representative_relation, "representative_relation", False)[:100]
    if representative and not relation:
        raise ValidationError(
            "representative_relation", _("Say how they are related to the subject.")
        )
    witness = _name(signature.witness_name, "witness_name", False)
    if not signature.agreed:
        raise ValidationError("agreed", _("Tick the box to consent."))
    now = datetime.now(UTC)
    record.signer_name, record.meaning = name, meaning
    record.representative_name = representative or None
    record.representative_relation = relation or None
    record.witness_name = witness or None
    record.signed_at = now
    record.signed_timezone = zone
    record.signed_local = now.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")
    record.document_hash, record.document_html = current, document_html
    record.status = ConsentStatus.NEEDS_COUNTERSIGNATURE
    audit.record(
        dbsession,
        actor,
        **_record_event(
            record,
            "consent.signed_by_subject",
            field="status",
            old=ConsentStatus.NEEDS_SIGNATURE.value,
            new={
                "status": record.status.value,
                "meaning": meaning,
                "hash": current,
                "identity": record.identity_method.value,
                "representative": bool(representative),
                "witness": bool(witness),
                "staff_present": staff_witness_id,
            },
        ),
    )


def countersign(
    dbsession: Session,
    actor: Actor,
    record: ConsentRecord,
    *,
    signer_name: str,
    meaning: str,
    render_pdf: Any,
) -> None:
    """The investigator's countersignature (credentials checked by the caller): the record is
    signed, its final PDF written and hashed; :class:`ConsentSigned` is published."""
    if record.status is not ConsentStatus.NEEDS_COUNTERSIGNATURE:
        raise Refused(_("This consent is not waiting for a countersignature."))
    record.countersigner_id, record.countersigner_name = actor.user_id, signer_name
    record.countersign_meaning, record.countersigned_at = meaning, datetime.now(UTC)
    record.status = ConsentStatus.SIGNED
    audit.record(
        dbsession,
        actor,
        **_record_event(
            record,
            "consent.countersigned",
            field="status",
            old=ConsentStatus.NEEDS_COUNTERSIGNATURE.value,
            new={"status": "signed", "meaning": meaning, "hash": record.document_hash},
        ),
    )
    dbsession.flush()
    pdf = render_pdf(record, certificate(dbsession, record))
    record.pdf, record.pdf_hash = pdf, hashlib.sha256(pdf).hexdigest()
    audit.record(
        dbsession,
        actor,
        **_record_event(record, "consent.pdf_written", new={"hash": record.pdf_hash}),
    )
    reconsented = (
        dbsession.execute(
            select(ConsentRecord.id)
            .join(ConsentVersion, ConsentVersion.id == ConsentRecord.version_id)
            .where(
                ConsentRecord.subject_id == record.subject_id,
                ConsentRecord.requires_reconsent.is_(True),
                ConsentVersion.document_id
                == select(ConsentVersion.document_id)
                .where(ConsentVersion.id == record.version_id)
                .scalar_subquery(),
            )
        )
        .scalars()
        .all()
    )
    if reconsented:
        dbsession.execute(
            update(ConsentRecord)
            .where(ConsentRecord.id.in_(reconsented))
            .values(requires_reconsent=False)
        )
        audit.record_many(
            dbsession,
            actor,
            [
                {
                    **_record_event(record, "consent.reconsented"),
                    "entity_id": old_id,
                    "field": "requires_reconsent",
                    "old": "true",
                    "new": "false",
                }
                for old_id in reconsented
            ],
        )
        hold.keep(dbsession, [record.subject_id])
    publish(events.ConsentSigned(dbsession, actor, record=record))


def reject(dbsession: Session, actor: Actor, record: ConsentRecord, reason: str) -> None:
    if record.status is not ConsentStatus.NEEDS_COUNTERSIGNATURE:
        raise Refused(_("This consent is not waiting for a countersignature."))
    reason = " ".join(reason.split())[:1000]
    if not reason:
        raise ValidationError("reason", _("Say why the consent is rejected."))
    record.status, record.rejected_reason = ConsentStatus.REJECTED, reason
    audit.record(
        dbsession,
        actor,
        **_record_event(
            record,
            "consent.rejected",
            field="status",
            old=ConsentStatus.NEEDS_COUNTERSIGNATURE.value,
            new="rejected",
            reason=reason,
        ),
    )
    publish(events.ConsentRejected(dbsession, actor, record=record, reason=reason))


def withdraw(
    dbsession: Session,
    actor: Actor,
    record: ConsentRecord,
    *,
    on: str,
    scope: list[str],
    reason: str,
    today: date,
) -> None:
    """The subject withdraws (what was collected before stays); publishes ConsentWithdrawn."""
    if record.status not in (ConsentStatus.SIGNED, ConsentStatus.NEEDS_COUNTERSIGNATURE) or (
        record.withdrawn_on is not None
    ):
        raise Refused(_("Only a given consent can be withdrawn."))
    try:
        day = date.fromisoformat(on.strip())
    except ValueError:
        raise ValidationError("withdrawn_on", _("Enter a date as YYYY-MM-DD.")) from None
    if day > today:
        raise ValidationError("withdrawn_on", _("The date cannot be in the future."))
    chosen = tuple(s for s in events.SCOPES if s in scope)
    if not chosen:
        raise ValidationError("scope", _("Choose what the subject withdraws from."))
    record.withdrawn_on, record.withdrawal_scope = day, list(chosen)
    audit.record(
        dbsession,
        actor,
        **_record_event(
            record,
            "consent.withdrawn",
            field="withdrawal",
            new={"on": day.isoformat(), "scope": list(chosen)},
            reason=" ".join(reason.split())[:1000] or None,
        ),
    )
    hold.keep(dbsession, [record.subject_id])
    publish(events.ConsentWithdrawn(dbsession, actor, record=record, on=day, scope=chosen))


# --- the audit certificate, the dashboard ------------------------------------------------------


def certificate(dbsession: Session, record: ConsentRecord) -> list[dict[str, Any]]:
    """The record's events for the PDF's audit certificate: when, what, who (a staff name or
    "subject"), and the hash of the chained event."""
    rows = dbsession.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.entity_type == "consent_record",
            AuditEvent.entity_id == audit.entity_key(record.id),
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
    return [
        {"at": event.occurred_at, "action": event.action, "who": name, "hash": event.hash}
        for event, name in rows
    ]


@dataclass(frozen=True)
class DashboardRow:
    record: ConsentRecord
    subject_label: str
    site_code: str
    version_number: str
    document_title: str


def dashboard(
    dbsession: Session, study: Study, site_ids: frozenset[int] | None
) -> tuple[list[DashboardRow], dict[tuple[str, str], int]]:
    """Every consent of the study (at ``site_ids`` when restricted), newest first, and the
    counts per (site, status): two queries whatever the number of records."""
    where = [ConsentRecord.study_id == study.id]
    if site_ids is not None:
        where.append(ConsentRecord.site_id.in_(site_ids))
    rows = dbsession.execute(
        select(
            ConsentRecord, Subject.label, Site.code, ConsentVersion.number, ConsentDocument.title
        )
        .join(Subject, Subject.id == ConsentRecord.subject_id)
        .join(Site, Site.id == ConsentRecord.site_id)
        .join(ConsentVersion, ConsentVersion.id == ConsentRecord.version_id)
        .join(ConsentDocument, ConsentDocument.id == ConsentVersion.document_id)
        .where(*where)
        .order_by(Site.code, ConsentRecord.id.desc())
        .limit(500)
    ).all()
    counts = dbsession.execute(
        select(Site.code, ConsentRecord.status, func.count())
        .join(Site, Site.id == ConsentRecord.site_id)
        .where(*where)
        .group_by(Site.code, ConsentRecord.status)
    ).all()
    return (
        [DashboardRow(*row) for row in rows],
        {(code, status.value): count for code, status, count in counts},
    )


def status_of(record: ConsentRecord) -> str:
    """What a dashboard shows: withdrawn and requires-re-consent over the signature state."""
    if record.withdrawn_on is not None:
        return "withdrawn"
    if record.requires_reconsent:
        return "requires_reconsent"
    return record.status.value


# --- the entry guard -------------------------------------------------------------------------


def entry_refusal(dbsession: Session, subject: Subject) -> TranslationString | None:
    """Why data entry must wait for ``subject``, if it must: consent withdrawn from further
    data, or (when the study says so) a re-consent pending. Read from the subject's hold
    (:mod:`datacapt.consent.hold`): no statement for a subject held by nothing."""
    held = subject.consent_hold
    if held is None:
        return None
    if held == hold.WITHDRAWN:
        return _("The subject withdrew consent to further data collection.")
    settings = dbsession.get(ConsentSettings, subject.study_id)
    if settings is not None and settings.block_entry:
        return _("The subject must consent to the new version before data entry goes on.")
    return None
