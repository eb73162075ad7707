"""A study's recruitments: ``recruitment/`` → ``{number}/`` (one recruitment and its pipeline)
→ ``{id}/`` (one application); and the public ``/apply/{token}`` page, outside the staff tree,
beside ``/apply/contact/{token}`` where a person withdraws their agreement to hear of studies.

Whoever sees the study sees that its recruitments exist; their administrators (who see no
applicant) change them; site staff follow the applications of their sites (their pipeline lists
only those). An application is loaded through its recruitment's id and, below it, only the staff
of its site (or of the whole study) may follow it.
"""

from __future__ import annotations

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.htmx import APPLY_AREA
from datacapt.i18n import _
from datacapt.models import Application, Recruitment, Site
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import Resource, StudyChild

APPLY_NAME = APPLY_AREA.strip("/")
#: Shorter than any recruitment's token, so it never hides one.
WITHDRAWAL_NAME = "contact"


class RecruitmentsResource(StudyChild):
    __name__ = "recruitment"
    view_permission = Permission.VIEW_STUDY

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.some_site_acl(self.study.id, Permission.RECRUIT)

    @property
    def title(self) -> object:
        return _("Recruitment")

    def __getitem__(self, key: str) -> RecruitmentResource:
        if not (key.isascii() and key.isdigit()) or len(key) > 9:
            raise KeyError(key)
        recruitment = self.dbsession.scalar(
            select(Recruitment).where(
                Recruitment.study_id == self.study.id, Recruitment.number == int(key)
            )
        )
        if recruitment is None:
            raise KeyError(key)
        return RecruitmentResource(self, recruitment)


class RecruitmentResource(StudyChild):
    view_permission = Permission.VIEW_STUDY

    def __init__(self, parent: RecruitmentsResource, recruitment: Recruitment) -> None:
        super().__init__(parent)
        self.recruitment = recruitment
        self.__name__ = str(recruitment.number)

    @property
    def title(self) -> object:
        return self.recruitment.title

    def __getitem__(self, key: str) -> ApplicationResource:
        row = None
        if key.isascii() and key.isdigit() and len(key) < 10:
            row = self.dbsession.execute(
                select(Application, Site)
                .join(Site, Site.id == Application.site_id)
                .where(
                    Application.id == int(key),
                    Application.recruitment_id == self.recruitment.id,
                )
            ).first()
        if row is None:
            raise KeyError(key)
        return ApplicationResource(self, *row)


class ApplicationResource(StudyChild):
    view_permission = Permission.RECRUIT

    def __init__(self, parent: RecruitmentResource, application: Application, site: Site) -> None:
        super().__init__(parent)
        self.recruitment = parent.recruitment
        self.application, self.site = application, site
        self.__name__ = str(application.id)

    def __acl__(self) -> tuple[ACE, ...]:
        study_id, site_id = self.study.id, self.site.id
        return perms.site_acl(study_id, site_id) + perms.only_at_site_acl(
            study_id, site_id, Permission.RECRUIT
        )

    @property
    def title(self) -> object:
        return _("Application ${number}", mapping={"number": self.application.id})


class ApplyArea(Resource):
    """``/apply/``: the public application pages; no identity is needed (nor used)."""

    __name__ = APPLY_NAME

    def __init__(self, parent: Resource) -> None:
        self.__parent__, self.request = parent, parent.request

    @property
    def title(self) -> object:
        return _("Apply")

    def __getitem__(self, token: str) -> ApplyResource | WithdrawalArea:
        """Any token leads to a page: one not open now (unknown, closed, out of its period)
        finds no recruitment, and its page says so alike."""
        if token == WITHDRAWAL_NAME:
            return WithdrawalArea(self)
        recruitment = None
        if 16 <= len(token) <= 40 and token.isascii():
            recruitment = self.dbsession.scalar(
                select(Recruitment).where(Recruitment.token == token)
            )
        return ApplyResource(self, token, recruitment)


class ApplyResource(Resource):
    def __init__(self, parent: ApplyArea, token: str, recruitment: Recruitment | None) -> None:
        self.__parent__, self.request = parent, parent.request
        self.__name__ = token
        self.recruitment = recruitment

    @property
    def title(self) -> object:
        return self.recruitment.title if self.recruitment else _("Apply")


class WithdrawalArea(Resource):
    """``/apply/contact/``: names no one (its page is an unknown recruitment's)."""

    __name__ = WITHDRAWAL_NAME

    def __init__(self, parent: ApplyArea) -> None:
        self.__parent__, self.request = parent, parent.request

    @property
    def title(self) -> object:
        return _("Future studies")

    def __getitem__(self, token: str) -> WithdrawalResource:
        return WithdrawalResource(self, token)


class WithdrawalResource(Resource):
    """One person's withdrawal page; the recruitment capability checks the token."""

    def __init__(self, parent: WithdrawalArea, token: str) -> None:
        self.__parent__, self.request = parent, parent.request
        self.__name__ = token

    @property
    def title(self) -> object:
        return _("Future studies")
