"""The subjects of a study; each one's ACL comes from its site."""

from __future__ import annotations

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.ecrf.casebook import UNSCHEDULED, parse_key
from datacapt.ecrf.versions import PublishedDesign
from datacapt.i18n import _
from datacapt.models import Site, Subject, VisitInstance
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import StudyChild
from datacapt.resources.entry import VisitResource
from datacapt.resources.path import UNKNOWN, known


class SubjectsResource(StudyChild):
    __name__ = "subjects"
    view_permission = Permission.VIEW_STUDY

    @property
    def title(self) -> object:
        return _("Subjects")

    @property
    def design(self) -> PublishedDesign | None:
        return self.study_node.design

    def __getitem__(self, label: str) -> SubjectResource:
        row = known(self.request, "subject", self.study.id, label)
        if row is UNKNOWN:
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
        """A casebook frozen or locked as a whole refuses new visits, and (inherited) new log
        rows and forms started after; its site grants the rest."""
        subject = self.subject
        return perms.casebook_acl(subject.lock_state, self.study.id, subject.site_id)

    @property
    def title(self) -> object:
        return self.subject.label

    @property
    def design(self) -> PublishedDesign | None:
        """The published design sites enter data with (None until one is published)."""
        return self.study_node.design

    def __getitem__(self, key: str) -> VisitResource:
        design, parsed = self.design, parse_key(key)
        if design is None or parsed is None:
            raise KeyError(key)
        name, repeat = parsed
        visit = next((v for v in design.definition.schedule.visits if v.name == name), None)
        if visit is None and name != UNSCHEDULED:
            raise KeyError(key)
        if (name == UNSCHEDULED or repeat > 1) != ("-" in key):
            raise KeyError(key)
        instance = known(self.request, "visit", self.subject.id, name, repeat)
        if instance is UNKNOWN:
            instance = self.dbsession.scalar(
                select(VisitInstance).where(
                    VisitInstance.subject_id == self.subject.id,
                    VisitInstance.visit == name,
                    VisitInstance.repeat == repeat,
                )
            )
        if instance is None and (name == UNSCHEDULED or repeat > 1):
            raise KeyError(key)
        return VisitResource(self, design, name, repeat, visit, instance)
