"""Rules for tenants, studies and sites, and the queries their pages need."""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.models import Site, Study, Subject, Tenant
from datacapt.models.studies import (
    DEFAULT_LANGUAGES,
    DEFAULT_SUBJECT_ID_PATTERN,
    DEFAULT_TIMEZONE,
)
from datacapt.resources import RESERVED_NAMES, TENANT_CHILDREN
from datacapt.security import Identity, StudyMembership
from datacapt.studies.places import clean_country, clean_languages, clean_timezone
from datacapt.validation import (
    FieldChecks,
    ValidationError,
    clean_code,
    clean_text,
    whole_number,
)

LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
PATTERN_FIELDS = {"site", "seq"}
MAX_PATTERN = 60  # the column's width
#: What a field of the pattern may carry: {site} as it is, {seq} zero-padded to at most 12
#: digits. A width is what str.format obeys blindly: {seq:0999999999} would build a gigabyte.
PATTERN_SPECS = {"site": re.compile(r""), "seq": re.compile(r"0?(1[0-2]|[1-9])?d?")}


def find_tenant(dbsession: Session, slug: str) -> Tenant | None:
    return dbsession.scalar(select(Tenant).where(Tenant.slug == slug))


def find_study(dbsession: Session, tenant: Tenant, code: str) -> Study | None:
    return dbsession.scalar(select(Study).where(Study.tenant_id == tenant.id, Study.code == code))


def find_site(dbsession: Session, study: Study, code: str) -> Site | None:
    return dbsession.scalar(select(Site).where(Site.study_id == study.id, Site.code == code))


def study_sites(
    dbsession: Session, study: Study, site_ids: Collection[int] | None = None
) -> list[Site]:
    """The study's sites by code; with ``site_ids``, only those (None: every site)."""
    statement = select(Site).where(Site.study_id == study.id).order_by(Site.code)
    if site_ids is not None:
        statement = statement.where(Site.id.in_(site_ids))
    return list(dbsession.scalars(statement))


#: Who creates tenants, studies and sites unless told: the operator's command line.
SETUP = Actor.system("setup")


def create_tenant(dbsession: Session, slug: str, name: str, actor: Actor = SETUP) -> Tenant:
    slug = clean_code("slug", slug)
    if slug in RESERVED_NAMES:
        raise ValidationError("slug", _("This name is reserved; choose another."))
    name = clean_text("name", name, 200)
    if find_tenant(dbsession, slug) is not None:
        raise ValidationError("slug", _("This name is already taken."))
    tenant = Tenant(slug=slug, name=name)
    dbsession.add(tenant)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=tenant.id,
        action="tenant.created",
        entity_type="tenant",
        entity_id=tenant.id,
        new={"slug": slug, "name": name},
    )
    return tenant


def create_study(
    dbsession: Session,
    tenant: Tenant,
    code: str,
    title: str,
    actor: Actor = SETUP,
    *,
    languages: Iterable[str] = DEFAULT_LANGUAGES,
    timezone: str = DEFAULT_TIMEZONE,
    subject_id_pattern: str = DEFAULT_SUBJECT_ID_PATTERN,
) -> Study:
    """A new study, checked field by field (:class:`FieldErrors` names every refused one)."""
    check = FieldChecks()
    code = check(clean_code, "code", code)
    values = {
        "code": code,
        "title": check(clean_text, "title", title, 300),
        "languages": check(clean_languages, languages),
        "timezone": check(clean_timezone, timezone),
        "subject_id_pattern": check(check_pattern, (subject_id_pattern or "").strip()),
    }
    if code in TENANT_CHILDREN:
        check.errors.setdefault("code", _("This name is reserved; choose another."))
    if code and find_study(dbsession, tenant, code) is not None:
        check.errors.setdefault("code", _("This code is already used in this organisation."))
    check.raise_any()
    study = Study(tenant_id=tenant.id, **values)
    dbsession.add(study)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=tenant.id,
        study_id=study.id,
        action="study.created",
        entity_type="study",
        entity_id=study.id,
        new=values,
    )
    return study


