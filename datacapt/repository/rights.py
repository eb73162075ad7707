"""Data subjects' rights and retention: Art. 15 access bundles, Art. 17 erasure decided by the
DPO, and retention policies per data category (dry run, legal hold, run log).

Erasure crypto-shreds the person's data key: what the repository held of them becomes
unreadable for good. A person linked to study subjects is not erased: their trial data and the
audit trail are kept (GDPR Art. 17(3)(c) and (d), EU CTR Art. 58: 25 years), the DPO's refusal
and its reason are recorded.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from pyramid.registry import Registry
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.jobs import JobContext, enqueue_after_commit, job
from datacapt.models import (
    AccessBundle,
    BundleState,
    ErasureRequest,
    ErasureState,
    Person,
    PersonLink,
    PiiAccess,
    RetentionPolicy,
    RetentionRun,
    Subject,
    Tenant,
)
from datacapt.repository import keys, services
from datacapt.validation import ValidationError

BUNDLE_JOB = "repository.access_bundle"

#: Data categories a retention policy applies to, and what a run does to what is too old.
CATEGORIES = {
    "prospects": _("Persons never enrolled in a study: their identity is shredded"),
    "enrolled": _("Persons enrolled in a study: their identity is shredded"),
    "access_log": _("The log of personal-data reads: its rows are deleted"),
    "access_bundles": _("Access bundles: their files are deleted"),
}
#: Days kept when a tenant set no policy (None: kept until a policy is set).
DEFAULT_DAYS: dict[str, int | None] = {
    "prospects": 730,
    "enrolled": None,  # EU CTR Art. 58: at least 25 years after the trial; set per tenant
    "access_log": None,
    "access_bundles": 90,
}
#: The scheduled run skips a tenant whose policies were applied more recently than this.
SCHEDULE_GAP = timedelta(hours=20)


# --- erasure ---------------------------------------------------------------------------------


def request_erasure(
    dbsession: Session, actor: Actor, person: Person, *, note: str = ""
) -> ErasureRequest:
    pending = dbsession.scalar(
        select(ErasureRequest.id).where(
            ErasureRequest.person_id == person.id, ErasureRequest.state == ErasureState.PENDING
        )
    )
    if pending is not None:
        raise ValidationError("erasure", _("An erasure request is already waiting for the DPO."))
    if person.shredded_at is not None:
        raise ValidationError("erasure", _("This person's details are already erased."))
    row = ErasureRequest(
        tenant_id=person.tenant_id,
        person_id=person.id,
        state=ErasureState.PENDING,
        requested_by_id=actor.user_id,
    )
    dbsession.add(row)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=person.tenant_id,
        action="person.erasure_requested",
        entity_type="erasure_request",
        entity_id=row.id,
        new={"reference": person.reference},
        reason=note.strip()[:500] or None,
    )
    return row


def decide_erasure(
    dbsession: Session,
    actor: Actor,
    person: Person,
    request: ErasureRequest,
    *,
    erase: bool,
    reason: str,
) -> ErasureRequest:
    """The DPO's decision. Erasing a person linked to study subjects is refused: the trial data
    and the audit trail must be kept (Art. 17(3) GDPR, CTR Art. 58)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("reason", _("Give the reason for the decision."))
    if request.state != ErasureState.PENDING or request.person_id != person.id:
        raise ValidationError("decision", _("This request was decided already."))
    enrolled = services.is_enrolled(dbsession, person)
    if erase and enrolled:
        raise ValidationError(
            "decision",
            _(
                "This person is enrolled in a study: their trial data and its audit trail are "
                "kept (GDPR Art. 17(3), EU CTR Art. 58). Refuse the request with the reason."
            ),
        )
    request.enrolled = enrolled
    request.decided_at = datetime.now(UTC)
    request.decided_by_id = actor.user_id
    request.decision_reason = reason[:2000]
    request.state = ErasureState.ERASED if erase else ErasureState.REFUSED
    if erase:
        keys.shred(dbsession, person)
        _drop_bundles(dbsession, person.id)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=person.tenant_id,
        action="person.erasure_decided",
        entity_type="erasure_request",
        entity_id=request.id,
        old=ErasureState.PENDING.value,
        new={"state": request.state.value, "reference": person.reference, "enrolled": enrolled},
        reason=reason[:500],
    )
    return request


def _drop_bundles(dbsession: Session, person_id: int) -> None:
    for bundle in dbsession.scalars(
        select(AccessBundle).where(AccessBundle.person_id == person_id)
    ):
        bundle.json_nonce = bundle.json_sealed = bundle.pdf_nonce = bundle.pdf_sealed = None
        if bundle.state != BundleState.RELEASED:
            bundle.state = BundleState.FAILED


