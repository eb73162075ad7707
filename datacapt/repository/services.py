"""The repository's persons: registering, reading (always logged), changing, searching (on
keyed blind indexes, never on plain text), and linking them to study subjects.

A person's identity (names, birth date, contacts) is sealed as one JSON document under the
person's own data key (:mod:`datacapt.repository.keys`), bound to the person's id. Search
compares HMAC-SHA-256 digests of the normalised full name, last name and e-mail address under a
per-tenant key derived from ``datacapt.secret``: exact matches after normalisation (case,
accents and spacing do not matter), nothing else is learnt from the index.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyramid.registry import Registry
from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from datacapt import audit, pii_access
from datacapt.actor import Actor
from datacapt.config import get_app_settings
from datacapt.i18n import _
from datacapt.models import (
    Person,
    PersonLink,
    Site,
    Study,
    Subject,
)
from datacapt.pagination import Page, paginate
from datacapt.permissions import STUDY_ROLE_PERMISSIONS, Permission
from datacapt.repository import keys
from datacapt.validation import EMAIL_PATTERN, ValidationError

PERSONS_PER_PAGE = 50
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

#: Why someone reads personal data; every read names one.
PURPOSES = {
    "contact": _("Contacting the person"),
    "identification": _("Identifying the person at a visit"),
    "eligibility": _("Checking eligibility"),
    "correction": _("Correcting their details"),
    "rights_request": _("Answering a data-protection request"),
}
ACTIONS = {
    "view": _("Viewed"),
    "search": _("Found by a search"),
    "edit": _("Changed"),
    "export": _("Exported"),
    "decrypt": _("Decrypted by the system"),
}


@dataclass(frozen=True)
class PersonData:
    first_name: str = ""
    last_name: str = ""
    birth_date: str = ""  # ISO 8601
    email: str = ""
    phone: str = ""


FIELDS = tuple(f.name for f in fields(PersonData))
FIELD_LABELS = {
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "birth_date": _("Birth date"),
    "email": _("E-mail"),
    "phone": _("Phone"),
}
#: What a search result shows of each person found.
LISTED_FIELDS = ("first_name", "last_name", "email")
#: What a possible duplicate's flag tells of the person found: they share the e-mail address,
#: or the names and the birth date, of the one registered.
MATCHED_FIELDS = ("first_name", "last_name", "birth_date", "email")


def clean(values: dict[str, str], today: date) -> PersonData:
    """The person's details as typed, checked; ValidationError names the first wrong field."""
    cleaned = {name: " ".join((values.get(name) or "").split()) for name in FIELDS}
    for name in ("first_name", "last_name"):
        if not cleaned[name]:
            raise ValidationError(name, _("Enter this name."))
        if len(cleaned[name]) > 100:
            raise ValidationError(name, _("At most ${count} characters.", mapping={"count": 100}))
    if cleaned["birth_date"]:
        try:
            born = date.fromisoformat(cleaned["birth_date"])
        except ValueError:
            raise ValidationError("birth_date", _("Enter a date as YYYY-MM-DD.")) from None
        if born > today or born.year < 1900:
            raise ValidationError("birth_date", _("Enter a date between 1900 and today."))
    email = cleaned["email"].lower()
    if email and (len(email) > 254 or not EMAIL_PATTERN.match(email)):
        raise ValidationError("email", _("Enter a valid e-mail address."))
    phone = cleaned["phone"]
    if phone and not (6 <= len(phone) <= 25 and all(c in "+0123456789 ().-/" for c in phone)):
        raise ValidationError("phone", _("Enter a phone number."))
    return PersonData(
        first_name=cleaned["first_name"],
        last_name=cleaned["last_name"],
        birth_date=cleaned["birth_date"],
        email=email,
        phone=phone,
    )


# --- blind indexes ---------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Case, accents and spacing removed: 'Éloïse  Dupont' and 'eloise dupont' are one."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


