"""Accounts: creating users, checking credentials, and throttling sign-in attempts."""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyramid.registry import Registry
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from datacapt.accounts.passwords import (
    check_password_rules,
    hash_password,
    hasher,
    needs_rehash,
    verify_password,
)
from datacapt.config import AppSettings, get_app_settings
from datacapt.db import exists
from datacapt.i18n import LANGUAGES, _, is_timezone
from datacapt.models import (
    LoginAttempt,
    Site,
    Study,
    StudyRoleAssignment,
    StudyRoleSite,
    Tenant,
    TenantRoleAssignment,
    User,
)
from datacapt.permissions import StudyRole, TenantRole
from datacapt.validation import ValidationError, clean_email, clean_text, normalize_email

#: Attempts older than this are deleted when new ones are recorded.
ATTEMPT_RETENTION = timedelta(days=1)


def find_user(dbsession: Session, email: str) -> User | None:
    return dbsession.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(
    dbsession: Session,
    registry: Registry,
    email: str,
    name: str,
    password: str | None = None,
    *,
    system_admin: bool = False,
) -> User:
    email = clean_email("email", email)
    name = clean_text("name", name, 200)
    if find_user(dbsession, email) is not None:
        raise ValidationError("email", _("A user with this e-mail address already exists."))
    user = User(
        email=email,
        name=name,
        password_hash=(
            hash_password(registry, password, (email, name)) if password is not None else None
        ),
        is_system_admin=system_admin,
        is_active=True,
    )
    dbsession.add(user)
    dbsession.flush()
    return user


def set_preferences(user: User, language: str, timezone: str) -> None:
    if language not in LANGUAGES:
        raise ValidationError("language", _("Choose one of the offered languages."))
    if not is_timezone(timezone):
        raise ValidationError("timezone", _("Choose a time zone from the list."))
    user.locale, user.timezone = language, timezone