def change_study(
    dbsession: Session,
    study: Study,
    actor: Actor,
    *,
    title: str,
    languages: Iterable[str],
    timezone: str,
    subject_id_pattern: str,
    missing_codes: str,
    visit_window_blocking: bool,
    epro_accounts: bool | None = None,
    subject_messages: bool | None = None,
) -> Study:
    """The study's settings as a whole; one audit event per field that changed
    (``epro_accounts`` None: unchanged)."""
    check = FieldChecks()
    new = {
        "title": check(clean_text, "title", title, 300),
        "languages": check(clean_languages, languages),
        "timezone": check(clean_timezone, timezone),
        "subject_id_pattern": check(check_pattern, (subject_id_pattern or "").strip()),
        "missing_codes": check(parse_missing_codes, missing_codes),
        "visit_window_blocking": visit_window_blocking,
        "epro_accounts": study.epro_accounts if epro_accounts is None else epro_accounts,
        "subject_messages": (
            study.subject_messages if subject_messages is None else subject_messages
        ),
    }
    check.raise_any()
    old = {name: getattr(study, name) for name in new}
    for name, value in new.items():
        setattr(study, name, value)
    audit.record_changes(
        dbsession,
        actor,
        old,
        new,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="study.settings_changed",
        entity_type="study",
        entity_id=study.id,
    )
    return study


def clean_target(text: str | None) -> int | None:
    """A site's enrolment target as written: a whole number of at least 1, or nothing."""
    if text is None or not text.strip():
        return None
    target = whole_number(text.strip())
    if not target:
        raise ValidationError("target", _("Write a whole number of subjects, at least 1."))
    return target


def _site_values(
    check: FieldChecks,
    name: str,
    country: str | None,
    timezone: str | None,
    target: str | None,
) -> dict[str, Any]:
    return {
        "name": check(clean_text, "name", name, 200),
        "country": check(clean_country, country),
        "timezone": check(lambda zone: clean_timezone(zone, required=False), timezone),
        "target_enrolment": check(clean_target, target),
    }


def create_site(
    dbsession: Session,
    study: Study,
    code: str,
    name: str,
    actor: Actor = SETUP,
    target: str | None = None,
    *,
    country: str | None = None,
    timezone: str | None = None,
) -> Site:
    """A new site; an empty country or zone is none (the site then keeps the study's zone)."""
    check = FieldChecks()
    code = check(clean_code, "code", code)
    values = _site_values(check, name, country, timezone, target)
    if code and find_site(dbsession, study, code) is not None:
        check.errors.setdefault("code", _("This code is already used in this study."))
    check.raise_any()
    site = Site(tenant_id=study.tenant_id, study_id=study.id, code=code, **values)
    dbsession.add(site)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        site_id=site.id,
        action="site.created",
        entity_type="site",
        entity_id=site.id,
        new={"code": code, **{key: value for key, value in values.items() if value is not None}},
    )
    return site


def change_site(
    dbsession: Session,
    site: Site,
    actor: Actor,
    *,
    name: str,
    country: str | None,
    timezone: str | None,
    target: str | None,
) -> Site:
    """A site's name, country, zone and target (its code names it in URLs and IDs: it stays)."""
    check = FieldChecks()
    new = _site_values(check, name, country, timezone, target)
    check.raise_any()
    old = {key: getattr(site, key) for key in new}
    for key, value in new.items():
        setattr(site, key, value)
    audit.record_changes(
        dbsession,
        actor,
        old,
        new,
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        action="site.changed",
        entity_type="site",
        entity_id=site.id,
    )
    return site


def set_site_target(
    dbsession: Session, site: Site, target: str | None, actor: Actor = SETUP
) -> Site:
    """Set (or, with nothing, remove) the number of subjects a site means to enrol."""
    old, site.target_enrolment = site.target_enrolment, clean_target(target)
    if site.target_enrolment != old:
        audit.record(
            dbsession,
            actor,
            tenant_id=site.tenant_id,
            study_id=site.study_id,
            site_id=site.id,
            action="site.target_changed",
            entity_type="site",
            entity_id=site.id,
            old={"target_enrolment": old},
            new={"target_enrolment": site.target_enrolment},
        )
    return site


