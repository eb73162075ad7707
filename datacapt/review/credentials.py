"""Re-entering one's credentials to sign (21 CFR Part 11 §11.200): the password, and the TOTP
code when two-factor is enrolled, throttled exactly like sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.i18n import TranslationString
from pyramid.request import Request

from datacapt import audit
from datacapt.accounts.passwords import verify_password
from datacapt.accounts.services import check_throttle, record_attempt
from datacapt.db import keep_writes
from datacapt.i18n import _
from datacapt.signin import two_factor


@dataclass(frozen=True)
class CredentialCheck:
    """The outcome: ``errors`` by input name (empty: go ahead), and the seconds to wait when
    throttled."""

    errors: dict[str, TranslationString]
    wait_seconds: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def two_factor_enrolled(request: Request) -> bool:
    """Whether the signer must also give a TOTP code."""
    return two_factor.is_enrolled(request.identity.user)


def check_signing_credentials(
    request: Request,
    password: str,
    code: str,
    refused_action: str = "signature.credentials_refused",
) -> CredentialCheck:
    """Check the signer's password (and code); a failure counts towards the sign-in throttle and
    is audited (as ``refused_action``: signing, unblinding...), and both are committed although
    the answer is an error."""
    user = request.identity.user
    ip = request.client_address or ""
    throttle = check_throttle(request.dbsession, request.registry, user.email, ip)
    if throttle.blocked:
        return CredentialCheck(
            {"password": _("Too many failed attempts: wait a few minutes, then try again.")},
            throttle.wait_seconds,
        )
    errors: dict[str, TranslationString] = {}
    if not verify_password(request.registry, user.password_hash, password):
        errors["password"] = _("This is not your password.")
    elif two_factor.is_enrolled(user) and not two_factor.verify_code(
        request.dbsession, request.registry, user, code.strip()
    ):
        errors["code"] = _("This code is not valid. Enter the current code.")
    record_attempt(request.dbsession, request.registry, user.email, ip, succeeded=not errors)
    if errors:
        audit.record(
            request.dbsession,
            request.actor,
            tenant_id=request.context.tenant.id,
            study_id=request.context.study.id,
            action=refused_action,
            entity_type="user",
            entity_id=user.id,
        )
        keep_writes(request)
    return CredentialCheck(errors)
