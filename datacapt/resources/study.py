"""A study and its two containers."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from datacapt import permissions as perms
from datacapt.ecrf.versions import PublishedDesign, design_of, published_design
from datacapt.models import Study
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import Resource
from datacapt.resources.consent import ConsentResource
from datacapt.resources.design import DesignResource
from datacapt.resources.exports import ExportsResource
from datacapt.resources.imports import ImportsResource
from datacapt.resources.kits import SupplyResource
from datacapt.resources.messages import MessagesResource
from datacapt.resources.path import UNKNOWN, known
from datacapt.resources.payments import PaymentsResource
from datacapt.resources.queries import QueriesResource
from datacapt.resources.randomisation import RandomisationResource
from datacapt.resources.recruitment import RecruitmentsResource
from datacapt.resources.reports import ReportsResource
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
        "reports": ReportsResource,
        "imports": ImportsResource,
        "messages": MessagesResource,
        "randomisation": RandomisationResource,
        "consent": ConsentResource,
        "payments": PaymentsResource,
        "supply": SupplyResource,
        "recruitment": RecruitmentsResource,
    }

    def __init__(self, parent: TenantResource, study: Study) -> None:
        self.__parent__, self.__name__, self.request = parent, study.code, parent.request
        self.study = study
        self.tenant = parent.tenant
        self.study_node = self
        self._published: Any = known(self.request, "published", study.id)

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.study_acl(self.study.id)

    @property
    def title(self) -> object:
        return self.study.code

    @cached_property
    def design(self) -> PublishedDesign | None:
        """The published design sites enter data with (None until one is published)."""
        if self._published is UNKNOWN:
            return published_design(self.dbsession, self.study)
        return design_of(self.dbsession, self._published)

    def __getitem__(self, name: str) -> Resource:
        child = self.CHILDREN.get(name)
        if child is None:
            raise KeyError(name)
        return child(self)
