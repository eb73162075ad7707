"""Issuing, revoking and recognising API keys (see :class:`datacapt.models.ApiKey`).

A key reads ``dc_<prefix>_<secret>``: the prefix (48 random bits, shown in lists and logs)
finds the row, the secret (256 random bits) is compared by its SHA-256 in constant time. An
expired or revoked key, an unknown prefix and a wrong secret all get the same answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.members import roles
from datacapt.models import ApiKey, Site, Study, StudyRoleAssignment, StudyRoleSite, User
from datacapt.permissions import Permission, StudyRole
from datacapt.security import Identity
from datacapt.validation import ValidationError

KEY_PATTERN = re.compile(r"dc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
MAX_NAME = 100
LONGEST_LIFE = timedelta(days=366)
#: What a key may ever be allowed: reading, and with ``writes`` entering data and starting
#: exports. Never the
#: personal data, and never a signature: a Part 11 signature is a person's own act.
READS = frozenset(
    {
        Permission.VIEW_TENANT,
        Permission.VIEW_STUDY,
        Permission.LIST_SUBJECTS,
        Permission.VIEW_SITE,
        Permission.VIEW_SUBJECT,
        Permission.VIEW_EXPORTS,
    }
)
WRITES = READS | {Permission.ENTER_DATA, Permission.EXPORT_DATA}
#: How often at most a key's ``last_used_at`` is written (a write on every read would cost).
USE_RECORDED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKey
    text: str  # the whole key, shown once


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(
    dbsession: Session,
    study: Study,
    *,
    name: str,
    choice: roles.RoleChoice,
    writes: bool,
    days: int,
    granter: Identity | None,
    by: Actor,
) -> IssuedKey:
    """A new key of ``study`` acting with ``choice``'s role; ``granter`` must be allowed to
    grant that role (None: the operator, from the command line)."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValidationError("name", _("Give the key a name of at most 100 characters."))
    if not 1 <= days <= LONGEST_LIFE.days:
        raise ValidationError("days", _("A key lives from 1 to 366 days."))
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    account = User(
        email=f"api-key-{prefix}@keys.invalid",
        name=f"API key: {name}",
        password_hash=None,
        is_active=True,
    )
    dbsession.add(account)
    dbsession.flush()
    roles.grant_role(dbsession, granter, study, account, choice, by)
    row = ApiKey(
        tenant_id=study.tenant_id,
        study_id=study.id,
        user_id=account.id,
        name=name,
        prefix=prefix,
        secret_sha256=_sha256(secret),
        writes=writes,
        created_by_id=by.user_id,
        expires_at=datetime.now(UTC) + timedelta(days=days),
    )
    dbsession.add(row)
    dbsession.flush()
    audit.record(
        dbsession,
        by,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="api_key.issued",
        entity_type="api_key",
        entity_id=row.id,
        new=described(row, choice),
    )
    return IssuedKey(row, f"dc_{prefix}_{secret}")


def described(row: ApiKey, choice: roles.RoleChoice) -> dict[str, Any]:
    codes = None if choice.sites is None else sorted(site.code for site in choice.sites)
    return {
        "name": row.name,
        "prefix": row.prefix,
        "role": choice.role.value,
        "sites": codes,
        "writes": row.writes,
        "expires_at": row.expires_at.isoformat(),
    }


def revoke(dbsession: Session, row: ApiKey, *, reason: str, by: Actor) -> None:
    """The key stops working at once; its account and trail stay."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError("reason", _("Say why the key is revoked."))
    if row.revoked_at is not None:
        return
    row.revoked_at = datetime.now(UTC)
    audit.record(
        dbsession,
        by,
        tenant_id=row.tenant_id,
        study_id=row.study_id,
        action="api_key.revoked",
        entity_type="api_key",
        entity_id=row.id,
        old={"revoked": False},
        new={"revoked": True},
        reason=reason,
    )


@dataclass(frozen=True)
class Listed:
    """A key with the role its account holds and where (None: the whole study)."""

    row: ApiKey
    role: StudyRole | None
    site_codes: list[str] | None


def study_keys(dbsession: Session, study: Study) -> list[Listed]:
    rows = dbsession.execute(
        select(ApiKey, StudyRoleAssignment.role, Site.code)
        .outerjoin(
            StudyRoleAssignment,
            (StudyRoleAssignment.user_id == ApiKey.user_id)
            & (StudyRoleAssignment.study_id == ApiKey.study_id),
        )
        .outerjoin(StudyRoleSite, StudyRoleSite.study_role_id == StudyRoleAssignment.id)
        .outerjoin(Site, Site.id == StudyRoleSite.site_id)
        .where(ApiKey.study_id == study.id)
        .order_by(ApiKey.id.desc(), Site.code)
    ).all()
    found: dict[int, Listed] = {}
    for key, role, code in rows:
        listed = found.setdefault(key.id, Listed(key, role, [] if code else None))
        if code is not None and listed.site_codes is not None:
            listed.site_codes.append(code)
    return list(found.values())


def find(dbsession: Session, study: Study, prefix: str) -> ApiKey | None:
    return dbsession.scalar(
        select(ApiKey).where(ApiKey.study_id == study.id, ApiKey.prefix == prefix)
    )


def parse(text: str | None) -> tuple[str, str] | None:
    """(prefix, secret) of a key as sent, or None for anything else."""
    found = KEY_PATTERN.fullmatch(text or "")
    return (found[1], found[2]) if found else None


def usable(row: ApiKey, secret: str, now: datetime) -> bool:
    """Whether ``secret`` is this key's and the key still works."""
    matches = hmac.compare_digest(row.secret_sha256, _sha256(secret))
    return matches and row.revoked_at is None and row.expires_at > now


def role_choice(role: str, site_codes: Sequence[str], sites: Sequence[Site]) -> roles.RoleChoice:
    """The role a key acts with: the whole study, or ``site_codes`` only."""
    scope = roles.AT_SITES if site_codes else roles.WHOLE_STUDY
    return roles.read_choice(role, scope, site_codes, sites)
