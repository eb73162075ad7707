"""Subject accounts, for long studies that allow them: after entering through a link, a subject
may set a password (and an authenticator) and sign in at ``/p/login`` with it thereafter.

The login names nobody: random letters and digits, shown once when the account is made. The
password follows the staff's rules (argon2, the common-password list); the authenticator's
secret is sealed like personal data, bound to the subject. Sign-ins are throttled like the
staff's (per login and per address, with the same limits) but counted in their own bucket, so
many subjects behind one address never slow the staff's sign-ins; a wrong login, password or
code get the same answer.
A session so opened reaches the subject's questionnaires only, like a link's, and is never
enough to sign anything.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno
from pyramid.registry import Registry
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datacapt import audit, sealing
from datacapt.accounts.passwords import check_password_rules, hasher, verify_password
from datacapt.accounts.services import Bucket, Throttle, check_throttle, record_attempt
from datacapt.actor import Actor
from datacapt.config import get_app_settings
from datacapt.i18n import _
from datacapt.models import Study, Subject, SubjectAccount
from datacapt.validation import ValidationError

LOGIN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
LOGIN_LENGTH = 10
MAX_INPUT = 200
ISSUER = "Datacapt"
STEP_SECONDS = 30
TOLERANCE_STEPS = 1
#: Failed sign-ins are counted per login under this prefix (never mixed with staff accounts).
ATTEMPT_PREFIX = "subject-account:"


def allowed(study: Study) -> bool:
    return bool(study.epro_accounts)


def account_of(dbsession: Session, subject: Subject) -> SubjectAccount | None:
    return dbsession.get(SubjectAccount, subject.id)


def _new_login(dbsession: Session) -> str:
    while True:
        raw = "".join(secrets.choice(LOGIN_ALPHABET) for _char in range(LOGIN_LENGTH))
        login = f"{raw[:5]}-{raw[5:]}"
        if dbsession.scalar(select(SubjectAccount.login).where(SubjectAccount.login == login)):
            continue  # pragma: no cover - 31**10 logins
        return login


def normalise_login(text: str) -> str:
    squeezed = "".join((text or "").split()).lower().replace("-", "")
    return f"{squeezed[:5]}-{squeezed[5:]}" if len(squeezed) == LOGIN_LENGTH else squeezed


def create_account(
    dbsession: Session,
    registry: Registry,
    study: Study,
    subject: Subject,
    password: str,
    confirmation: str,
    actor: Actor,
) -> str:
    """Give ``subject`` an account with ``password``; its login, shown once. Raises
    ValidationError (``password`` or ``confirmation``)."""
    if not allowed(study):
        raise ValidationError("password", _("This study does not offer accounts."))
    if account_of(dbsession, subject) is not None:
        raise ValidationError("password", _("You have an account already."))
    if len(password) > MAX_INPUT:
        password = password[: MAX_INPUT + 1]
    login = _new_login(dbsession)
    check_password_rules(password, (login, subject.label), field="password")
    if password != confirmation:
        raise ValidationError("confirmation", _("The two passwords are not the same."))
    now = datetime.now(UTC)
    dbsession.add(
        SubjectAccount(
            subject_id=subject.id,
            tenant_id=subject.tenant_id,
            study_id=subject.study_id,
            login=login,
            password_hash=hasher(registry).hash(password),
            created_at=now,
        )
    )
    dbsession.flush()
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="epro.account_created",
        entity_type="subject_account",
        entity_id=subject.id,
    )
    return login


# --- the authenticator ------------------------------------------------------------------------


def _associated(subject_id: int) -> bytes:
    return f"datacapt:subject:{subject_id}:totp".encode()


def _secret(registry: Registry, account: SubjectAccount) -> str:
    sealed = sealing.Sealed(account.totp_key_id, account.totp_nonce, account.totp_ciphertext)
    return sealing.unseal(registry, sealed, _associated(account.subject_id)).decode()


def has_authenticator(account: SubjectAccount | None) -> bool:
    return account is not None and account.totp_confirmed_at is not None


def start_authenticator(registry: Registry, account: SubjectAccount) -> str:
    """A new secret waiting for its first code (replacing one still waiting); in base32."""
    if has_authenticator(account):
        raise ValidationError("code", _("Two-factor authentication is already set up."))
    secret = pyotp.random_base32()
    sealed = sealing.seal(registry, secret.encode(), _associated(account.subject_id))
    account.totp_key_id, account.totp_nonce = sealed.key_id, sealed.nonce
    account.totp_ciphertext, account.totp_last_step = sealed.ciphertext, None
    return secret


def pending_secret(registry: Registry, account: SubjectAccount) -> str | None:
    if account.totp_ciphertext is None or account.totp_confirmed_at is not None:
        return None
    return _secret(registry, account)


def qr_code_svg(secret: str, login: str) -> str:
    uri = pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff")


def manual_key(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _accepted_step(secret: str, code: str, last_step: int | None) -> int | None:
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = int(datetime.now(UTC).timestamp()) // STEP_SECONDS
    for step in range(now_step - TOLERANCE_STEPS, now_step + TOLERANCE_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def _use_code(dbsession: Session, registry: Registry, account: SubjectAccount, code: str) -> bool:
    """A current code, never accepted twice (the step is claimed by a conditional update)."""
    if account.totp_ciphertext is None:
        return False
    step = _accepted_step(_secret(registry, account), code, account.totp_last_step)
    if step is None:
        return False
    claimed = dbsession.execute(
        update(SubjectAccount)
        .where(
            SubjectAccount.subject_id == account.subject_id,
            SubjectAccount.totp_last_step.is_(None) | (SubjectAccount.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    dbsession.expire(account)
    return claimed == 1


def confirm_authenticator(
    dbsession: Session,
    registry: Registry,
    subject: Subject,
    account: SubjectAccount,
    code: str,
    actor: Actor,
) -> None:
    if pending_secret(registry, account) is None:
        raise ValidationError("code", _("Start the set-up again: no authenticator is waiting."))
    if not _use_code(dbsession, registry, account, code):
        raise ValidationError("code", _("This code is not valid. Enter the current code."))
    account.totp_confirmed_at = datetime.now(UTC)
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="epro.account_authenticator_added",
        entity_type="subject_account",
        entity_id=subject.id,
    )


# --- signing in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """What a sign-in came to: the account (None: refused), or a wait (throttled)."""

    account: SubjectAccount | None
    throttle: Throttle


def _attempt_key(login: str) -> str:
    return ATTEMPT_PREFIX + normalise_login(login)


def _pseudonym(registry: Registry, login: str) -> str:
    """How the trail names a login that matches no account: never the text typed."""
    secret = get_app_settings(registry).secret.encode()
    digest = hmac.new(secret, _attempt_key(login).encode(), hashlib.sha256).hexdigest()
    return "unknown:" + digest[:16]


def sign_in(
    dbsession: Session,
    registry: Registry,
    login: str,
    password: str,
    code: str,
    address: str,
    actor: Actor,
) -> SignIn:
    """The account these credentials open (its authenticator's code too, if it has one), else
    None (counted against the login and the address, audited); or the wait when throttled.
    The same work is done whether or not the login exists."""
    login = normalise_login(login)[:40]
    throttle = check_throttle(
        dbsession, registry, _attempt_key(login), address, bucket=Bucket.SUBJECT_SIGN_IN
    )
    account = dbsession.scalar(select(SubjectAccount).where(SubjectAccount.login == login))
    subject = dbsession.get(Subject, account.subject_id) if account is not None else None
    if throttle.blocked:
        _audit_failure(dbsession, registry, actor, subject, login, "throttled")
        return SignIn(None, throttle)
    password = password[: MAX_INPUT + 1]
    good = verify_password(registry, account.password_hash if account else None, password)
    if good and account is not None and has_authenticator(account):
        good = _use_code(dbsession, registry, account, code)
    study = dbsession.get(Study, account.study_id) if account is not None else None
    if not good or account is None or study is None or not allowed(study):
        record_attempt(
            dbsession,
            registry,
            _attempt_key(login),
            address,
            succeeded=False,
            bucket=Bucket.SUBJECT_SIGN_IN,
        )
        _audit_failure(dbsession, registry, actor, subject, login, "refused")
        return SignIn(None, Throttle(0))
    record_attempt(
        dbsession,
        registry,
        _attempt_key(login),
        address,
        succeeded=True,
        bucket=Bucket.SUBJECT_SIGN_IN,
    )
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="epro.account_signed_in",
        entity_type="subject_account",
        entity_id=subject.id,
    )
    return SignIn(account, Throttle(0))


def _audit_failure(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    subject: Subject | None,
    login: str,
    outcome: str,
) -> None:
    action = "epro.account_sign_in_failed"
    if subject is not None:
        audit.record_subject(
            dbsession,
            actor,
            subject,
            action=action,
            entity_type="subject_account",
            entity_id=subject.id,
            new={"outcome": outcome},
        )
        return
    audit.record(
        dbsession,
        actor,
        tenant_id=None,
        action=action,
        entity_type="subject_account",
        entity_id=_pseudonym(registry, login),
        new={"outcome": outcome},
    )
