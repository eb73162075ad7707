"""The root of the tree and the tenants below it."""

from __future__ import annotations

from pyramid.request import Request
from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.i18n import _
from datacapt.models import Study, Tenant
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import Resource
from datacapt.resources.kits import ProductsResource
from datacapt.resources.notifications import NotificationsResource
from datacapt.resources.path import UNKNOWN, known, load_path
from datacapt.resources.recruitment import APPLY_NAME, ApplyArea
from datacapt.resources.repository import REPOSITORY_NAME, RepositoryResource
from datacapt.resources.study import StudyResource
from datacapt.resources.subject_area import SUBJECT_AREA_NAME, SubjectArea

#: Names a tenant slug may not take, because the root's own views use them.
RESERVED_NAMES = frozenset(
    {
        "login",
        "logout",
        "static",
        "preferences",
        "language",
        "admin",
        "api",
        "favicon.ico",
        "notifications",
        "notifications-read",
        "notification-bell",
        "notification-preferences",
        SUBJECT_AREA_NAME,
        APPLY_NAME,
        "calendar-feeds",
        "healthz",
        "readyz",
        "metrics",
    }
)
#: Names a study code may not take, because they are a tenant's own children.
TENANT_CHILDREN = frozenset({"notifications", REPOSITORY_NAME, "products"})


class Root(Resource):
    view_permission = Permission.SIGNED_IN

    def __init__(self, request: Request) -> None:
        self.request = request

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.ROOT_ACL

    @property
    def title(self) -> object:
        return _("Home")

    def __getitem__(self, slug: str) -> TenantResource | SubjectArea | ApplyArea:
        if slug == SUBJECT_AREA_NAME:
            return SubjectArea(self)
        if slug == APPLY_NAME:
            return ApplyArea(self)
        if slug in RESERVED_NAMES:
            raise KeyError(slug)
        load_path(self.request, RESERVED_NAMES)
        tenant = known(self.request, "tenant", slug)
        if tenant is UNKNOWN:
            tenant = self.dbsession.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise KeyError(slug)
        return TenantResource(self, tenant)


class TenantResource(Resource):
    view_permission = Permission.VIEW_TENANT

    def __init__(self, parent: Root, tenant: Tenant) -> None:
        self.__parent__, self.__name__, self.request = parent, tenant.slug, parent.request
        self.tenant = tenant

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.tenant_acl(self.tenant.id)

    @property
    def title(self) -> object:
        return self.tenant.name

    def __getitem__(
        self, code: str
    ) -> StudyResource | NotificationsResource | RepositoryResource | ProductsResource:
        if code == REPOSITORY_NAME:
            return RepositoryResource(self)
        if code == "products":
            return ProductsResource(self)
        if code in TENANT_CHILDREN:
            return NotificationsResource(self)
        study = known(self.request, "study", self.tenant.id, code)
        if study is UNKNOWN:
            study = self.dbsession.scalar(
                select(Study).where(Study.tenant_id == self.tenant.id, Study.code == code)
            )
        if study is None:
            raise KeyError(code)
        return StudyResource(self, study)
