"""The security policy's account side: a request's identity comes from its server-side session.

Authorization itself is the resource tree's static ACLs over the identity's principals
(:mod:`datacapt.security`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from pyramid.authorization import ACLHelper, Everyone
from pyramid.config import Configurator
from pyramid.request import Request, RequestLocalCache
from pyramid.security import Denied
from sqlalchemy import Select

from datacapt import logs
from datacapt.models import User
from datacapt.security import (
    Identity,
    SubjectIdentity,
    identity_of,
    raw_path,
    roles_query,
)
from datacapt.signin import sessions

#: Registry key: (path prefix, loader) pairs; a request under the prefix gets its identity
#: from the loader alone, never from the session cookie (see ``add_identity_loader``).
IDENTITY_LOADERS = "datacapt.identity_loaders"
IdentityLoader = Callable[[Request], Identity | SubjectIdentity | None]


def add_identity_loader(config: Configurator, prefix: str, load: IdentityLoader) -> None:
    """Requests under ``prefix`` are authenticated by ``load`` (a capability's own credentials:
    API keys, a subject's link session): a browser's staff session counts for nothing there."""
    config.registry.setdefault(IDENTITY_LOADERS, []).append((prefix, load))


@cache
def identity_statement() -> Select[Any]:
    """The session's statement joined to its user's roles; built once."""
    roles = roles_query()
    return (
        sessions.session_statement()
        .outerjoin(roles, roles.c.user_id == User.id)
        .add_columns(*(column for column in roles.c if column.key != "user_id"))
    )


class SecurityPolicy:
    """Session-based identity, ACL-based authorization (Pyramid 2 ``ISecurityPolicy``)."""

    def __init__(self) -> None:
        self.helper = ACLHelper()
        self.identity_cache = RequestLocalCache(self._load_identity)

    def _load_identity(self, request: Request) -> Identity | SubjectIdentity | None:
        """The session, its user and their roles in one query; under a path another
        capability authenticates itself (a subject's link session, an API's keys), that
        capability's identity alone: a staff session there is nobody."""
        for prefix, load in request.registry.get(IDENTITY_LOADERS, ()):
            if raw_path(request).startswith(prefix):
                return load(request)
        parameters = sessions.session_parameters(request)
        if parameters is None:
            return None
        rows = request.dbsession.execute(identity_statement(), parameters).all()
        if not rows:
            return None
        row, user = rows[0][0], rows[0][1]
        if not sessions.standing(request, row, user):
            return None
        identity = identity_of(user, rows)
        identity.session_id = row.id
        logs.bind(user_id=user.id)
        return identity

    def identity(self, request: Request) -> Identity | SubjectIdentity | None:
        return self.identity_cache.get_or_create(request)

    def authenticated_userid(self, request: Request) -> int | None:
        identity = self.identity(request)
        return identity.user.id if isinstance(identity, Identity) else None

    def permits(self, request: Request, context: Any, permission: str) -> Any:
        identity = self.identity(request)
        allowed = identity.allowed if isinstance(identity, Identity) else None
        if allowed is not None and permission not in allowed:
            return Denied(f"{permission} is outside this identity's scope")
        principals = identity.principals if identity else [Everyone]
        return self.helper.permits(context, principals, permission)

    def remember(self, request: Request, userid: int, **kw: Any) -> list[tuple[str, str]]:
        """Start a fresh session for ``userid``; the old cookie session (and its CSRF token) is
        discarded, so a session planted before sign-in is worthless after it."""
        request.session.invalidate()
        sessions.open_session(request, request.dbsession.get(User, userid))
        request.session.new_csrf_token()
        self.identity_cache.clear(request)
        logs.bind(user_id=userid)
        return []

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        """End the server-side session (if any) and discard the cookie session."""
        found = sessions.current(request)
        if found is not None:
            sessions.end(found[0], kw.get("reason", sessions.EndReason.SIGNED_OUT))
        request.session.invalidate()
        self.identity_cache.clear(request)
        return []