@lru_cache(maxsize=8)
def _index_key(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"datacapt repository blind index"
    ).derive(secret.encode())


def blind_index(registry: Registry, tenant_id: int, kind: str, text: str) -> str | None:
    normalised = normalise(text)
    if not normalised:
        return None
    key = _index_key(get_app_settings(registry).secret)
    message = f"{tenant_id}\x1f{kind}\x1f{normalised}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _indexes(registry: Registry, tenant_id: int, data: PersonData) -> dict[str, str | None]:
    full = f"{data.first_name} {data.last_name}"
    return {
        "name_index": blind_index(registry, tenant_id, "name", full),
        "last_name_index": blind_index(registry, tenant_id, "last_name", data.last_name),
        "email_index": blind_index(registry, tenant_id, "email", data.email),
        "name_birth_index": blind_index(
            registry, tenant_id, "name_birth", f"{full} {data.birth_date}"
        )
        if data.birth_date
        else None,
    }


# --- sealing ---------------------------------------------------------------------------------


def _associated(person: Person) -> bytes:
    return f"datacapt:person:{person.tenant_id}:{person.id}".encode()


def _seal(dbsession: Session, registry: Registry, person: Person, data: PersonData) -> None:
    key = keys.data_key(dbsession, registry, person)
    plaintext = json.dumps(asdict(data), ensure_ascii=False).encode()
    person.nonce, person.ciphertext = keys.seal(key, plaintext, _associated(person))
    for column, value in _indexes(registry, person.tenant_id, data).items():
        setattr(person, column, value)


def _open(
    dbsession: Session, registry: Registry, person: Person, key: bytes | None = None
) -> PersonData:
    if person.shredded_at is not None or person.ciphertext is None or person.nonce is None:
        raise keys.Shredded(f"person {person.id} was shredded")
    if key is None:
        key = keys.data_key(dbsession, registry, person)
    plain = keys.unseal(key, person.nonce, person.ciphertext, _associated(person))
    return PersonData(**json.loads(plain))


# --- the access log --------------------------------------------------------------------------


def log_access(
    dbsession: Session,
    actor: Actor,
    tenant_id: int,
    person_ids: Iterable[int | None],
    *,
    action: str,
    fields: Sequence[str],
    purpose: str,
    others: Sequence[tuple[int, Sequence[str]]] = (),
) -> None:
    """One access-log row per person read (``None``: a search that found nobody), and per
    person of ``others`` with the fields read of them."""
    pii_access.log_reads(
        dbsession,
        actor,
        tenant_id,
        list(person_ids),
        action=action,
        fields=fields,
        purpose=purpose,
        others=others,
    )


def read(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    person: Person,
    *,
    purpose: str,
    action: str = "view",
    fields: Sequence[str] = FIELDS,
) -> PersonData:
    """``person``'s details, the read logged first (Shredded when they are gone)."""
    if purpose not in PURPOSES:
        raise ValidationError("purpose", _("Choose why you need these details."))
    log_access(
        dbsession,
        actor,
        person.tenant_id,
        [person.id],
        action=action,
        fields=fields,
        purpose=purpose,
    )
    return _open(dbsession, registry, person)


# --- registering and changing ----------------------------------------------------------------


def new_reference() -> str:
    return "P-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def register(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    study: Study,
    site: Site,
    data: PersonData,
) -> Person:
    person = Person(
        tenant_id=study.tenant_id,
        study_id=study.id,
        site_id=site.id,
        reference=new_reference(),
        created_by_id=actor.user_id,
    )
    dbsession.add(person)
    dbsession.flush()
    keys.new_data_key(dbsession, registry, person)
    _seal(dbsession, registry, person, data)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=person.tenant_id,
        action="person.registered",
        entity_type="person",
        entity_id=person.id,
        study_id=study.id,
        site_id=site.id,
        new={"reference": person.reference, "fields": [n for n in FIELDS if getattr(data, n)]},
    )
    return person


