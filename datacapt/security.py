"""Who is asking, and may they: identities and their principals, the cookie session, CSRF and
security headers. The policy that finds the identity of a request is sign-in's
(:mod:`datacapt.signin.policy`).

Below :data:`SUBJECT_AREA` (the pages subjects reach by link) the only identity is a subject's
(:class:`SubjectIdentity`, from the subject session cookie): one principal naming that subject,
never ``Authenticated`` nor any staff principal, so it holds nothing but what a questionnaire
node grants that very subject.

The identity (the session, its user and every role they hold) is loaded once per request in one
query and turned into principals; the resource tree's static ACLs do the rest. Nothing here
knows about a particular view.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from operator import attrgetter
from typing import Any

from pyramid.authorization import Authenticated, Everyone
from pyramid.config import Configurator
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.events import NewResponse
from pyramid.request import Request
from pyramid.response import Response
from pyramid.session import BaseCookieSessionFactory, JSONSerializer
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Subquery,
    func,
    null,
    select,
    type_coerce,
    union_all,
)
from webob.cookies import SignedSerializer

from datacapt import permissions as perms
from datacapt.config import AppSettings, get_app_settings
from datacapt.htmx import SUBJECT_AREA
from datacapt.models import (
    Site,
    Study,
    StudyRoleAssignment,
    StudyRoleSite,
    Subject,
    SubjectSession,
    Tenant,
    TenantRoleAssignment,
    User,
)
from datacapt.permissions import StudyRole, TenantRole

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


#: Subjects' pages live below ``SUBJECT_AREA``, outside the staff tree: their own identity,
#: cookie, layout and headers.
SUBJECT_COOKIE = "datacapt_subject"
#: How long a subject session lasts after its Start: answers are saved page by page, so an
#: ended session loses nothing but the page being typed; a new link opens another.
SUBJECT_SESSION_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class SubjectIdentity:
    """A subject who exchanged a link for a session: they reach their own questionnaires of
    one study, nothing else. Never enough to sign anything."""

    session_id: int
    tenant_id: int
    study_id: int
    subject_id: int
    expires_at: datetime
    timezone: str  # the subject's: their site's, else their study's
    #: How the session was opened: ``link`` (a one-time link's Start) or ``account`` (the
    #: subject's login and password, and their authenticator's code if they set one).
    method: str = "link"

    @cached_property
    def principals(self) -> list[str]:
        return [Everyone, perms.subject_principal(self.tenant_id, self.study_id, self.subject_id)]

    @property
    def may_sign(self) -> bool:
        """Whether this session alone proves enough to sign (a consent): never, whether opened
        by a link or by a subject account; signing asks its own identity check."""
        return False


def raw_path(request: Request) -> str:
    """The path as the server received it, undecoded: ``request.path_info`` raises on bytes
    that are not UTF-8 (``/%ff``), which the door answers with a 400 later; telling one area
    from another only needs its ASCII prefix."""
    path: str = request.environ.get("PATH_INFO", "")
    return path


def in_subject_area(request: Request) -> bool:
    return raw_path(request).startswith(SUBJECT_AREA)


def token_hash(token: str) -> str:
    """How a link's token or a subject session's cookie is stored: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def load_subject_identity(request: Request) -> SubjectIdentity | None:
    """The subject session the request's cookie names, while it lasts."""
    cookie = request.cookies.get(SUBJECT_COOKIE)
    if not cookie or len(cookie) > 100:
        return None
    found = request.dbsession.execute(
        select(SubjectSession, func.coalesce(Site.timezone, Study.timezone))
        .join(Subject, Subject.id == SubjectSession.subject_id)
        .join(Site, Site.id == Subject.site_id)
        .join(Study, Study.id == Subject.study_id)
        .where(SubjectSession.token_hash == token_hash(cookie))
    ).first()
    if found is None or found[0].expires_at <= datetime.now(UTC):
        return None
    row, zone = found
    return SubjectIdentity(
        row.id, row.tenant_id, row.study_id, row.subject_id, row.expires_at, zone, row.method
    )


