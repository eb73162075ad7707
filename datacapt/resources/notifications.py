"""A person's notifications within a tenant: ``/TENANT/notifications/ID``.

A notification is loaded through its tenant *and* its reader: someone else's, or one of another
tenant, is not found (404), as is one about a study or site its reader no longer sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone
from sqlalchemy import ColumnElement, and_, false, or_, select

from datacapt.i18n import _
from datacapt.models import Notification
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import Resource

if TYPE_CHECKING:
    from datacapt.resources.root import TenantResource
    from datacapt.security import Identity


def visible_to(identity: Identity) -> ColumnElement[bool]:
    """The notifications ``identity`` may read: its own, of the studies it holds a role in, at
    the sites it sees there (study-wide ones, such as exports, for any role in the study)."""
    sites: dict[int, frozenset[int] | None] = {}
    for grant in identity.study_roles:
        seen = sites.get(grant.study_id, frozenset())
        sites[grant.study_id] = (
            None if seen is None or grant.site_ids is None else seen | grant.site_ids
        )
    studies = [
        Notification.study_id == study_id
        if site_ids is None
        else and_(
            Notification.study_id == study_id,
            or_(Notification.site_id.is_(None), Notification.site_id.in_(sorted(site_ids))),
        )
        for study_id, site_ids in sites.items()
    ]
    return and_(Notification.user_id == identity.user.id, or_(false(), *studies))


class NotificationsResource(Resource):
    __name__ = "notifications"
    view_permission = Permission.VIEW_TENANT

    def __init__(self, parent: TenantResource) -> None:
        self.__parent__, self.request = parent, parent.request
        self.tenant = parent.tenant

    @property
    def title(self) -> object:
        return _("Notifications")

    def __getitem__(self, key: str) -> NotificationResource:
        identity = self.request.identity
        if identity is None or not (key.isascii() and key.isdigit()) or len(key) > 12:
            raise KeyError(key)
        found = self.dbsession.scalar(
            select(Notification).where(
                Notification.id == int(key),
                Notification.tenant_id == self.tenant.id,
                visible_to(identity),
            )
        )
        if found is None:
            raise KeyError(key)
        return NotificationResource(self, found)


class NotificationResource(Resource):
    view_permission = Permission.VIEW_TENANT

    def __init__(self, parent: NotificationsResource, notification: Notification) -> None:
        self.__parent__, self.request = parent, parent.request
        self.notification = notification
        self.__name__ = str(notification.id)

    def __acl__(self) -> tuple[ACE, ...]:
        """Its reader alone, whatever roles others hold in the tenant."""
        return (
            (Allow, f"user:{self.notification.user_id}", (Permission.VIEW_TENANT,)),
            (Deny, Everyone, ALL_PERMISSIONS),
        )

    @property
    def title(self) -> object:
        return _("Notification")
