"""The traversal tree: Root → Tenant → Study → (Sites → Site, Subjects → Subject).

Resources are thin wrappers around rows. Each child is loaded *through its parent's id*, so a key
that belongs to another tenant, study or site is simply not found (404): isolation is a property
of the structure. Each node's ``__acl__`` is a method computed from ids, never a query.
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.events import ContextFound

from datacapt.resources.base import Resource, StudyChild
from datacapt.resources.design import (
    DesignFormsResource,
    DesignResource,
    FormDesignResource,
    ScheduleResource,
    VersionResource,
    VersionsResource,
)
from datacapt.resources.entry import FormEntryResource, VisitResource
from datacapt.resources.exports import ExportResource, ExportsResource
from datacapt.resources.imports import ImportResource, ImportsResource
from datacapt.resources.kits import ProductResource, ProductsResource, SupplyResource
from datacapt.resources.messages import MessagesResource, ThreadResource
from datacapt.resources.notifications import NotificationResource, NotificationsResource
from datacapt.resources.path import forget_path
from datacapt.resources.payments import PaymentOrderResource, PaymentsResource
from datacapt.resources.queries import QueriesResource, QueryResource
from datacapt.resources.randomisation import RandomisationResource
from datacapt.resources.recruitment import (
    ApplicationResource,
    ApplyArea,
    ApplyResource,
    RecruitmentResource,
    RecruitmentsResource,
    WithdrawalArea,
    WithdrawalResource,
)
from datacapt.resources.reports import ReportsResource
from datacapt.resources.repository import PersonResource, RepositoryResource
from datacapt.resources.root import RESERVED_NAMES, TENANT_CHILDREN, Root, TenantResource
from datacapt.resources.sites import SiteResource, SitesResource
from datacapt.resources.study import StudyResource
from datacapt.resources.subjects import SubjectResource, SubjectsResource

#: Views that forget to name a permission get this one, which nobody holds.
DEFAULT_PERMISSION = "datacapt:default-permission-denied"

__all__ = [
    "RESERVED_NAMES",
    "TENANT_CHILDREN",
    "ApplicationResource",
    "ApplyArea",
    "ApplyResource",
    "DesignFormsResource",
    "DesignResource",
    "ExportResource",
    "ExportsResource",
    "FormDesignResource",
    "FormEntryResource",
    "ImportResource",
    "ImportsResource",
    "MessagesResource",
    "NotificationResource",
    "NotificationsResource",
    "PaymentOrderResource",
    "PaymentsResource",
    "PersonResource",
    "ProductResource",
    "ProductsResource",
    "QueriesResource",
    "QueryResource",
    "RandomisationResource",
    "RecruitmentResource",
    "RecruitmentsResource",
    "ReportsResource",
    "RepositoryResource",
    "Resource",
    "Root",
    "ScheduleResource",
    "SiteResource",
    "SitesResource",
    "StudyChild",
    "StudyResource",
    "SubjectResource",
    "SubjectsResource",
    "SupplyResource",
    "TenantResource",
    "ThreadResource",
    "VersionResource",
    "VersionsResource",
    "VisitResource",
    "WithdrawalArea",
    "WithdrawalResource",
]


def includeme(config: Configurator) -> None:
    config.set_root_factory(Root)
    config.set_default_permission(DEFAULT_PERMISSION)
    config.add_subscriber(forget_path, ContextFound)