def open_subject_session(
    request: Request,
    response: Response,
    *,
    tenant_id: int,
    study_id: int,
    subject_id: int,
    link_id: int | None,
    method: str = "link",
) -> SubjectSession:
    """A new subject session, its cookie set on ``response`` (only its hash is stored);
    ``method``: ``link`` (``link_id`` its link) or ``account``."""
    cookie = new_token()
    now = datetime.now(UTC)
    row = SubjectSession(
        token_hash=token_hash(cookie),
        tenant_id=tenant_id,
        study_id=study_id,
        subject_id=subject_id,
        link_id=link_id,
        method=method,
        created_at=now,
        expires_at=now + SUBJECT_SESSION_LIFETIME,
    )
    request.dbsession.add(row)
    request.dbsession.flush()
    response.set_cookie(
        SUBJECT_COOKIE,
        cookie,
        max_age=int(SUBJECT_SESSION_LIFETIME.total_seconds()),
        path=SUBJECT_AREA,
        secure=get_app_settings(request.registry).cookie_secure,
        httponly=True,
        samesite="Strict",
    )
    return row


def end_subject_session(request: Request, response: Response, session_id: int) -> None:
    """End the subject session ``session_id`` now (its row expires, its cookie is dropped)."""
    row = request.dbsession.get(SubjectSession, session_id)
    if row is not None:
        row.expires_at = datetime.now(UTC)
    response.delete_cookie(SUBJECT_COOKIE, path=SUBJECT_AREA)


@dataclass(frozen=True)
class StudyMembership:
    """One role a user holds in one study, with the names the header's switcher shows."""

    tenant_id: int
    tenant_slug: str
    tenant_name: str
    study_id: int
    study_code: str
    study_title: str
    role: StudyRole
    site_ids: frozenset[int] | None  # None: every site of the study


@dataclass(frozen=True)
class TenantMembership:
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    role: TenantRole


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """The user a session names, as its request reads them with the session: what pages show
    and decide on, not an ORM entity (loading two entities through the ORM cost a signed-in
    request an eighth of a form page's CPU). A request that changes the user asks for the
    entity (:meth:`Identity.account`)."""

    id: int
    email: str
    name: str
    password_hash: str | None
    is_system_admin: bool
    is_active: bool
    locale: str | None
    timezone: str | None
    two_factor_enabled_at: datetime | None


#: The columns of :class:`SignedInUser`, in its order.
SIGNED_IN_USER_COLUMNS = tuple(getattr(User, column.name) for column in fields(SignedInUser))


@dataclass
class Identity:
    #: The entity where the identity was built from one (API keys, jobs, tests), else the
    #: session's record of the user.
    user: User | SignedInUser
    study_roles: list[StudyMembership] = field(default_factory=list)
    tenant_roles: list[TenantMembership] = field(default_factory=list)
    session_id: int | None = None  # the server-side session this request belongs to
    api_key_id: int | None = None  # the API key this request came with
    #: None: whatever the roles grant; else only these permissions (an API key's scope).
    allowed: frozenset[str] | None = None

    @cached_property
    def principals(self) -> list[str]:
        found = [Everyone, Authenticated, f"user:{self.user.id}"]
        if self.user.is_system_admin:
            found.append(perms.SYSTEM_ADMIN)
        for tenant_role in self.tenant_roles:
            if tenant_role.role == TenantRole.DPO:
                found.append(perms.tenant_dpo(tenant_role.tenant_id))
            else:
                found.append(perms.tenant_admin(tenant_role.tenant_id))
            found.append(perms.tenant_member(tenant_role.tenant_id))
        for grant in self.study_roles:
            found.append(perms.tenant_member(grant.tenant_id))
            if grant.site_ids is None:
                found.append(perms.study_role(grant.study_id, grant.role))
            else:
                found.append(perms.restricted_study_role(grant.study_id, grant.role))
                found.extend(
                    perms.site_role(grant.study_id, site_id, grant.role)
                    for site_id in sorted(grant.site_ids)
                )
        return list(dict.fromkeys(found))

    def account(self, dbsession: Any) -> User:
        """The user's entity, for a request that changes them (their preferences, password,
        authenticator): one query unless the identity holds it already."""
        if isinstance(self.user, User):
            return self.user
        found: User = dbsession.get(User, self.user.id)
        return found

    def is_tenant_admin(self, tenant_id: int) -> bool:
        return self.user.is_system_admin or any(
            r.tenant_id == tenant_id and r.role == TenantRole.TENANT_ADMIN
            for r in self.tenant_roles
        )

    def roles_in_study(self, study_id: int) -> list[StudyMembership]:
        return [grant for grant in self.study_roles if grant.study_id == study_id]

    def visible_site_ids(self, study: Study) -> frozenset[int] | None:
        """The sites of ``study`` this user may see; None means all of them."""
        if self.is_tenant_admin(study.tenant_id):
            return None
        sites: set[int] = set()
        for grant in self.roles_in_study(study.id):
            if grant.site_ids is None:
                return None
            sites |= grant.site_ids
        return frozenset(sites)

    def tenants(self) -> list[tuple[str, str]]:
        """(slug, name) of every tenant the user belongs to, for the switcher."""
        found = {r.tenant_slug: r.tenant_name for r in self.tenant_roles}
        found.update({r.tenant_slug: r.tenant_name for r in self.study_roles})
        return sorted(found.items(), key=lambda item: item[1].lower())

    def studies_in(self, tenant_slug: str) -> list[tuple[str, str]]:
        """(code, title) of the studies the user holds a role in, within one tenant."""
        found = {
            r.study_code: r.study_title for r in self.study_roles if r.tenant_slug == tenant_slug
        }
        return sorted(found.items())


