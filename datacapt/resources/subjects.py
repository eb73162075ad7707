"""The subjects of a study; each one's ACL comes from its site."""

from __future__ import annotations

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.i18n import _
from datacapt.models import Site, Subject
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import StudyChild


class SubjectsResource(StudyChild):
    __name__ = "subjects"
    view_permission = Permission.VIEW_STUDY

    @property
    def title(self) -> object:
        return _("Subjects")

    def __getitem__(self, label: str) -> SubjectResource:
        row = self.dbsession.execute(
            select(Subject, Site)
            .join(Site, Site.id == Subject.site_id)
            .where(Subject.study_id == self.study.id, Subject.label == label)
        ).first()
        if row is None:
            raise KeyError(label)
        return SubjectResource(self, *row)


class SubjectResource(StudyChild):
    view_permission = Permission.VIEW_SUBJECT

    def __init__(self, parent: SubjectsResource, subject: Subject, site: Site) -> None:
        super().__init__(parent)
        self.__name__ = subject.label
        self.subject, self.site = subject, site

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.site_acl(self.study.id, self.subject.site_id)

    @property
    def title(self) -> object:
        return self.subject.label