def pending_requests(
    dbsession: Session, tenant_id: int
) -> list[tuple[ErasureRequest, Person, bool]]:
    """The tenant's pending erasure requests, with whether each person is enrolled (2 queries)."""
    rows = dbsession.execute(
        select(ErasureRequest, Person)
        .join(Person, Person.id == ErasureRequest.person_id)
        .where(ErasureRequest.tenant_id == tenant_id, ErasureRequest.state == ErasureState.PENDING)
        .order_by(ErasureRequest.requested_at, ErasureRequest.id)
    ).all()
    enrolled = set(
        dbsession.scalars(
            select(PersonLink.person_id).where(
                PersonLink.person_id.in_([person.id for _request, person in rows])
            )
        )
    )
    return [(request, person, person.id in enrolled) for request, person in rows]


def shred_subject_contacts(dbsession: Session, actor: Actor, subject: Subject, reason: str) -> bool:
    """Crypto-shred a study subject's contact and bank details (their data key): for a subject
    no person of the repository stands for, whose details must go (an erasure the DPO granted).
    Their trial data, payments ledger and audit trail stay. False when there was no key to
    shred."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("reason", _("Give the reason for the decision."))
    shredded = keys.shred_subject(dbsession, subject.tenant_id, subject.id)
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="subject.contact_shredded",
        entity_type="subject_contact",
        entity_id=subject.id,
        reason=reason[:500],
    )
    return shredded


# --- Art. 15 access bundles ------------------------------------------------------------------


def request_bundle(dbsession: Session, actor: Actor, person: Person) -> AccessBundle:
    if person.shredded_at is not None:
        raise ValidationError("bundle", _("This person's details are erased."))
    bundle = AccessBundle(
        tenant_id=person.tenant_id,
        person_id=person.id,
        state=BundleState.QUEUED,
        requested_by_id=actor.user_id,
    )
    dbsession.add(bundle)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=person.tenant_id,
        action="person.access_bundle_requested",
        entity_type="access_bundle",
        entity_id=bundle.id,
        new={"reference": person.reference},
    )
    enqueue_after_commit(dbsession, BUNDLE_JOB, bundle_id=bundle.id)
    return bundle


def bundle_document(dbsession: Session, registry: Registry, person: Person) -> dict[str, Any]:
    """What the repository and the platform hold about ``person``: identity, the study
    subjects they are, who read their data and why, their requests."""
    actor = Actor.system("access bundle", tenant_id=person.tenant_id)
    data = services.read(
        dbsession, registry, actor, person, purpose="rights_request", action="export"
    )
    links = services.links_of(dbsession, person)
    reads = dbsession.scalars(
        select(PiiAccess).where(PiiAccess.person_id == person.id).order_by(PiiAccess.id)
    ).all()
    requests = dbsession.scalars(
        select(ErasureRequest).where(ErasureRequest.person_id == person.id)
    ).all()
    return {
        "reference": person.reference,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "identity": asdict(data),
        "registered_at": person.created_at.isoformat(timespec="seconds"),
        "studies": [
            {"study": code, "subject": subject.label, "status": subject.status.value}
            for _link, subject, code in links
        ],
        "reads": [
            {
                "at": row.at.isoformat(timespec="seconds"),
                "action": row.action,
                "fields": row.fields.split(","),
                "purpose": row.purpose,
            }
            for row in reads
        ],
        "erasure_requests": [
            {
                "requested_at": row.requested_at.isoformat(timespec="seconds"),
                "state": row.state.value,
                "decided_at": row.decided_at.isoformat(timespec="seconds")
                if row.decided_at
                else None,
                "reason": row.decision_reason,
            }
            for row in requests
        ],
    }


def bundle_pdf(document: dict[str, Any]) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    def rows(pairs: Sequence[tuple[str, Any]]) -> str:
        return "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in pairs
        )

    identity = document["identity"]
    parts = [
        "<html><head><meta charset='utf-8'><style>body{font-family:sans-serif;font-size:10pt}"
        "th{text-align:left;padding-right:1em}</style></head><body>",
        f"<h1>Personal data held — {html.escape(document['reference'])}</h1>",
        f"<p>Generated {html.escape(document['generated_at'])}</p>",
        "<h2>Identity</h2><table>",
        rows([(name.replace("_", " ").capitalize(), value) for name, value in identity.items()]),
        "</table><h2>Studies</h2><table>",
        rows([(s["study"], f"{s['subject']} ({s['status']})") for s in document["studies"]]),
        "</table><h2>Reads of these data</h2><table>",
        rows(
            [
                (r["at"], f"{r['action']}: {', '.join(r['fields'])} — {r['purpose']}")
                for r in document["reads"]
            ]
        ),
        "</table></body></html>",
    ]
    return HTML(string="".join(parts), url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


def _bundle_associated(bundle: AccessBundle, kind: str) -> bytes:
    return f"datacapt:access-bundle:{bundle.tenant_id}:{bundle.id}:{kind}".encode()


def build_bundle(dbsession: Session, registry: Registry, bundle_id: int) -> AccessBundle:
    bundle = dbsession.get(AccessBundle, bundle_id)
    if bundle is None or bundle.state != BundleState.QUEUED:
        raise LookupError(f"no queued access bundle {bundle_id}")
    person = dbsession.get(Person, bundle.person_id)
    assert person is not None
    try:
        document = bundle_document(dbsession, registry, person)
        key = keys.data_key(dbsession, registry, person)
    except keys.Shredded:
        bundle.state = BundleState.FAILED
        return bundle
    payload = json.dumps(document, ensure_ascii=False, indent=2).encode()
    bundle.json_nonce, bundle.json_sealed = keys.seal(
        key, payload, _bundle_associated(bundle, "json")
    )
    bundle.pdf_nonce, bundle.pdf_sealed = keys.seal(
        key, bundle_pdf(document), _bundle_associated(bundle, "pdf")
    )
    bundle.state = BundleState.READY
    bundle.built_at = datetime.now(UTC)
    dbsession.flush()
    return bundle


@job(BUNDLE_JOB)
def access_bundle_job(ctx: JobContext, bundle_id: int) -> None:
    build_bundle(ctx.dbsession, ctx.registry, bundle_id)


def release_bundle(dbsession: Session, actor: Actor, bundle: AccessBundle) -> None:
    if bundle.state != BundleState.READY:
        raise ValidationError("bundle", _("Only a bundle that is ready can be released."))
    bundle.state = BundleState.RELEASED
    bundle.released_at = datetime.now(UTC)
    bundle.released_by_id = actor.user_id
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=bundle.tenant_id,
        action="person.access_bundle_released",
        entity_type="access_bundle",
        entity_id=bundle.id,
        old=BundleState.READY.value,
        new=BundleState.RELEASED.value,
    )


def open_bundle(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    person: Person,
    bundle: AccessBundle,
    kind: str,
) -> bytes:
    """The released bundle's file (``json`` or ``pdf``); its reading is logged."""
    if bundle.state != BundleState.RELEASED or bundle.person_id != person.id:
        raise ValidationError("bundle", _("This bundle is not released."))
    nonce, sealed = (
        (bundle.json_nonce, bundle.json_sealed)
        if kind == "json"
        else (bundle.pdf_nonce, bundle.pdf_sealed)
    )
    if nonce is None or sealed is None:
        raise keys.Shredded("the bundle's files are gone")
    services.log_access(
        dbsession,
        actor,
        person.tenant_id,
        [person.id],
        action="export",
        fields=services.FIELDS,
        purpose="rights_request",
    )
    key = keys.data_key(dbsession, registry, person)
    return keys.unseal(key, nonce, sealed, _bundle_associated(bundle, kind))


