"""The base of every node: name, parent, request, ACL, and the permission it takes to be seen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.request import Request
from sqlalchemy.orm import Session

from datacapt.models import Study, Tenant
from datacapt.permissions import ACE, Permission

if TYPE_CHECKING:
    from datacapt.resources.study import StudyResource


class Resource:
    """Base: a node knows its name, its parent, the request, and what it takes to see it."""

    __name__: str = ""
    __parent__: Resource | None = None
    #: Without this permission a node is not found (404) rather than forbidden (403), so URLs
    #: reveal nothing to those who may not see what they name.
    view_permission: str = Permission.SIGNED_IN
    request: Request

    def __acl__(self) -> tuple[ACE, ...]:
        return ()

    @property
    def dbsession(self) -> Session:
        return self.request.dbsession

    @property
    def title(self) -> object:
        return self.__name__


class StudyChild(Resource):
    """A node below a study: it knows its study and tenant without another query."""

    def __init__(self, parent: Resource) -> None:
        self.__parent__, self.request = parent, parent.request
        self.study: Study = parent.study
        self.tenant: Tenant = parent.tenant
        self.study_node: StudyResource = parent.study_node
