"""Who is told of what, what they read, and how they chose to hear of it.

Recipients follow the role table: the holders of the permission that acts on the thing, at its
site (study-wide holders and those restricted to that very site), never the person who acted;
so nobody is told of a site they cannot see. A notification keeps a kind and the names its
sentence needs (see :mod:`.kinds`), never personal data and never a rendered sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, exists, false, func, or_, select, true, update
from sqlalchemy.orm import Session

from datacapt.ecrf.casebook import visit_key
from datacapt.models import (
    DataExport,
    ExportState,
    FormInstance,
    FormStatus,
    LockState,
    MessageThread,
    Notification,
    NotificationChoice,
    NotificationKind,
    Query,
    SdvStatus,
    SignatureState,
    Site,
    Study,
    StudyRoleAssignment,
    StudyRoleSite,
    Subject,
    Tenant,
    User,
    VisitInstance,
)
from datacapt.pagination import Page, paginate
from datacapt.permissions import STUDY_ROLE_PERMISSIONS, Permission, Scope
from datacapt.resources.notifications import visible_to
from datacapt.security import Identity

K = NotificationKind
#: The notifications page shows this many a page.
PAGE_SIZE = 50


@dataclass(frozen=True)
class About:
    """What a notification is about: where it belongs, its sentence's names, its link."""

    tenant_id: int
    study_id: int
    site_id: int | None
    kind: NotificationKind
    parameters: dict[str, Any]
    path: str
    form_instance_id: int | None = None


@dataclass(frozen=True)
class Recipient:
    user_id: int
    in_app: bool
    by_mail: bool


def recipients(
    dbsession: Session,
    study_id: int,
    site_id: int | None,
    permission: Permission,
    kind: NotificationKind,
    *,
    only: int | None = None,
) -> list[Recipient]:
    """The active holders of ``permission`` at ``site_id`` of the study (None: study-wide
    holders only), with their choice for ``kind``; ``only``: that one person, if they hold it.
    Those who chose to hear of ``kind`` neither in the app nor by mail are left out."""
    roles = [role for role, granted in STUDY_ROLE_PERMISSIONS.items() if permission in granted]
    assignment = StudyRoleAssignment
    restricted = exists().where(StudyRoleSite.study_role_id == assignment.id)
    if site_id is None or permission.scope is not Scope.SITE:
        at_site = ~restricted
    else:
        at_site = or_(
            ~restricted,
            exists().where(
                StudyRoleSite.study_role_id == assignment.id, StudyRoleSite.site_id == site_id
            ),
        )
    statement = (
        select(
            assignment.user_id,
            func.coalesce(NotificationChoice.in_app, true()),
            func.coalesce(NotificationChoice.by_mail, false()),
        )
        .join(User, User.id == assignment.user_id)
        .outerjoin(
            NotificationChoice,
            and_(NotificationChoice.user_id == assignment.user_id, NotificationChoice.kind == kind),
        )
        .where(
            assignment.study_id == study_id,
            assignment.role.in_(roles),
            User.is_active.is_(True),
            at_site,
        )
        .distinct()
        .order_by(assignment.user_id)
    )
    if only is not None:
        statement = statement.where(assignment.user_id == only)
    return [
        Recipient(user_id, bool(in_app), bool(by_mail))
        for user_id, in_app, by_mail in dbsession.execute(statement)
        if in_app or by_mail
    ]


def tell(
    dbsession: Session, about: About, people: Iterable[Recipient], *, besides: int | None
) -> int:
    """One notification per person (``besides``, the one who acted, is never told); how many."""
    now = datetime.now(UTC)
    rows = [
        Notification(
            tenant_id=about.tenant_id,
            study_id=about.study_id,
            site_id=about.site_id,
            user_id=person.user_id,
            kind=about.kind,
            parameters=about.parameters,
            path=about.path,
            form_instance_id=about.form_instance_id,
            in_app=person.in_app,
            by_mail=person.by_mail,
            created_at=now,
        )
        for person in people
        if person.user_id != besides
    ]
    dbsession.add_all(rows)
    return len(rows)


def _segment(name: str) -> str:
    return quote(name, safe="")


# --- queries ---------------------------------------------------------------------------------


