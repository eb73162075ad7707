"""The daily mail digest: to each person who chose mail for some kinds, how many notifications
of each kind came since the last digest, and a link to their notifications page. Counts and a
link only: never a subject, a value or a name. Sent by the worker once a day, or by
``datacapt notifications digest`` from cron."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from datacapt.i18n import _
from datacapt.jobs import JobContext, job
from datacapt.mail import send_mail_in
from datacapt.models import Notification, NotificationKind, User
from datacapt.notifications import PUBLIC_URL
from datacapt.notifications.kinds import KIND_TITLES

log = logging.getLogger(__name__)

DIGEST = "notifications.digest"


def send_digests(dbsession: Session, application_url: str) -> int:
    """Mail every digest due (after this transaction commits) and mark what it counted; the
    number of mails. Running it twice mails nothing more: what was counted is not counted
    again."""
    now = datetime.now(UTC)
    due = (
        Notification.by_mail.is_(True),
        Notification.mailed_at.is_(None),
        Notification.created_at <= now,
    )
    counts: dict[int, dict[NotificationKind, int]] = {}
    for user_id, kind, count in dbsession.execute(
        select(Notification.user_id, Notification.kind, func.count())
        .where(*due)
        .group_by(Notification.user_id, Notification.kind)
    ):
        counts.setdefault(user_id, {})[kind] = count
    if not counts:
        return 0
    users = dbsession.scalars(
        select(User).where(User.id.in_(list(counts)), User.is_active.is_(True)).order_by(User.id)
    ).all()
    for user in users:
        send_mail_in(
            dbsession,
            to=user,
            subject=_("Your Datacapt notifications"),
            template="mail/notification_digest.jinja2",
            application_url=application_url,
            lines=[
                (KIND_TITLES[kind], counts[user.id][kind])
                for kind in NotificationKind
                if kind in counts[user.id]
            ],
            link=f"{application_url}/notifications",
        )
    dbsession.execute(
        update(Notification)
        .where(*due)
        .values(mailed_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(users)


@job(DIGEST, every=timedelta(days=1))
def daily_digest(ctx: JobContext) -> None:
    """The worker's daily digest; without ``datacapt.public_url`` its links could not be
    written, so it waits for that setting (or for the command line's ``--url``)."""
    application_url = ctx.registry[PUBLIC_URL]
    if not application_url:
        log.warning("no datacapt.public_url: the daily notification digest is not sent")
        return
    send_digests(ctx.dbsession, application_url)