def roles_query(user_id: ColumnElement[int] | None = None) -> Subquery:
    """Every role of every user, one row per study role × site it is restricted to and one per
    tenant role (``study_id`` NULL), as plain strings: to be joined on ``user_id``. With
    ``user_id`` (a scalar subquery finding the one user, e.g. by a session's token), only that
    user's: PostgreSQL then reads them by the roles' index on the user instead of building
    every user's roles to join them (hashed whole while the tables are small: 0.11 ms of the
    server on every signed-in request with 25 users, against 0.05 ms)."""
    no_text, no_id = null().cast(String), null().cast(Integer)
    study_roles = (
        select(
            StudyRoleAssignment.user_id,
            StudyRoleAssignment.id.label("assignment_id"),
            type_coerce(StudyRoleAssignment.role, String).label("role"),
            Tenant.id.label("tenant_id"),
            Tenant.slug.label("tenant_slug"),
            Tenant.name.label("tenant_name"),
            Study.id.label("study_id"),
            Study.code.label("study_code"),
            Study.title.label("study_title"),
            StudyRoleSite.site_id,
        )
        .join(Study, Study.id == StudyRoleAssignment.study_id)
        .join(Tenant, Tenant.id == Study.tenant_id)
        .outerjoin(StudyRoleSite, StudyRoleSite.study_role_id == StudyRoleAssignment.id)
    )
    tenant_roles = select(
        TenantRoleAssignment.user_id,
        no_id,
        type_coerce(TenantRoleAssignment.role, String),
        Tenant.id,
        Tenant.slug,
        Tenant.name,
        no_id,
        no_text,
        no_text,
        no_id,
    ).join(Tenant, Tenant.id == TenantRoleAssignment.tenant_id)
    if user_id is not None:
        study_roles = study_roles.where(StudyRoleAssignment.user_id == user_id)
        tenant_roles = tenant_roles.where(TenantRoleAssignment.user_id == user_id)
    return union_all(study_roles, tenant_roles).subquery("roles")


#: The columns of :func:`roles_query` a membership reads, in this order.
ROLE_FIELDS = (
    "assignment_id",
    "role",
    "tenant_id",
    "tenant_slug",
    "tenant_name",
    "study_id",
    "study_code",
    "study_title",
    "site_id",
)
_role_fields = attrgetter(*ROLE_FIELDS)


def identity_of(user: User | SignedInUser, role_rows: Iterable[Any]) -> Identity:
    """The identity of ``user`` from rows of :func:`roles_query` (None columns: no role)."""
    study_roles, tenant_roles = memberships(tuple(map(_role_fields, role_rows)))
    return Identity(user=user, study_roles=list(study_roles), tenant_roles=list(tenant_roles))


@lru_cache(maxsize=4096)
def memberships(
    role_rows: tuple[tuple[Any, ...], ...],
) -> tuple[tuple[StudyMembership, ...], tuple[TenantMembership, ...]]:
    """The memberships :data:`ROLE_FIELDS`' values of some role rows say, memoised by value:
    the same user's roles come back with each of their requests (frozen results, shared)."""
    grants: dict[int, dict[str, Any]] = {}
    tenant_roles: dict[tuple[int, str], TenantMembership] = {}
    for assignment_id, role, tenant_id, slug, name, study_id, code, title, site_id in role_rows:
        if tenant_id is None:
            continue
        if study_id is None:
            tenant_roles[tenant_id, role] = TenantMembership(
                tenant_id, slug, name, TenantRole(role)
            )
            continue
        grant = grants.setdefault(
            assignment_id,
            {
                "tenant_id": tenant_id,
                "tenant_slug": slug,
                "tenant_name": name,
                "study_id": study_id,
                "study_code": code,
                "study_title": title,
                "role": StudyRole(role),
                "site_ids": None,
            },
        )
        if site_id is not None:
            grant["site_ids"] = (grant["site_ids"] or frozenset()) | {site_id}
    return (
        tuple(StudyMembership(**grant) for grant in grants.values()),
        tuple(tenant_roles.values()),
    )


