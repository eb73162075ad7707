"""The subject repository of a tenant: ``/TENANT/repository/`` and its persons
``/TENANT/repository/P-XXXXXXXX/``.

A person is loaded through the tenant's id, so another tenant's reference is not found. Their
node grants the roles of the study and site that registered them (as a subject's node does):
site staff restricted to another site do not see them (404).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.i18n import _
from datacapt.models import Person, Tenant
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import Resource

if TYPE_CHECKING:
    from datacapt.resources.root import TenantResource

REPOSITORY_NAME = "repository"


class RepositoryResource(Resource):
    __name__ = REPOSITORY_NAME
    view_permission = Permission.VIEW_TENANT

    def __init__(self, parent: TenantResource) -> None:
        self.__parent__, self.request = parent, parent.request
        self.tenant: Tenant = parent.tenant

    @property
    def title(self) -> object:
        return _("Subject repository")

    def __getitem__(self, reference: str) -> PersonResource:
        person = self.dbsession.scalar(
            select(Person).where(Person.tenant_id == self.tenant.id, Person.reference == reference)
        )
        if person is None:
            raise KeyError(reference)
        return PersonResource(self, person)


class PersonResource(Resource):
    view_permission = Permission.VIEW_PII

    def __init__(self, parent: RepositoryResource, person: Person) -> None:
        self.__parent__, self.request = parent, parent.request
        self.__name__ = person.reference
        self.tenant = parent.tenant
        self.person = person

    def __acl__(self) -> tuple[ACE, ...]:
        return (
            *perms.study_acl(self.person.study_id),
            *perms.site_acl(self.person.study_id, self.person.site_id),
        )

    @property
    def title(self) -> object:
        return self.person.reference
