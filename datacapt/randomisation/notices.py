"""Mail telling the study's administrators and the subject's site investigators of an
emergency unblinding: who, when, why and the randomisation number, never the arm."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from datacapt.i18n import _
from datacapt.mail import send_mail_in
from datacapt.models import StudyRoleAssignment, StudyRoleSite, User
from datacapt.permissions import StudyRole
from datacapt.randomisation.events import SubjectUnblinded


def recipients(dbsession: Session, study_id: int, site_id: int) -> list[User]:
    """Active study administrators, and investigators of the whole study or of the site."""
    restricted = select(StudyRoleSite.site_id).where(
        StudyRoleSite.study_role_id == StudyRoleAssignment.id
    )
    return list(
        dbsession.scalars(
            select(User)
            .join(StudyRoleAssignment, StudyRoleAssignment.user_id == User.id)
            .where(
                StudyRoleAssignment.study_id == study_id,
                User.is_active,
                or_(
                    StudyRoleAssignment.role == StudyRole.STUDY_ADMIN,
                    (StudyRoleAssignment.role == StudyRole.INVESTIGATOR)
                    & (
                        ~exists(restricted)
                        | exists(restricted.where(StudyRoleSite.site_id == site_id))
                    ),
                ),
            )
            .distinct()
            .order_by(User.id)
        )
    )


def mail_unblinding(event: SubjectUnblinded) -> None:
    dbsession, subject = event.dbsession, event.subject
    by = dbsession.get(User, event.actor.user_id) if event.actor.user_id else None
    for user in recipients(dbsession, subject.study_id, subject.site_id):
        send_mail_in(
            dbsession,
            to=user,
            subject=_(
                "Emergency unblinding of subject ${subject}", mapping={"subject": subject.label}
            ),
            template="mail/unblinded.jinja2",
            application_url="",
            name=user.name,
            subject_label=subject.label,
            number=event.randomisation.number,
            by=by.name if by else "",
            when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            reason=event.reason,
        )