def authenticate(dbsession: Session, registry: Registry, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Upgrades outdated hashes on the way."""
    user = find_user(dbsession, email)
    if user is None or not user.is_active or user.password_hash is None:
        verify_password(registry, None, password)  # same work as for a real account
        return None
    if not verify_password(registry, user.password_hash, password):
        return None
    if needs_rehash(registry, user.password_hash):
        # The same password, stronger hashing: the policy of the day is not applied here.
        user.password_hash = hasher(registry).hash(password)
    return user


def set_password(registry: Registry, user: User, password: str, field: str) -> None:
    """Give ``user`` a new password that meets the policy (the ValidationError names ``field``).

    Sessions opened with the old password stop working (``sessions.password_stamp``).
    """
    check_password_rules(password, (user.email, user.name), field=field)
    user.password_hash = hasher(registry).hash(password)


# --- throttling -----------------------------------------------------------------------------


class Bucket(enum.StrEnum):
    """What an attempt was for. Each purpose slows an address down on its own count: many
    applications from a hospital's NAT must not slow its staff's sign-ins."""

    SIGN_IN = "sign-in"
    #: Subject accounts' password sign-ins (``/p/login``): many subjects may share one address.
    SUBJECT_SIGN_IN = "subject-sign-in"
    SUBJECT_LINK = "subject-link"
    APPLICATION = "application"
    #: The application page's live branching: every evaluation counts, not only failures.
    EVALUATION = "evaluation"
    #: Unknown or forged tokens on the page where a person mailed by a campaign withdraws.
    WITHDRAWAL = "withdrawal"


#: How many counted attempts an address makes per window in a bucket before it is slowed down,
#: as a multiple of ``datacapt.login_max_failures_per_ip``: an applicant answering a
#: questionnaire asks for many evaluations.
BUCKET_FACTORS = {
    Bucket.SIGN_IN: 1,
    Bucket.SUBJECT_SIGN_IN: 1,
    Bucket.SUBJECT_LINK: 1,
    Bucket.APPLICATION: 1,
    Bucket.EVALUATION: 20,
    Bucket.WITHDRAWAL: 1,
}


@dataclass(frozen=True)
class Throttle:
    """Where a sign-in stands: how long to wait before the next try (0: go ahead)."""

    wait_seconds: int

    @property
    def blocked(self) -> bool:
        return self.wait_seconds > 0


def account_key(settings: AppSettings, email: str) -> str:
    """A keyed hash of the address, so the attempts table holds no e-mail addresses."""
    return hmac.new(
        settings.secret.encode(), normalize_email(email).encode(), hashlib.sha256
    ).hexdigest()


def _recent_failures(
    dbsession: Session, since: datetime, criterion: ColumnElement[bool], *, reset_on_success: bool
) -> tuple[int, datetime | None, datetime | None]:
    """How many failures match ``criterion`` since ``since`` (and since the last success, if
    asked), the oldest and the latest of them."""
    after = since
    if reset_on_success:
        last_success = (
            select(func.max(LoginAttempt.at))
            .where(criterion, LoginAttempt.succeeded.is_(True))
            .scalar_subquery()
        )
        after = func.coalesce(last_success, since)
    count, oldest, latest = dbsession.execute(
        select(func.count(), func.min(LoginAttempt.at), func.max(LoginAttempt.at)).where(
            criterion,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at > since,
            LoginAttempt.at > after,
        )
    ).one()
    return count, oldest, latest


def check_throttle(
    dbsession: Session,
    registry: Registry,
    email: str,
    ip: str,
    *,
    bucket: Bucket = Bucket.SIGN_IN,
) -> Throttle:
    """Too many failures for this account within the window → wait out the window; too many
    from this address in ``bucket`` → one try per ``window / limit`` seconds.

    An address is slowed down, never locked: many people share one (a hospital's NAT, a proxy
    not listed in ``datacapt.trusted_proxies``), and one of them guessing must not keep the
    others out. A success clears the account's count (its owner is back), never the
    address's: one valid account must not let an address keep guessing at others.
    """
    settings = get_app_settings(registry)
    now = datetime.now(UTC)
    window = timedelta(seconds=settings.login_window_seconds)
    since = now - window
    waits = [0]
    count, oldest, _ = _recent_failures(
        dbsession,
        since,
        (LoginAttempt.bucket == bucket.value)
        & (LoginAttempt.account_key == account_key(settings, email)),
        reset_on_success=True,
    )
    if count >= settings.login_max_failures_per_account and oldest is not None:
        waits.append(_seconds_until(oldest + window, now))
    waits.append(_address_wait(dbsession, settings, ip, bucket, now))
    return Throttle(max(waits))


def check_address(dbsession: Session, registry: Registry, ip: str, bucket: Bucket) -> Throttle:
    """The address's part of :func:`check_throttle` alone, in ``bucket``: for a secret that
    names no account (a subject's link) or a public page, whose attempts
    :func:`record_attempt` counts in the same bucket."""
    settings = get_app_settings(registry)
    return Throttle(_address_wait(dbsession, settings, ip, bucket, datetime.now(UTC)))


def _address_wait(
    dbsession: Session, settings: AppSettings, ip: str, bucket: Bucket, now: datetime
) -> int:
    window = timedelta(seconds=settings.login_window_seconds)
    limit = settings.login_max_failures_per_ip * BUCKET_FACTORS[bucket]
    count, _, latest = _recent_failures(
        dbsession,
        now - window,
        (LoginAttempt.bucket == bucket.value) & (LoginAttempt.ip == ip),
        reset_on_success=False,
    )
    if count >= limit and latest is not None:
        return _seconds_until(latest + window / limit, now)
    return 0


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds()) + 1)


def record_attempt(
    dbsession: Session,
    registry: Registry,
    email: str,
    ip: str,
    *,
    succeeded: bool,
    bucket: Bucket = Bucket.SIGN_IN,
) -> None:
    now = datetime.now(UTC)
    dbsession.add(
        LoginAttempt(
            at=now,
            bucket=bucket.value,
            account_key=account_key(get_app_settings(registry), email),
            ip=ip,
            succeeded=succeeded,
        )
    )
    dbsession.execute(delete(LoginAttempt).where(LoginAttempt.at < now - ATTEMPT_RETENTION))


# --- roles ----------------------------------------------------------------------------------


def grant_tenant_role(
    dbsession: Session, user: User, tenant: Tenant, role: TenantRole
) -> TenantRoleAssignment:
    if exists(dbsession, TenantRoleAssignment, tenant_id=tenant.id, user_id=user.id, role=role):
        raise ValidationError("role", _("This user already holds this role."))
    assignment = TenantRoleAssignment(tenant_id=tenant.id, user_id=user.id, role=role)
    dbsession.add(assignment)
    dbsession.flush()
    return assignment


def grant_study_role(
    dbsession: Session, user: User, study: Study, role: StudyRole, sites: list[Site] | None = None
) -> StudyRoleAssignment:
    """Give ``user`` ``role`` in ``study``; with ``sites``, only at those sites."""
    if exists(dbsession, StudyRoleAssignment, study_id=study.id, user_id=user.id, role=role):
        raise ValidationError("role", _("This user already holds this role."))
    if any(site.study_id != study.id for site in sites or ()):
        raise ValidationError("sites", _("Choose sites of this study."))
    assignment = StudyRoleAssignment(
        tenant_id=study.tenant_id,
        study_id=study.id,
        user_id=user.id,
        role=role,
        sites=[
            StudyRoleSite(site_id=site.id, tenant_id=study.tenant_id, study_id=study.id)
            for site in sites or ()
        ],
    )
    dbsession.add(assignment)
    dbsession.flush()
    return assignment
