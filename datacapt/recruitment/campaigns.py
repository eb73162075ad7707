"""Campaigns: a recruitment's public page mailed to the persons of the repository who agreed
to hear of future studies. Queued by a recruitment's administrator, sent by a job after the
request commits: the recipients are chosen again when it runs (a person who opted out
meanwhile is not mailed), each gets a mail of their own with their first name and the link
only, every decryption is in the access log, and the campaign keeps counts, never names.

Every mail also carries the person's own address to withdraw their agreement
(``/apply/contact/{token}``, GDPR art. 7(3) and 21): the token is the person's id and an
HMAC of it under a key derived from ``datacapt.secret``, so nothing is stored and a forged
one is refused; only a POST from the page it opens clears the agreement. Forged or unknown
tokens slow their address down in a bucket of their own: a withdrawal is one person's act,
reached from their mail, and must not wait on applicants sharing their address."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyramid.registry import Registry
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.accounts.services import Bucket, Throttle, check_address, record_attempt
from datacapt.actor import Actor
from datacapt.config import get_app_settings
from datacapt.i18n import DEFAULT_LANGUAGE, LANGUAGES, _
from datacapt.jobs import enqueue_after_commit
from datacapt.mail import send_mail_in
from datacapt.models import (
    Application,
    CampaignState,
    Person,
    Recruitment,
    RecruitmentCampaign,
)
from datacapt.repository import services as repository
from datacapt.validation import ValidationError

SEND_JOB = "datacapt.recruitment.campaign"
SENDER = "recruitment-campaign"
#: Where a person withdraws their agreement, under the public ``/apply/`` area.
WITHDRAWAL_PATH = "/apply/contact/"
WITHDRAWER = "person-withdrawal"
#: Stands for the account in the withdrawal page's counted attempts (they name no account).
WITHDRAWAL_ATTEMPTS = "recruitment-withdrawal"


def _recipients(recruitment: Recruitment) -> ColumnElement[bool]:
    """The tenant's persons who opted in, not shredded, who have not applied to it yet."""
    applied = select(Application.id).where(
        Application.recruitment_id == recruitment.id, Application.person_id == Person.id
    )
    return and_(
        Person.tenant_id == recruitment.tenant_id,
        Person.contact_opt_in.is_(True),
        Person.shredded_at.is_(None),
        ~applied.exists(),
    )


@lru_cache(maxsize=8)
def _withdrawal_key(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"datacapt contact withdrawal"
    ).derive(secret.encode())


def _digest(registry: Registry, person: Person) -> str:
    message = f"{person.tenant_id}\x1f{person.id}\x1fcontact-withdrawal".encode()
    key = _withdrawal_key(get_app_settings(registry).secret)
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def withdrawal_token(registry: Registry, person: Person) -> str:
    """The person's own, stable token: their id and its HMAC (it says nothing else)."""
    return f"{person.id}-{_digest(registry, person)}"


def withdrawal_throttle(dbsession: Session, registry: Registry, address: str) -> Throttle:
    return check_address(dbsession, registry, address, Bucket.WITHDRAWAL)


def count_withdrawal_miss(dbsession: Session, registry: Registry, address: str) -> None:
    """A forged or unknown token, counted against the address; a withdrawal is not."""
    record_attempt(
        dbsession, registry, WITHDRAWAL_ATTEMPTS, address, succeeded=False, bucket=Bucket.WITHDRAWAL
    )


def withdrawal_person(dbsession: Session, registry: Registry, token: str) -> Person | None:
    """The person ``token`` was made for; None for a malformed or forged one."""
    number, _dash, digest = token.partition("-")
    if not (number.isascii() and number.isdigit() and len(number) < 10 and len(digest) == 32):
        return None
    person = dbsession.get(Person, int(number))
    if person is None or not hmac.compare_digest(digest, _digest(registry, person)):
        return None
    return person


