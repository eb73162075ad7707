"""The subjects' area, outside the staff tree: ``/p/`` (a link's Start page) and ``/p/s/``
(the questionnaires of the subject whose session the request carries).

``/p/s/`` is built from the subject session alone: its subject, study and tenant come from the
session row, and each questionnaire below it is loaded *through that subject's id*, so another
subject's questionnaire (or another tenant's) is simply not found. Its ACL grants ``RESPOND``
to that one subject's principal, which no staff identity holds.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.ecrf.definition import Form
from datacapt.ecrf.versions import PublishedDesign, published_design
from datacapt.i18n import _
from datacapt.models import (
    ConsentRecord,
    ConsentVersion,
    EproOccurrence,
    MessageThread,
    Site,
    Study,
    Subject,
)
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import Resource
from datacapt.security import SubjectIdentity

SUBJECT_AREA_NAME = "p"
SUBJECT_HOME_NAME = "s"


class SubjectArea(Resource):
    """``/p/``: where links lead; its pages need no identity (the link is the credential)."""

    __name__ = SUBJECT_AREA_NAME
    view_permission = Permission.RESPOND

    def __init__(self, parent: Resource) -> None:
        self.__parent__, self.request = parent, parent.request

    @property
    def title(self) -> object:
        return _("Questionnaires")

    def __getitem__(self, key: str) -> SubjectHome:
        identity = self.request.identity
        if key != SUBJECT_HOME_NAME or not isinstance(identity, SubjectIdentity):
            raise KeyError(key)
        row = self.dbsession.execute(
            select(Subject, Site, Study)
            .join(Site, Site.id == Subject.site_id)
            .join(Study, Study.id == Subject.study_id)
            .where(
                Subject.id == identity.subject_id,
                Subject.study_id == identity.study_id,
                Subject.tenant_id == identity.tenant_id,
            )
        ).first()
        if row is None:
            raise KeyError(key)
        return SubjectHome(self, *row)


class SubjectHome(Resource):
    """``/p/s/``: the questionnaires of the session's subject."""

    __name__ = SUBJECT_HOME_NAME
    view_permission = Permission.RESPOND

    def __init__(self, parent: SubjectArea, subject: Subject, site: Site, study: Study) -> None:
        self.__parent__, self.request = parent, parent.request
        self.subject, self.site, self.study = subject, site, study

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.subject_acl(self.subject.tenant_id, self.subject.study_id, self.subject.id)

    @cached_property
    def design(self) -> PublishedDesign | None:
        return published_design(self.dbsession, self.study)

    def __getitem__(self, key: str) -> Resource:
        if key == "consent":
            return SubjectConsentsResource(self)
        if key == "messages" and self.study.subject_messages:
            return SubjectMessagesResource(self)
        if not key.isdigit():
            raise KeyError(key)
        occurrence = self.dbsession.scalar(
            select(EproOccurrence).where(
                EproOccurrence.id == int(key), EproOccurrence.subject_id == self.subject.id
            )
        )
        design = self.design
        form = design.definition.form(occurrence.form) if design and occurrence else None
        if occurrence is None or design is None or form is None or not form.epro:
            raise KeyError(key)
        return QuestionnaireResource(self, occurrence, design, form)


class QuestionnaireResource(Resource):
    """One questionnaire occurrence of the session's subject (its grants come from above)."""

    view_permission = Permission.RESPOND

    def __init__(
        self,
        parent: SubjectHome,
        occurrence: EproOccurrence,
        design: PublishedDesign,
        form: Form,
    ) -> None:
        self.__parent__, self.request = parent, parent.request
        self.__name__ = str(occurrence.id)
        self.home = parent
        self.occurrence, self.design, self.form = occurrence, design, form

    @property
    def title(self) -> object:
        return self.form.title


class SubjectConsentsResource(Resource):
    """``/p/s/consent/``: the consents of the session's subject."""

    __name__ = "consent"
    view_permission = Permission.RESPOND

    def __init__(self, parent: SubjectHome) -> None:
        self.__parent__, self.request = parent, parent.request
        self.home = parent

    @property
    def title(self) -> object:
        return _("Consent")

    def __getitem__(self, key: str) -> SubjectConsentResource:
        home = self.home
        row = None
        if key.isdigit() and len(key) < 10:
            row = self.dbsession.execute(
                select(ConsentRecord, ConsentVersion)
                .join(ConsentVersion, ConsentVersion.id == ConsentRecord.version_id)
                .where(ConsentRecord.id == int(key), ConsentRecord.subject_id == home.subject.id)
            ).first()
        if row is None:
            raise KeyError(key)
        return SubjectConsentResource(self, *row)


class SubjectConsentResource(Resource):
    """One consent of the session's subject, which they read and sign themself (its grants
    come from above; signing also takes the identity check, see :mod:`datacapt.consent`)."""

    view_permission = Permission.RESPOND
    staff = False

    def __init__(
        self, parent: SubjectConsentsResource, record: ConsentRecord, version: ConsentVersion
    ) -> None:
        self.__parent__, self.request = parent, parent.request
        self.__name__ = str(record.id)
        home = parent.home
        self.record, self.version = record, version
        self.subject, self.site, self.study = home.subject, home.site, home.study

    @property
    def tenant_id(self) -> int:
        return self.subject.tenant_id

    @property
    def title(self) -> object:
        return _("Consent")


class SubjectMessagesResource(Resource):
    """``/p/s/messages/``: the threads between the session's subject and their site (only
    where the study lets subjects message their site)."""

    __name__ = "messages"
    view_permission = Permission.RESPOND

    def __init__(self, parent: SubjectHome) -> None:
        self.__parent__, self.request = parent, parent.request
        self.home = parent

    @property
    def title(self) -> object:
        return _("Messages")

    def __getitem__(self, key: str) -> SubjectThreadResource:
        thread = None
        if key.isdigit() and len(key) < 10:
            subject = self.home.subject
            thread = self.dbsession.scalar(
                select(MessageThread).where(
                    MessageThread.id == int(key),
                    MessageThread.subject_id == subject.id,
                    MessageThread.tenant_id == subject.tenant_id,
                )
            )
        if thread is None:
            raise KeyError(key)
        return SubjectThreadResource(self, thread)


class SubjectThreadResource(Resource):
    """One thread of the session's subject (its grants come from above)."""

    view_permission = Permission.RESPOND

    def __init__(self, parent: SubjectMessagesResource, thread: MessageThread) -> None:
        self.__parent__, self.request = parent, parent.request
        self.__name__ = str(thread.id)
        self.home = parent.home
        self.thread = thread

    @property
    def title(self) -> object:
        return self.thread.topic