def query_about(dbsession: Session, query: Query, kind: NotificationKind) -> About:
    """A query's notification: its number, subject, visit and form, linking to its thread."""
    statement = (
        select(Tenant.slug, Study.code, Subject.label)
        .select_from(Subject)
        .join(Study, Study.id == Subject.study_id)
        .join(Tenant, Tenant.id == Study.tenant_id)
        .where(Subject.id == query.subject_id)
    )
    where = ""
    if query.form_instance_id is not None:
        row = dbsession.execute(
            statement.add_columns(
                FormInstance.visit,
                FormInstance.visit_repeat,
                FormInstance.form,
                FormInstance.repeat,
            ).join(FormInstance, FormInstance.id == query.form_instance_id)
        ).one()
        form = row.form if row.repeat == 1 else f"{row.form}-{row.repeat}"
        where = f"{visit_key(row.visit, row.visit_repeat)} / {form}"
    elif query.visit_instance_id is not None:
        row = dbsession.execute(
            statement.add_columns(VisitInstance.visit, VisitInstance.repeat).join(
                VisitInstance, VisitInstance.id == query.visit_instance_id
            )
        ).one()
        where = visit_key(row.visit, row.repeat)
    else:
        row = dbsession.execute(statement).one()
    return About(
        query.tenant_id,
        query.study_id,
        query.site_id,
        kind,
        {"study": row.code, "subject": row.label, "where": where, "query": query.number},
        f"/{_segment(row.slug)}/{_segment(row.code)}/queries/{query.number}/",
    )


# --- forms -----------------------------------------------------------------------------------


def awaiting_sdv(instance: FormInstance) -> bool:
    """As the worklist of forms awaiting SDV reads it."""
    return (
        instance.sdv_status in (SdvStatus.AWAITING, SdvStatus.CHANGED)
        and instance.lock_state is not LockState.LOCKED
    )


def ready_to_lock(instance: FormInstance) -> bool:
    """As the worklist of forms ready to lock reads it: complete, nothing left to verify, no
    query open, not locked."""
    return (
        instance.status is FormStatus.COMPLETE
        and instance.sdv_status in (SdvStatus.NOT_REQUIRED, SdvStatus.VERIFIED)
        and instance.open_queries == 0
        and instance.lock_state is not LockState.LOCKED
    )


def awaiting_signature(instance: FormInstance) -> bool:
    """As the worklist of forms awaiting signature reads it."""
    return (
        instance.status is FormStatus.COMPLETE
        and instance.signature_state is not SignatureState.SIGNED
    )


#: Who acts on a form of each kind.
FORM_KINDS = {
    K.FORM_TO_VERIFY: Permission.VERIFY_SOURCE,
    K.FORM_TO_LOCK: Permission.LOCK_DATA,
    K.FORM_TO_SIGN: Permission.SIGN,
}


def tell_forms(
    dbsession: Session,
    besides: int | None,
    forms: dict[NotificationKind, list[FormInstance]],
    form_keys: dict[int, str] | None = None,
) -> int:
    """Tell the holders of each kind's permission (:data:`FORM_KINDS`) at each form's site that
    the form waits for them, except those with an unread notification of that kind for it;
    ``form_keys``: the forms' URL keys where known (else the link is the visit's page). A fixed
    number of statements per kind and site, whatever the number of forms."""
    instances = {i.id: i for found in forms.values() for i in found}
    if not instances:
        return 0
    names = {
        row.id: row
        for row in dbsession.execute(
            select(Subject.id, Subject.label, Study.code, Tenant.slug)
            .join(Study, Study.id == Subject.study_id)
            .join(Tenant, Tenant.id == Study.tenant_id)
            .where(Subject.id.in_({i.subject_id for i in instances.values()}))
        )
    }
    told = {
        tuple(row)
        for row in dbsession.execute(
            select(Notification.kind, Notification.user_id, Notification.form_instance_id).where(
                Notification.kind.in_(list(forms)),
                Notification.form_instance_id.in_(list(instances)),
                Notification.read_at.is_(None),
            )
        )
    }
    form_keys = form_keys or {}
    people: dict[tuple[NotificationKind, int, int], list[Recipient]] = {}
    count = 0
    for kind, found in forms.items():
        for instance in found:
            site = (kind, instance.study_id, instance.site_id)
            if site not in people:
                people[site] = recipients(
                    dbsession, instance.study_id, instance.site_id, FORM_KINDS[kind], kind
                )
            name = names[instance.subject_id]
            visit = visit_key(instance.visit, instance.visit_repeat)
            key = form_keys.get(instance.id)
            path = f"/{_segment(name.slug)}/{_segment(name.code)}/subjects/{_segment(name.label)}/"
            path += f"{_segment(visit)}/" + (f"{_segment(key)}/" if key else "")
            form = key or (
                instance.form if instance.repeat == 1 else f"{instance.form}-{instance.repeat}"
            )
            about = About(
                instance.tenant_id,
                instance.study_id,
                instance.site_id,
                kind,
                {"study": name.code, "subject": name.label, "where": f"{visit} / {form}"},
                path,
                instance.id,
            )
            waiting = [p for p in people[site] if (kind, p.user_id, instance.id) not in told]
            count += tell(dbsession, about, waiting, besides=besides)
    return count