def bundles_of(dbsession: Session, person: Person) -> list[AccessBundle]:
    return list(
        dbsession.scalars(
            select(AccessBundle)
            .where(AccessBundle.person_id == person.id)
            .order_by(AccessBundle.id.desc())
        )
    )


# --- retention -------------------------------------------------------------------------------


def policies(dbsession: Session, tenant_id: int) -> dict[str, int | None]:
    found: dict[str, int | None] = dict(DEFAULT_DAYS)
    for row in dbsession.scalars(
        select(RetentionPolicy).where(RetentionPolicy.tenant_id == tenant_id)
    ):
        found[row.category] = row.days
    return found


def set_policy(
    dbsession: Session, actor: Actor, tenant_id: int, category: str, days: int
) -> RetentionPolicy:
    if category not in CATEGORIES:
        raise ValidationError("category", _("Choose a data category."))
    if days < 1 or days > 36525 * 2:
        raise ValidationError("days", _("Enter a number of days between 1 and 73050."))
    row = dbsession.scalar(
        select(RetentionPolicy).where(
            RetentionPolicy.tenant_id == tenant_id, RetentionPolicy.category == category
        )
    )
    old = row.days if row else DEFAULT_DAYS[category]
    if row is None:
        row = RetentionPolicy(tenant_id=tenant_id, category=category, days=days)
        dbsession.add(row)
    row.days = days
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=tenant_id,
        action="repository.retention_policy_set",
        entity_type="retention_policy",
        entity_id=category,
        old=old,
        new=days,
    )
    return row