def change(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    person: Person,
    data: PersonData,
    reason: str,
) -> list[str]:
    """Store ``data`` for ``person``; the names of the fields that changed (audited by name
    only: the audit trail never holds the values)."""
    if not reason.strip():
        raise ValidationError("reason", _("Say why the details change."))
    before = read(dbsession, registry, actor, person, purpose="correction", action="edit")
    changed = [name for name in FIELDS if getattr(before, name) != getattr(data, name)]
    if not changed:
        return []
    _seal(dbsession, registry, person, data)
    person.updated_at = datetime.now(UTC)
    audit.record(
        dbsession,
        actor,
        tenant_id=person.tenant_id,
        action="person.changed",
        entity_type="person",
        entity_id=person.id,
        study_id=person.study_id,
        site_id=person.site_id,
        field=",".join(changed),
        reason=reason.strip()[:500],
    )
    return changed


# --- who sees whom ---------------------------------------------------------------------------


def pii_scopes(identity: object, tenant_id: int) -> list[tuple[int, frozenset[int] | None]]:
    """(study id, site ids or None for all) where the user holds VIEW_PII in this tenant."""
    found = []
    for grant in getattr(identity, "study_roles", ()):
        if grant.tenant_id == tenant_id and Permission.VIEW_PII in STUDY_ROLE_PERMISSIONS.get(
            grant.role, ()
        ):
            found.append((grant.study_id, grant.site_ids))
    return found


def _in_scopes(scopes: Sequence[tuple[int, frozenset[int] | None]]) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    for study_id, site_ids in scopes:
        if site_ids is None:
            clauses.append(Person.study_id == study_id)
        else:
            clauses.append((Person.study_id == study_id) & Person.site_id.in_(sorted(site_ids)))
    return or_(*clauses) if clauses else false()


def search_clause(registry: Registry, tenant_id: int, text: str) -> ColumnElement[bool] | None:
    text = text.strip()
    if not text:
        return None
    digests = [
        blind_index(registry, tenant_id, kind, text) for kind in ("name", "last_name", "email")
    ]
    return or_(
        Person.name_index == digests[0],
        Person.last_name_index == digests[1],
        Person.email_index == digests[2],
        Person.reference == text.upper(),
    )


def persons_page(
    dbsession: Session,
    registry: Registry,
    tenant_id: int,
    scopes: Sequence[tuple[int, frozenset[int] | None]],
    number: int,
    *,
    search: str = "",
) -> Page[tuple[Person, str, str]]:
    """The persons the scopes see, newest first: (person, study code, site code)."""
    statement = (
        select(Person, Study.code, Site.code)
        .join(Study, Study.id == Person.study_id)
        .join(Site, Site.id == Person.site_id)
        .where(Person.tenant_id == tenant_id, _in_scopes(scopes))
        .order_by(Person.id.desc())
    )
    clause = search_clause(registry, tenant_id, search)
    if clause is not None:
        statement = statement.where(clause)
    return paginate(dbsession, statement, number, PERSONS_PER_PAGE, key=Person.id, descending=True)


def read_listed(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    tenant_id: int,
    persons: Sequence[Person],
    *,
    action: str,
    purpose: str,
    matched: Sequence[int] = (),
) -> dict[int, PersonData | None]:
    """The listed fields of each person (None: shredded), every one logged, with the persons
    ``matched`` as possible duplicates whose flag is shown beside them."""
    log_access(
        dbsession,
        actor,
        tenant_id,
        [p.id for p in persons] or [None],
        action=action,
        fields=LISTED_FIELDS,
        purpose=purpose,
        others=[(person_id, MATCHED_FIELDS) for person_id in matched],
    )
    data_keys = keys.data_keys(dbsession, registry, persons)  # one query for the page
    opened: dict[int, PersonData | None] = {}
    for person in persons:
        key = data_keys.get(person.id)
        opened[person.id] = None if key is None else _open(dbsession, registry, person, key)
    return opened