# --- exports ---------------------------------------------------------------------------------


def export_about(dbsession: Session, export: DataExport) -> About:
    slug, code = dbsession.execute(
        select(Tenant.slug, Study.code)
        .join(Study, Study.tenant_id == Tenant.id)
        .where(Study.id == export.study_id)
    ).one()
    return About(
        export.tenant_id,
        export.study_id,
        None,
        K.EXPORT_READY,
        {"study": code, "export": export.id, "failed": export.state is ExportState.FAILED},
        f"/{_segment(slug)}/{_segment(code)}/exports/",
    )


# --- messages --------------------------------------------------------------------------------


def thread_about(dbsession: Session, thread: MessageThread) -> About:
    """A message's notification: the thread's study and site, never its topic or text (which
    are the staff's own words)."""
    slug, code, site = dbsession.execute(
        select(Tenant.slug, Study.code, Site.code)
        .join(Study, Study.tenant_id == Tenant.id)
        .join(Site, Site.study_id == Study.id)
        .where(Study.id == thread.study_id, Site.id == thread.site_id)
    ).one()
    return About(
        thread.tenant_id,
        thread.study_id,
        thread.site_id,
        K.MESSAGE_POSTED,
        {"study": code, "site": site},
        f"/{_segment(slug)}/{_segment(code)}/messages/{thread.id}/",
    )


def not_told_yet(dbsession: Session, about: About, people: list[Recipient]) -> list[Recipient]:
    """``people`` but those with an unread notification of the same kind about the same page."""
    told = set(
        dbsession.scalars(
            select(Notification.user_id).where(
                Notification.kind == about.kind,
                Notification.path == about.path,
                Notification.read_at.is_(None),
                Notification.user_id.in_([person.user_id for person in people]),
            )
        )
    )
    return [person for person in people if person.user_id not in told]


# --- reading ---------------------------------------------------------------------------------


def _shown(identity: Identity) -> Any:
    return and_(visible_to(identity), Notification.in_app.is_(True))


def unread_count(dbsession: Session, identity: Identity) -> int:
    return (
        dbsession.scalar(
            select(func.count())
            .select_from(Notification)
            .where(_shown(identity), Notification.read_at.is_(None))
        )
        or 0
    )


def page_of(dbsession: Session, identity: Identity, number: int) -> Page[Any]:
    """A page of the reader's notifications, newest first, with their tenant's slug."""
    statement = (
        select(Notification, Tenant.slug)
        .join(Tenant, Tenant.id == Notification.tenant_id)
        .where(_shown(identity))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return paginate(dbsession, statement, number, PAGE_SIZE)


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = datetime.now(UTC)


def mark_all_read(dbsession: Session, identity: Identity) -> int:
    """Every unread notification of the reader read now; how many."""
    result = dbsession.execute(
        update(Notification)
        .where(_shown(identity), Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


# --- choices ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    kind: NotificationKind
    in_app: bool
    by_mail: bool


def choices_of(dbsession: Session, user_id: int) -> list[Choice]:
    """The person's choice for every kind (in the app and not by mail where they made none)."""
    made = {
        row.kind: row
        for row in dbsession.scalars(
            select(NotificationChoice).where(NotificationChoice.user_id == user_id)
        )
    }
    return [
        Choice(kind, made[kind].in_app, made[kind].by_mail)
        if kind in made
        else Choice(kind, True, False)
        for kind in NotificationKind
    ]


def set_choices(dbsession: Session, user_id: int, choices: Iterable[Choice]) -> None:
    """Keep the person's choices (for notifications made from now on)."""
    made = {
        row.kind: row
        for row in dbsession.scalars(
            select(NotificationChoice).where(NotificationChoice.user_id == user_id)
        )
    }
    for choice in choices:
        row = made.get(choice.kind)
        if row is None:
            dbsession.add(
                NotificationChoice(
                    user_id=user_id,
                    kind=choice.kind,
                    in_app=choice.in_app,
                    by_mail=choice.by_mail,
                )
            )
        else:
            row.in_app, row.by_mail = choice.in_app, choice.by_mail
