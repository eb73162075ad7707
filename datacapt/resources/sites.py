"""The sites of a study."""

from __future__ import annotations

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.i18n import _
from datacapt.models import Site
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import StudyChild


class SitesResource(StudyChild):
    __name__ = "sites"
    view_permission = Permission.VIEW_STUDY

    @property
    def title(self) -> object:
        return _("Sites")

    def __getitem__(self, code: str) -> SiteResource:
        site = self.dbsession.scalar(
            select(Site).where(Site.study_id == self.study.id, Site.code == code)
        )
        if site is None:
            raise KeyError(code)
        return SiteResource(self, site)


class SiteResource(StudyChild):
    view_permission = Permission.VIEW_SITE

    def __init__(self, parent: SitesResource, site: Site) -> None:
        super().__init__(parent)
        self.__name__ = site.code
        self.site = site

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.site_acl(self.study.id, self.site.id)

    @property
    def title(self) -> object:
        return self.site.code