# --- possible duplicates ---------------------------------------------------------------------


def possible_duplicate(dbsession: Session, person: Person) -> Person | None:
    """The earliest other person of ``person``'s study with their e-mail address, or their
    names and birth date (compared on the blind indexes): maybe the same human again."""
    matches = [
        column == value
        for column, value in (
            (Person.email_index, person.email_index),
            (Person.name_birth_index, person.name_birth_index),
        )
        if value is not None
    ]
    if not matches:
        return None
    return dbsession.scalar(
        select(Person)
        .where(
            Person.tenant_id == person.tenant_id,
            Person.study_id == person.study_id,
            Person.id != person.id,
            Person.shredded_at.is_(None),
            or_(*matches),
        )
        .order_by(Person.id)
        .limit(1)
    )


def drop_duplicate(
    dbsession: Session, actor: Actor, person: Person, kept: Person, reason: str
) -> None:
    """``person`` was registered again as ``kept``: crypto-shred the copy (its key and what was
    sealed and indexed of it), carry over an agreement to be contacted, audit both."""
    if is_enrolled(dbsession, person):
        raise ValidationError("person", _("This person is enrolled in a study."))
    keys.shred(dbsession, person)
    opted_in = kept.contact_opt_in
    kept.contact_opt_in = opted_in or person.contact_opt_in
    kept.updated_at = datetime.now(UTC)
    audit.record(
        dbsession,
        actor,
        tenant_id=person.tenant_id,
        action="person.duplicate_shredded",
        entity_type="person",
        entity_id=person.id,
        study_id=person.study_id,
        site_id=person.site_id,
        old={"reference": person.reference},
        new={"kept": kept.reference, "contact_opt_in": kept.contact_opt_in},
        reason=reason.strip()[:500],
    )


# --- links to study subjects -----------------------------------------------------------------


def links_of(dbsession: Session, person: Person) -> list[tuple[PersonLink, Subject, str]]:
    return [
        (link, subject, code)
        for link, subject, code in dbsession.execute(
            select(PersonLink, Subject, Study.code)
            .join(Subject, Subject.id == PersonLink.subject_id)
            .join(Study, Study.id == Subject.study_id)
            .where(PersonLink.person_id == person.id, PersonLink.tenant_id == person.tenant_id)
            .order_by(PersonLink.id)
        )
    ]


def is_enrolled(dbsession: Session, person: Person) -> bool:
    return (
        dbsession.scalar(select(PersonLink.id).where(PersonLink.person_id == person.id).limit(1))
        is not None
    )


def link(
    dbsession: Session,
    actor: Actor,
    person: Person,
    label: str,
    may_link: object,
) -> PersonLink:
    """Link ``person`` to the subject ``label`` of their study; ``may_link(subject)`` says
    whether the user may (a subject they cannot see is as unknown as a missing one)."""
    subject = dbsession.scalar(
        select(Subject).where(
            Subject.tenant_id == person.tenant_id,
            Subject.study_id == person.study_id,
            Subject.label == label.strip(),
        )
    )
    if subject is None or not may_link(subject):  # type: ignore[operator]
        raise ValidationError("label", _("No subject with this ID in the study."))
    if dbsession.scalar(select(PersonLink.id).where(PersonLink.subject_id == subject.id)):
        raise ValidationError("label", _("This subject is already linked to a person."))
    row = PersonLink(
        tenant_id=person.tenant_id,
        person_id=person.id,
        subject_id=subject.id,
        created_by_id=actor.user_id,
    )
    dbsession.add(row)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=person.tenant_id,
        action="person.linked",
        entity_type="person",
        entity_id=person.id,
        study_id=subject.study_id,
        site_id=subject.site_id,
        subject_id=subject.id,
        new={"reference": person.reference, "subject": subject.label},
    )
    return row