def load_identity(dbsession: Any, user: User) -> Identity:
    roles = roles_query()
    return identity_of(user, dbsession.execute(select(roles).where(roles.c.user_id == user.id)))


#: (lower-cased name, name, value) of :data:`SECURITY_HEADERS`, and of HSTS over HTTPS.
_DEFAULT_HEADERS = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS.items())
_HSTS = (
    "strict-transport-security",
    "Strict-Transport-Security",
    "max-age=63072000; includeSubDomains",
)


def add_security_headers(event: NewResponse) -> None:
    """Every response's security headers; one a view set itself is kept. The names present are
    read once: ``headers.setdefault`` lower-cases every header of the response for each name."""
    response, request = event.response, event.request
    path = raw_path(request)
    if path.startswith(SUBJECT_AREA):  # a link's token must never leave in a Referer
        response.headers["Referrer-Policy"] = "no-referrer"
    headerlist = response.headerlist
    present = {name.lower() for name, _value in headerlist}
    headerlist.extend(
        (name, value) for lowered, name, value in _DEFAULT_HEADERS if lowered not in present
    )
    if not path.startswith("/static/"):
        if "cache-control" in present:
            response.headers["Cache-Control"] = "no-store"
        else:  # what ``headers[...] =`` does when the name is absent, without its views
            headerlist.append(("Cache-Control", "no-store"))
    if get_app_settings(request.registry).cookie_secure and _HSTS[0] not in present:
        headerlist.append(_HSTS[1:])


class CookieSerializer(SignedSerializer):
    """WebOb's signed serializer (the same cookie, byte for byte: HMAC-SHA512 of the JSON text
    keyed by salt + secret, then base64) signing with :func:`hmac.digest`, one call into
    OpenSSL: WebOb's ``hmac.new`` with a Python digest constructor runs HMAC in Python (~30
    calls for every request that reads the cookie)."""

    def dumps(self, appstruct: Any) -> bytes:
        cstruct = self.serializer.dumps(appstruct)
        signature = hmac.digest(self.salted_secret, cstruct, self.hashalg)
        return base64.urlsafe_b64encode(signature + cstruct).rstrip(b"=")

    def loads(self, bstruct: bytes) -> Any:
        try:
            fstruct = base64.urlsafe_b64decode(bstruct + b"=" * (-len(bstruct) % 4))
        except (binascii.Error, TypeError) as error:
            raise ValueError(f"Badly formed base64 data: {error}") from None
        cstruct = fstruct[self.digest_size :]
        signature = hmac.digest(self.salted_secret, cstruct, self.hashalg)
        if not hmac.compare_digest(signature, fstruct[: self.digest_size]):
            raise ValueError("Invalid signature")
        return self.serializer.loads(cstruct)


def session_cookie_reissue_time(settings: AppSettings) -> int:
    """Seconds after which a request reading the session cookie writes it again."""
    return min(120, settings.session_idle_timeout // 10)


def includeme(config: Configurator) -> None:
    settings = get_app_settings(config.registry)
    # The cookie is written again only when a request reads it more than ``reissue`` seconds
    # after it was last written, so what it says of its last use may lag by that much: its own
    # timeout is the idle timeout plus that lag, so that it never signs out an active user
    # earlier than the server-side session would. The idle timeout is the server's (its
    # ``last_seen_at``, checked on every request).
    reissue = session_cookie_reissue_time(settings)
    config.set_session_factory(
        BaseCookieSessionFactory(
            # what ``SignedCookieSessionFactory`` builds, with its salt and hash
            CookieSerializer(
                settings.secret, "pyramid.session.", "sha512", serializer=JSONSerializer()
            ),
            cookie_name="datacapt_session",
            secure=settings.cookie_secure,
            httponly=True,
            samesite="Lax",
            timeout=settings.session_idle_timeout + reissue,
            reissue_time=reissue,
        )
    )
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True)
    config.add_subscriber(add_security_headers, NewResponse)