def set_legal_hold(
    dbsession: Session, actor: Actor, person: Person, *, hold: bool, reason: str
) -> None:
    if not reason.strip():
        raise ValidationError("hold_reason", _("Give the reason for the decision."))
    old = person.legal_hold
    person.legal_hold = hold
    person.legal_hold_reason = reason.strip()[:500] if hold else None
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=person.tenant_id,
        action="person.legal_hold_set",
        entity_type="person",
        entity_id=person.id,
        old=old,
        new=hold,
        reason=reason.strip()[:500],
    )


def held(dbsession: Session, tenant_id: int) -> list[Person]:
    """The tenant's persons under legal hold (references and reasons only)."""
    return list(
        dbsession.scalars(
            select(Person)
            .where(Person.tenant_id == tenant_id, Person.legal_hold.is_(True))
            .order_by(Person.reference)
        )
    )


def run_retention(
    dbsession: Session, actor: Actor, tenant_id: int, *, dry_run: bool, now: datetime | None = None
) -> RetentionRun:
    """Apply the tenant's policies (or count what they would do, ``dry_run``): persons past
    their category's period are shredded unless under legal hold; old log rows and bundle files
    are deleted. The run and its counts are logged, whether dry or not."""
    now = now or datetime.now(UTC)
    days = policies(dbsession, tenant_id)
    results: dict[str, dict[str, int]] = {}
    linked = select(PersonLink.person_id).where(PersonLink.tenant_id == tenant_id)
    for category, enrolled in (("prospects", False), ("enrolled", True)):
        if days[category] is None:
            continue
        cutoff = now - timedelta(days=days[category] or 0)
        membership = Person.id.in_(linked) if enrolled else Person.id.not_in(linked)
        due = dbsession.scalars(
            select(Person).where(
                Person.tenant_id == tenant_id,
                Person.shredded_at.is_(None),
                Person.updated_at < cutoff,
                membership,
            )
        ).all()
        held = [person for person in due if person.legal_hold]
        results[category] = {"due": len(due) - len(held), "held": len(held)}
        if not dry_run:
            for person in due:
                if not person.legal_hold:
                    keys.shred(dbsession, person)
                    _drop_bundles(dbsession, person.id)
    if days["access_log"] is not None:
        cutoff = now - timedelta(days=days["access_log"])
        old_rows = select(PiiAccess.id).where(
            PiiAccess.tenant_id == tenant_id, PiiAccess.at < cutoff
        )
        count = len(dbsession.scalars(old_rows).all())
        results["access_log"] = {"due": count, "held": 0}
        if not dry_run and count:
            dbsession.execute(
                delete(PiiAccess).where(PiiAccess.tenant_id == tenant_id, PiiAccess.at < cutoff)
            )
    if days["access_bundles"] is not None:
        cutoff = now - timedelta(days=days["access_bundles"])
        bundles = dbsession.scalars(
            select(AccessBundle).where(
                AccessBundle.tenant_id == tenant_id,
                AccessBundle.requested_at < cutoff,
                AccessBundle.json_sealed.is_not(None),
            )
        ).all()
        results["access_bundles"] = {"due": len(bundles), "held": 0}
        if not dry_run:
            for bundle in bundles:
                bundle.json_nonce = bundle.json_sealed = None
                bundle.pdf_nonce = bundle.pdf_sealed = None
    run = RetentionRun(
        tenant_id=tenant_id,
        dry_run=dry_run,
        actor=(actor.name or "user")[:200],
        results=results,
        ran_at=now,
    )
    dbsession.add(run)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=tenant_id,
        action="repository.retention_dry_run" if dry_run else "repository.retention_run",
        entity_type="retention_run",
        entity_id=run.id,
        new=results,
    )
    return run


def run_scheduled_retention(
    dbsession: Session, actor: Actor, now: datetime | None = None
) -> list[RetentionRun]:
    """The daily run: every tenant's policies applied, except for a tenant whose policies were
    applied less than a day ago (a restarted worker runs its periodic jobs at once: that is no
    reason to apply them twice)."""
    now = now or datetime.now(UTC)
    recent = select(RetentionRun.tenant_id).where(
        RetentionRun.dry_run.is_(False), RetentionRun.ran_at > now - SCHEDULE_GAP
    )
    tenants = dbsession.scalars(
        select(Tenant.id).where(Tenant.id.not_in(recent)).order_by(Tenant.id)
    ).all()
    return [
        run_retention(dbsession, actor, tenant_id, dry_run=False, now=now) for tenant_id in tenants
    ]


def runs(dbsession: Session, tenant_id: int, limit: int = 20) -> list[RetentionRun]:
    return list(
        dbsession.scalars(
            select(RetentionRun)
            .where(RetentionRun.tenant_id == tenant_id)
            .order_by(RetentionRun.id.desc())
            .limit(limit)
        )
    )
