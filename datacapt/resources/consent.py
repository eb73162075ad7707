"""A study's eConsent: ``consent/`` (the dashboard, the documents and settings),
``consent/versions/<id>/`` (one version of a consent document) and ``consent/records/<id>/``
(one subject's consent, granted by its site like the subject itself).

The subjects' side lives in the subjects' area: ``/p/s/consent/<id>/`` (see
:mod:`datacapt.resources.subject_area`), each record loaded through the session's subject."""

from __future__ import annotations

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.i18n import _
from datacapt.models import ConsentRecord, ConsentVersion, Site, Subject
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import Resource, StudyChild


class ConsentResource(StudyChild):
    __name__ = "consent"
    view_permission = Permission.VIEW_STUDY

    @property
    def title(self) -> object:
        return _("Consent")

    def __getitem__(self, name: str) -> Resource:
        if name == "versions":
            return ConsentVersionsResource(self)
        if name == "records":
            return ConsentRecordsResource(self)
        raise KeyError(name)


class ConsentVersionsResource(StudyChild):
    __name__ = "versions"
    view_permission = Permission.VIEW_STUDY

    @property
    def title(self) -> object:
        return _("Consent documents")

    def __getitem__(self, key: str) -> ConsentVersionResource:
        version = None
        if key.isdigit() and len(key) < 10:
            version = self.dbsession.scalar(
                select(ConsentVersion).where(
                    ConsentVersion.id == int(key), ConsentVersion.study_id == self.study.id
                )
            )
        if version is None:
            raise KeyError(key)
        return ConsentVersionResource(self, version)


class ConsentVersionResource(StudyChild):
    view_permission = Permission.VIEW_STUDY

    def __init__(self, parent: ConsentVersionsResource, version: ConsentVersion) -> None:
        super().__init__(parent)
        self.__name__ = str(version.id)
        self.version = version

    @property
    def title(self) -> object:
        return _("Version ${number}", mapping={"number": self.version.number})


class ConsentRecordsResource(StudyChild):
    __name__ = "records"
    view_permission = Permission.VIEW_STUDY

    @property
    def title(self) -> object:
        return _("Consents")

    def __getitem__(self, key: str) -> ConsentRecordResource:
        row = None
        if key.isdigit() and len(key) < 10:
            row = self.dbsession.execute(
                select(ConsentRecord, Subject, Site, ConsentVersion)
                .join(Subject, Subject.id == ConsentRecord.subject_id)
                .join(Site, Site.id == Subject.site_id)
                .join(ConsentVersion, ConsentVersion.id == ConsentRecord.version_id)
                .where(ConsentRecord.id == int(key), ConsentRecord.study_id == self.study.id)
            ).first()
        if row is None:
            raise KeyError(key)
        return ConsentRecordResource(self, *row)


class ConsentRecordResource(StudyChild):
    """One subject's consent, seen and acted on by staff (its site's grants, like the
    subject's own node)."""

    view_permission = Permission.VIEW_SUBJECT
    staff = True

    def __init__(
        self,
        parent: ConsentRecordsResource,
        record: ConsentRecord,
        subject: Subject,
        site: Site,
        version: ConsentVersion,
    ) -> None:
        super().__init__(parent)
        self.__name__ = str(record.id)
        self.record, self.subject, self.site, self.version = record, subject, site, version

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.site_acl(self.study.id, self.subject.site_id)

    @property
    def title(self) -> object:
        return self.subject.label