@dataclass(frozen=True)
class SiteSummary:
    site: Site
    subjects: int


def site_summaries(
    dbsession: Session, study: Study, site_ids: frozenset[int] | None
) -> list[SiteSummary]:
    """The sites one may see, each with its number of subjects, in one query."""
    statement = (
        select(Site, func.count(Subject.id))
        .outerjoin(Subject, (Subject.site_id == Site.id) & (Subject.study_id == Site.study_id))
        .where(Site.study_id == study.id)
        .group_by(Site.id)
        .order_by(Site.code)
    )
    if site_ids is not None:
        statement = statement.where(Site.id.in_(site_ids))
    return [SiteSummary(site, count) for site, count in dbsession.execute(statement)]


def visible_studies(dbsession: Session, tenant: Tenant, identity: Identity) -> list[Study]:
    """Tenant administrators see every study of the tenant; others the ones they hold roles in."""
    statement = select(Study).where(Study.tenant_id == tenant.id).order_by(Study.code)
    if not identity.is_tenant_admin(tenant.id):
        study_ids = {r.study_id for r in identity.study_roles if r.tenant_id == tenant.id}
        statement = statement.where(Study.id.in_(study_ids))
    return list(dbsession.scalars(statement))


def all_tenants(dbsession: Session) -> list[Tenant]:
    return list(dbsession.scalars(select(Tenant).order_by(Tenant.name)))


def roles_by_study(identity: Identity) -> dict[int, list[StudyMembership]]:
    found: dict[int, list[StudyMembership]] = {}
    for grant in identity.study_roles:
        found.setdefault(grant.study_id, []).append(grant)
    return found


MISSING_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
MAX_MISSING_CODES = 20


def parse_missing_codes(text: str) -> list[list[str]]:
    """Lines "CODE, label" (e.g. "NK, Not known"): upper-case codes, each once."""
    codes: list[list[str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        code, comma, label = (part.strip() for part in line.partition(","))
        if not comma or not MISSING_CODE.match(code) or not label or len(label) > 100:
            raise ValidationError(
                "missing_codes",
                _(
                    'Line ${line}: write "CODE, label" with a code of capital letters and digits.',
                    mapping={"line": number},
                ),
            )
        if any(code == existing for existing, _label in codes):
            raise ValidationError(
                "missing_codes",
                _(
                    "Line ${line}: the code ${code} is used twice.",
                    mapping={"line": number, "code": code},
                ),
            )
        codes.append([code, label])
    if len(codes) > MAX_MISSING_CODES:
        raise ValidationError(
            "missing_codes", _("At most ${count} codes.", mapping={"count": MAX_MISSING_CODES})
        )
    return codes


def check_pattern(pattern: str) -> str:
    """A subject ID pattern: text with {site} and {seq} (formatted, e.g. {seq:04})."""
    try:
        parsed = [part for part in string.Formatter().parse(pattern) if part[1] is not None]
        fields = {name for _text, name, _spec, _conv in parsed}
        bounded = all(
            conversion is None
            and name in PATTERN_SPECS
            and PATTERN_SPECS[name].fullmatch(spec or "")
            for _text, name, spec, conversion in parsed
        )
        sample = pattern.format(site="par01", seq=1) if bounded else ""
    except (ValueError, IndexError, KeyError):
        fields, sample = {"?"}, ""
    too_long = len(pattern) > MAX_PATTERN
    if (
        too_long
        or fields - PATTERN_FIELDS
        or "seq" not in fields
        or not LABEL_PATTERN.match(sample)
    ):
        raise ValidationError(
            "subject_id_pattern",
            _("Use {site} and {seq} with letters, digits, '-', '_' or '.', e.g. {site}-{seq:04}."),
        )
    return pattern
