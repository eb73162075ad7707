"""The security policy's account side: a request's identity comes from its server-side session.

Authorization itself is the resource tree's static ACLs over the identity's principals
(:mod:`datacapt.security`), walked by :func:`acl_permits`: Pyramid's ``ACLHelper.permits`` with
each node's verdict memoised by value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from types import MethodType
from typing import Any

from pyramid.authorization import ACLAllowed, ACLDenied, Allow, Everyone
from pyramid.config import Configurator
from pyramid.request import Request, RequestLocalCache
from pyramid.security import Denied
from sqlalchemy import Select

from datacapt import logs
from datacapt.models import User
from datacapt.plain_rows import plain_rows
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


#: The default deny's ACL when no node of the lineage has one (Pyramid's own text).
NO_ACL = "<No ACL found on any object in resource lineage>"


class _Uncacheable(Exception):
    """An ACL whose verdict may not be memoised by value (see :func:`acl_verdict`)."""


def _scan(acl: Iterable[Any], principals: Any, permission: str) -> tuple[Any, Any] | None:
    """The action and the first ACE of ``acl`` naming one of ``principals`` and
    ``permission`` (None if none): exactly ``ACLHelper.permits``'s loop over one node."""
    for ace in acl:
        action, principal, permissions = ace
        if principal in principals:
            if isinstance(permissions, str) or not hasattr(permissions, "__iter__"):
                permissions = [permissions]
            if permission in permissions:
                return action, ace
    return None


@lru_cache(maxsize=8192)
def acl_verdict(acl: tuple[Any, ...], principals: frozenset[Any], permission: str) -> int:
    """Where ``acl`` decides ``permission`` for ``principals``: the matching ACE's index + 1,
    or 0 when none does. A pure function of its three values, memoised: the ACLs are the
    cached tuples of :mod:`datacapt.permissions` and a request's principals the same set from
    check to check. Only tuples of 3-tuples whose permissions are strings, tuples or
    frozensets qualify (whose ``in`` is plain equality); anything else raises
    :class:`_Uncacheable` (never cached) and is scanned as Pyramid does."""
    for index, ace in enumerate(acl):
        if type(ace) is not tuple or len(ace) != 3:
            raise _Uncacheable
        _action, principal, permissions = ace
        if not isinstance(permissions, str | tuple | frozenset):
            raise _Uncacheable
        if principal in principals:
            if isinstance(permissions, str):
                permissions = (permissions,)
            if permission in permissions:
                return index + 1
    return 0


def acl_permits(context: Any, principals: Any, permission: str) -> Any:
    """``pyramid.authorization.ACLHelper().permits(context, principals, permission)``, same
    walk and same result object (ACE, ACL, location, message), with each node's verdict taken
    from :func:`acl_verdict` when its ACL is a plain tuple: a page asks a dozen permissions of
    nodes seven deep, and the verdicts repeat from request to request."""
    try:
        principal_set = frozenset(principals)
    except TypeError:
        principal_set = None
    acl: Any = NO_ACL
    location = context
    while location is not None:
        try:
            acl = location.__acl__
        except AttributeError:
            pass
        else:
            if acl.__class__ is MethodType or (acl and callable(acl)):
                acl = acl()
            match = None
            if acl.__class__ is tuple and principal_set is not None:
                try:
                    found = acl_verdict(acl, principal_set, permission)
                except (TypeError, _Uncacheable):
                    match = _scan(acl, principals, permission)
                else:
                    if found:
                        ace = acl[found - 1]
                        match = ace[0], ace
            else:
                match = _scan(acl, principals, permission)
            if match is not None:
                action, ace = match
                result = ACLAllowed if action == Allow else ACLDenied
                return result(ace, acl, permission, principals, location)
        try:
            location = location.__parent__
        except AttributeError:
            location = None
    return ACLDenied("<default deny>", acl, permission, principals, context)


@cache
def identity_statement() -> Select[Any]:
    """The session's statement joined to its user's roles, one row per role; built once."""
    roles = roles_query(sessions.session_user_id())
    return (
        sessions.session_statement()
        .outerjoin(roles, roles.c.user_id == User.id)
        .add_columns(*(column for column in roles.c if column.key != "user_id"))
    )


class SecurityPolicy:
    """Session-based identity, ACL-based authorization (Pyramid 2 ``ISecurityPolicy``)."""

    def __init__(self) -> None:
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
        rows = plain_rows(request.dbsession, identity_statement(), parameters)
        if not rows:
            return None
        session, user = sessions.found_session(rows[0])
        if not sessions.standing(request, session, user):
            return None
        identity = identity_of(user, rows)
        identity.session_id = session.id
        logs.bind(user_id=user.id)
        return identity

    def identity(self, request: Request) -> Identity | SubjectIdentity | None:
        return self.identity_cache.get_or_create(request)

    def authenticated_userid(self, request: Request) -> int | None:
        identity = self.identity(request)
        return identity.user.id if isinstance(identity, Identity) else None

    def permits(self, request: Request, context: Any, permission: str) -> Any:
        identity = self.identity_cache.get_or_create(request)
        allowed = identity.allowed if isinstance(identity, Identity) else None
        if allowed is not None and permission not in allowed:
            return Denied(f"{permission} is outside this identity's scope")
        principals = identity.principals if identity else [Everyone]
        return acl_permits(context, principals, permission)

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
            sessions.end(
                request.dbsession, found[0].id, kw.get("reason", sessions.EndReason.SIGNED_OUT)
            )
        request.session.invalidate()
        self.identity_cache.clear(request)
        return []
