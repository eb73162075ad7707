"""A study and its two containers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datacapt import permissions as perms
from datacapt.models import Study
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import Resource
from datacapt.resources.design import DesignResource
from datacapt.resources.exports import ExportsResource
from datacapt.resources.queries import QueriesResource
from datacapt.resources.sites import SitesResource
from datacapt.resources.subjects import SubjectsResource

if TYPE_CHECKING:
    from datacapt.resources.root import TenantResource


class StudyResource(Resource):
    view_permission = Permission.VIEW_STUDY
    CHILDREN: dict[str, type[Resource]] = {
        "sites": SitesResource,
        "subjects": SubjectsResource,
        "design": DesignResource,
        "queries": QueriesResource,
        "exports": ExportsResource,
    }

    def __init__(self, parent: TenantResource, study: Study) -> None:
        self.__parent__, self.__name__, self.request = parent, study.code, parent.request
        self.study = study
        self.tenant = parent.tenant
        self.study_node = self

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.study_acl(self.study.id)

    @property
    def title(self) -> object:
        return self.study.code

    def __getitem__(self, name: str) -> Resource:
        child = self.CHILDREN.get(name)
        if child is None:
            raise KeyError(name)
        return child(self)