def withdraw(dbsession: Session, person: Person, actor: Actor) -> None:
    """Clear the person's agreement to hear of future studies (a second time changes
    nothing); audited without personal data."""
    if not person.contact_opt_in:
        return
    person.contact_opt_in = False
    person.updated_at = datetime.now(UTC)
    audit.record(
        dbsession,
        actor,
        tenant_id=person.tenant_id,
        action="person.contact_withdrawn",
        entity_type="person",
        entity_id=person.id,
        study_id=person.study_id,
        site_id=person.site_id,
        field="contact_opt_in",
        old=True,
        new=False,
    )


def reachable(dbsession: Session, recruitment: Recruitment) -> int:
    return dbsession.scalar(select(func.count(Person.id)).where(_recipients(recruitment))) or 0


def campaigns_of(dbsession: Session, recruitment: Recruitment) -> list[RecruitmentCampaign]:
    return list(
        dbsession.scalars(
            select(RecruitmentCampaign)
            .where(RecruitmentCampaign.recruitment_id == recruitment.id)
            .order_by(RecruitmentCampaign.id.desc())
        )
    )


def request_campaign(
    dbsession: Session,
    recruitment: Recruitment,
    open_now: bool,
    actor: Actor,
    *,
    application_url: str,
    locale: str,
) -> RecruitmentCampaign:
    """Queue a campaign for ``recruitment``, which must be taking applications."""
    if not open_now:
        raise ValidationError("campaign", _("Only a recruitment taking applications is mailed."))
    campaign = RecruitmentCampaign(
        tenant_id=recruitment.tenant_id,
        recruitment_id=recruitment.id,
        requested_by_id=actor.user_id,
        sent=0,
        skipped=0,
    )
    dbsession.add(campaign)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=recruitment.tenant_id,
        action="recruitment.campaign_requested",
        entity_type="recruitment_campaign",
        entity_id=campaign.id,
        study_id=recruitment.study_id,
    )
    enqueue_after_commit(
        dbsession,
        SEND_JOB,
        campaign_id=campaign.id,
        application_url=application_url,
        locale=locale if locale in LANGUAGES else DEFAULT_LANGUAGE,
    )
    return campaign


def send(
    dbsession: Session,
    registry: Registry,
    campaign_id: int,
    application_url: str,
    locale: str,
) -> None:
    """Mail each recipient the public page once; a campaign already sent is not sent again."""
    campaign = dbsession.get(RecruitmentCampaign, campaign_id)
    if campaign is None or campaign.state is not CampaignState.QUEUED:
        return
    recruitment = dbsession.get(Recruitment, campaign.recruitment_id)
    assert recruitment is not None
    persons = list(
        dbsession.scalars(select(Person).where(_recipients(recruitment)).order_by(Person.id))
    )
    actor = Actor.system(SENDER, tenant_id=recruitment.tenant_id)
    opened = repository.read_listed(
        dbsession,
        registry,
        actor,
        recruitment.tenant_id,
        persons,
        action="decrypt",
        purpose="contact",
    )
    base = application_url.rstrip("/")
    link = f"{base}/apply/{recruitment.token}"
    for person in persons:
        data = opened.get(person.id)
        if data is None or not data.email:
            campaign.skipped += 1
            continue
        send_mail_in(
            dbsession,
            to=data.email,
            subject=_("A new study is looking for volunteers"),
            template="mail/recruitment_campaign.jinja2",
            application_url=application_url,
            locale=locale,
            first_name=data.first_name,
            title=recruitment.title,
            link=link,
            withdrawal_link=f"{base}{WITHDRAWAL_PATH}{withdrawal_token(registry, person)}",
        )
        campaign.sent += 1
    campaign.state, campaign.sent_at = CampaignState.SENT, datetime.now(UTC)
    audit.record(
        dbsession,
        actor,
        tenant_id=recruitment.tenant_id,
        action="recruitment.campaign_sent",
        entity_type="recruitment_campaign",
        entity_id=campaign.id,
        study_id=recruitment.study_id,
        new={"sent": campaign.sent, "skipped": campaign.skipped},
    )
