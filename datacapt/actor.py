"""Who acts: one shape for every service and every audit event, from a request or from a job.

A request builds its actor once (``request.actor``); the command line and the workers say
``Actor.system("name")``. Services take the actor and hand it to :mod:`datacapt.audit`, which
writes what an event keeps of it (the user, the request id, the client address).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from datacapt.security import SubjectIdentity


@dataclass(frozen=True)
class Actor:
    """Who acts, on behalf of whom, from where, and how they were authenticated.

    ``user_id`` None is the system (a job, a command, a check firing on save); ``name`` then
    says which. ``on_behalf_of`` is the user a person or a job acts for, when not themself.
    ``subject_id``: the originator of what is entered: a subject acting themself through
    their link or subject account (``user_id`` None), or a staff member (``user_id``) entering
    a subject's answers on their behalf (:meth:`for_subject`).
    """

    user_id: int | None
    on_behalf_of: int | None = None
    tenant_id: int | None = None
    address: str | None = None
    request_id: str | None = None
    auth_method: str | None = None  # "session" for a signed-in person, "system" for a job
    session_id: int | None = None
    name: str | None = None
    reason: str | None = None
    subject_id: int | None = None

    @classmethod
    def system(
        cls,
        name: str,
        *,
        user_id: int | None = None,
        tenant_id: int | None = None,
        on_behalf_of: int | None = None,
    ) -> Actor:
        """A job or a command; ``user_id`` when it acts as a known account (a demo loader
        entering data as the site's coordinator, an export its requester asked for),
        ``on_behalf_of`` when the system acts by itself for someone (a scheduled export)."""
        return cls(
            user_id=user_id,
            on_behalf_of=on_behalf_of,
            tenant_id=tenant_id,
            auth_method="system",
            name=name,
        )

    @classmethod
    def subject(
        cls,
        subject_id: int,
        *,
        tenant_id: int,
        address: str | None = None,
        request_id: str | None = None,
        method: str = "link",
    ) -> Actor:
        """A subject filling their own questionnaire through a link (``method`` ``link``) or
        their subject account (``account``)."""
        return cls(
            user_id=None,
            tenant_id=tenant_id,
            address=address,
            request_id=request_id,
            auth_method=f"subject_{method}",
            subject_id=subject_id,
        )

    def for_subject(self, subject_id: int, reason: str) -> Actor:
        """This staff member entering a subject's own answers on their behalf (a phone
        interview, a paper transcription): the subject is the originator, the staff member
        the one who entered, ``reason`` why."""
        return replace(self, subject_id=subject_id, reason=reason)

    @property
    def is_system(self) -> bool:
        return self.user_id is None and self.subject_id is None

    @property
    def on_subjects_behalf(self) -> bool:
        """A staff member entering for a subject (both named)."""
        return self.user_id is not None and self.subject_id is not None

    def as_user(self, user_id: int | None) -> Actor:
        """The same request or job acting as another account (the system on a person's save)."""
        return replace(self, user_id=user_id)

    def audited(self) -> dict[str, Any]:
        """What an audit event keeps of who acted."""
        return {
            "actor_id": self.user_id,
            "on_behalf_of_id": self.on_behalf_of,
            "request_id": self.request_id,
            "ip": self.address,
            "by_subject_id": self.subject_id,
        }


def request_actor(request: Request) -> Actor:
    """The actor of a request: the signed-in user, or the subject of a subject session (or
    nobody yet), its id and address."""
    identity = request.identity
    if isinstance(identity, SubjectIdentity):
        return Actor.subject(
            identity.subject_id,
            tenant_id=identity.tenant_id,
            address=request.client_address,
            request_id=request.request_id,
            method=identity.method,
        )
    tenant = getattr(getattr(request, "context", None), "tenant", None)
    return Actor(
        user_id=identity.user.id if identity is not None else None,
        tenant_id=getattr(tenant, "id", None),
        address=request.client_address,
        request_id=request.request_id,
        auth_method=_auth_method(identity),
        session_id=identity.session_id if identity is not None else None,
    )


def _auth_method(identity: Any) -> str | None:
    if identity is None:
        return None
    return "api_key" if identity.api_key_id is not None else "session"


def includeme(config: Configurator) -> None:
    config.add_request_method(request_actor, "actor", reify=True)
