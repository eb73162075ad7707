"""Role administration: who may grant which role, and granting, changing and revoking roles.

**The rule.** A grant — a study role, for the whole study or restricted to some of its sites — is
allowed only if every permission it gives, on every node of the study, is one the granter holds
on that node. With the scopes of :mod:`datacapt.permissions` that reads:

* for the whole study, the role's permissions must all be held on the study node itself
  (where they would sit, inherited by every site, also those added later);
* restricted to sites, its navigation permissions must be held on the study node and its
  site-scoped permissions at each chosen site (a granter restricted to some sites can therefore
  only grant roles restricted to those of their sites).

Changing or revoking an assignment takes being allowed to grant it (and, for a change, the new
one too): nobody removes or rewrites what they could not have given.

Only those who manage the study (``MANAGE_STUDY`` on the study node, i.e. unrestricted study
administrators) grant anything. Organisation administrators, system administrators and the
operator at the command line (``actor=None``: whoever holds the database credentials) are the
source of every delegation and may grant any role in their tenant, although they hold no
clinical permission themselves.

:func:`grantable_study_roles` is that rule, and the only place it is written; the views, the
command line and invitations ask it.

Every grant, change and revocation is written to the audit trail as done by ``by`` (the acting
:class:`datacapt.actor.Actor`), with user ids, role names and site codes — never names or e-mail
addresses. ``actor`` is whose roles the rule weighs (None: the operator at the command line).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from datacapt import audit
from datacapt.accounts import data_access
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.models import (
    Site,
    Study,
    StudyRoleAssignment,
    StudyRoleSite,
    Tenant,
    TenantRoleAssignment,
    User,
)
from datacapt.permissions import (
    STUDY_ROLE_PERMISSIONS,
    Permission,
    Scope,
    StudyRole,
    TenantRole,
)
from datacapt.security import Identity
from datacapt.validation import MAX_EMAIL_LENGTH, ValidationError, normalize_email

#: Whose roles a grant is weighed against; ``None``: the operator at the command line.
Granter = Identity | None

ADMIN_ROLES = frozenset({StudyRole.STUDY_ADMIN})


# --- the rule -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantableRole:
    """How far one role may be granted by someone."""

    role: StudyRole
    whole_study: bool  # may be granted for the whole study
    site_ids: frozenset[int] | None  # may be restricted to any of these sites; None: any site

    def allows(self, site_ids: frozenset[int] | None) -> bool:
        """Whether the role may be given for the whole study (None) or at exactly these sites."""
        if site_ids is None:
            return self.whole_study
        return bool(site_ids) and (self.site_ids is None or site_ids <= self.site_ids)


def _in_scope(permissions: Collection[Permission], scope: Scope) -> frozenset[Permission]:
    return frozenset(p for p in permissions if p.scope is scope)


def held_in_study(
    identity: Identity, study: Study
) -> tuple[frozenset[Permission], dict[int, frozenset[Permission]]]:
    """What ``identity``'s study roles give: on the study node (so everywhere below it), and in
    addition at each site they are restricted to."""
    study_wide: set[Permission] = set()
    at_site: dict[int, set[Permission]] = {}
    for grant in identity.roles_in_study(study.id):
        granted = STUDY_ROLE_PERMISSIONS[grant.role]
        if grant.site_ids is None:
            study_wide |= granted
            continue
        study_wide |= _in_scope(granted, Scope.NAVIGATION)
        for site_id in grant.site_ids:
            at_site.setdefault(site_id, set()).update(_in_scope(granted, Scope.SITE))
    return frozenset(study_wide), {site: frozenset(held) for site, held in at_site.items()}


def is_study_manager(actor: Granter, study: Study) -> bool:
    """Organisation and system administrators, the operator, and unrestricted study admins."""
    if actor is None or actor.is_tenant_admin(study.tenant_id):
        return True
    return Permission.MANAGE_STUDY in held_in_study(actor, study)[0]


def grantable_study_roles(actor: Granter, study: Study) -> dict[StudyRole, GrantableRole]:
    """The study roles ``actor`` may grant in ``study``, and how far (see the module's rule)."""
    if actor is None or actor.is_tenant_admin(study.tenant_id):
        return {role: GrantableRole(role, True, None) for role in StudyRole}
    study_wide, at_site = held_in_study(actor, study)
    if Permission.MANAGE_STUDY not in study_wide:
        return {}
    found: dict[StudyRole, GrantableRole] = {}
    for role, granted in STUDY_ROLE_PERMISSIONS.items():
        if not _in_scope(granted, Scope.NAVIGATION) <= study_wide:
            continue
        site_scoped = _in_scope(granted, Scope.SITE)
        sites: frozenset[int] | None = None
        if not site_scoped <= study_wide:
            sites = frozenset(
                site for site, held in at_site.items() if site_scoped <= held | study_wide
            )
        whole_study = granted <= study_wide
        if whole_study or sites is None or sites:
            found[role] = GrantableRole(role, whole_study, sites)
    return found


def may_grant(
    actor: Granter, study: Study, role: StudyRole, site_ids: frozenset[int] | None
) -> bool:
    grantable = grantable_study_roles(actor, study).get(role)
    return grantable is not None and grantable.allows(site_ids)


def may_manage(actor: Granter, study: Study, assignment: AssignmentView) -> bool:
    """Whether ``actor`` may change or revoke ``assignment`` (they could have granted it)."""
    return may_grant(actor, study, assignment.role, assignment.site_ids)


# --- reading the members --------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentView:
    """One study role of a member, as the pages show it."""

    id: int
    study_id: int
    role: StudyRole
    site_ids: frozenset[int] | None  # None: the whole study

    @property
    def state(self) -> str:
        """What a form saw, sent back with a change: if it differs, someone changed it since."""
        return state_of(self.role, self.site_ids)


def state_of(role: StudyRole, site_ids: frozenset[int] | None) -> str:
    sites = "*" if site_ids is None else ",".join(str(site) for site in sorted(site_ids))
    return f"{role.value}:{sites}"


@dataclass
class Member:
    user: User
    assignments: list[AssignmentView] = field(default_factory=list)
    tenant_admin: bool = False
    dpo: bool = False


def _assignment_views(dbsession: Session, criterion: Any) -> list[tuple[User, AssignmentView]]:
    """Study role assignments matching ``criterion``, with their users and sites: two queries."""
    rows = dbsession.execute(
        select(StudyRoleAssignment, User)
        .join(User, User.id == StudyRoleAssignment.user_id)
        .where(criterion)
        .order_by(StudyRoleAssignment.study_id, StudyRoleAssignment.id)
    ).all()
    sites: dict[int, set[int]] = {}
    if rows:
        site_rows = dbsession.execute(
            select(StudyRoleSite.study_role_id, StudyRoleSite.site_id).where(
                StudyRoleSite.study_role_id.in_(
                    select(StudyRoleAssignment.id).where(criterion).scalar_subquery()
                )
            )
        )
        for assignment_id, site_id in site_rows:
            sites.setdefault(assignment_id, set()).add(site_id)
    return [
        (
            user,
            AssignmentView(
                assignment.id,
                assignment.study_id,
                assignment.role,
                frozenset(sites[assignment.id]) if assignment.id in sites else None,
            ),
        )
        for assignment, user in rows
    ]


def _sorted(members: dict[int, Member]) -> list[Member]:
    return sorted(members.values(), key=lambda m: (m.user.name.lower(), m.user.id))


def study_members(
    dbsession: Session, study: Study, user_ids: Collection[int] | None = None
) -> list[Member]:
    """The members of a study (or only ``user_ids`` of them), by name, in two queries."""
    criterion = StudyRoleAssignment.study_id == study.id
    if user_ids is not None:
        criterion = criterion & StudyRoleAssignment.user_id.in_(user_ids)
    members: dict[int, Member] = {}
    for user, assignment in _assignment_views(dbsession, criterion):
        members.setdefault(user.id, Member(user)).assignments.append(assignment)
    return _sorted(members)


def tenant_members(
    dbsession: Session, tenant: Tenant, user_ids: Collection[int] | None = None
) -> list[Member]:
    """Everyone holding a role in the tenant or one of its studies, in three queries."""
    criterion = StudyRoleAssignment.tenant_id == tenant.id
    admin_criterion = TenantRoleAssignment.tenant_id == tenant.id
    if user_ids is not None:
        criterion = criterion & StudyRoleAssignment.user_id.in_(user_ids)
        admin_criterion = admin_criterion & TenantRoleAssignment.user_id.in_(user_ids)
    members: dict[int, Member] = {}
    for user, role in dbsession.execute(
        select(User, TenantRoleAssignment.role)
        .join(TenantRoleAssignment, TenantRoleAssignment.user_id == User.id)
        .where(admin_criterion)
    ):
        member = members.setdefault(user.id, Member(user))
        member.tenant_admin = member.tenant_admin or role == TenantRole.TENANT_ADMIN
        member.dpo = member.dpo or role == TenantRole.DPO
    for user, assignment in _assignment_views(dbsession, criterion):
        members.setdefault(user.id, Member(user)).assignments.append(assignment)
    return _sorted(members)


def tenant_studies(dbsession: Session, tenant: Tenant) -> dict[int, Study]:
    return {
        study.id: study
        for study in dbsession.scalars(select(Study).where(Study.tenant_id == tenant.id))
    }


def tenant_site_codes(dbsession: Session, tenant: Tenant) -> dict[int, str]:
    return dict(
        dbsession.execute(select(Site.id, Site.code).where(Site.tenant_id == tenant.id)).all()
    )


def find_tenant_user(dbsession: Session, tenant: Tenant, email: str) -> User | None:
    """The user with this address if they belong to ``tenant`` (hold a role in it or one of its
    studies); a user of another tenant is not found, exactly like an unknown address."""
    return dbsession.scalar(
        select(User).where(
            User.email == normalize_email(email)[: MAX_EMAIL_LENGTH + 1],
            or_(
                User.id.in_(
                    select(TenantRoleAssignment.user_id).where(
                        TenantRoleAssignment.tenant_id == tenant.id
                    )
                ),
                User.id.in_(
                    select(StudyRoleAssignment.user_id).where(
                        StudyRoleAssignment.tenant_id == tenant.id
                    )
                ),
            ),
        )
    )


def load_assignment(
    dbsession: Session, study: Study, assignment_id: int | None
) -> StudyRoleAssignment | None:
    """An assignment of *this* study (with its sites), or None."""
    if assignment_id is None:
        return None
    return dbsession.scalar(
        select(StudyRoleAssignment)
        .options(selectinload(StudyRoleAssignment.sites))
        .where(StudyRoleAssignment.study_id == study.id, StudyRoleAssignment.id == assignment_id)
    )


def view_of(assignment: StudyRoleAssignment) -> AssignmentView:
    sites = frozenset(row.site_id for row in assignment.sites) or None
    return AssignmentView(assignment.id, assignment.study_id, assignment.role, sites)


# --- reading what a form asks ---------------------------------------------------------------


@dataclass(frozen=True)
class RoleChoice:
    role: StudyRole
    sites: list[Site] | None  # None: the whole study

    @property
    def site_ids(self) -> frozenset[int] | None:
        return None if self.sites is None else frozenset(site.id for site in self.sites)


WHOLE_STUDY = "study"
AT_SITES = "sites"


def read_choice(
    role: str, scope: str, site_codes: Sequence[str], sites: Sequence[Site]
) -> RoleChoice:
    """A role and where it applies, as posted: ``scope`` is "study" or "sites" (then at least
    one of the study's site codes). Restricting to no site is refused rather than read as the
    whole study, which would give more than was meant."""
    if role not in StudyRole.__members__.values():
        raise ValidationError("role", _("Choose one of the roles offered."))
    if scope == WHOLE_STUDY:
        return RoleChoice(StudyRole(role), None)
    if scope != AT_SITES:
        raise ValidationError("sites", _("Choose the whole study or some of its sites."))
    by_code = {site.code: site for site in sites}
    if len(site_codes) > len(by_code) or any(code not in by_code for code in site_codes):
        raise ValidationError("sites", _("Choose sites of this study."))
    if not site_codes:
        raise ValidationError("sites", _("Choose at least one site."))
    chosen = sorted({by_code[code] for code in site_codes}, key=lambda site: site.code)
    return RoleChoice(StudyRole(role), chosen)


# --- changing study roles -------------------------------------------------------------------


class StaleAssignment(Exception):
    """The assignment changed (or went) since the form was shown."""


def _codes(sites: Collection[Site] | None) -> list[str] | None:
    return None if sites is None else sorted(site.code for site in sites)


def _described(user_id: int, role: StudyRole, site_codes: list[str] | None) -> dict[str, Any]:
    return {"user_id": user_id, "role": role.value, "sites": site_codes}


def _refuse_unless_allowed(actor: Granter, study: Study, choice: RoleChoice) -> None:
    grantable = grantable_study_roles(actor, study).get(choice.role)
    if grantable is None:
        raise ValidationError("role", _("You may not grant this role."))
    if not grantable.allows(choice.site_ids):
        message = (
            _("You may grant this role only at some sites: choose among them.")
            if grantable.site_ids
            else _("You may grant this role only for the whole study.")
        )
        raise ValidationError("sites", message)


def _refuse_own_admin_role(actor: Granter, assignment: StudyRoleAssignment) -> None:
    """Nobody takes their own administrator role away by a slip: another administrator must."""
    own = actor is not None and actor.user.id == assignment.user_id
    if own and assignment.role in ADMIN_ROLES:
        raise ValidationError(
            "member",
            _(
                "You cannot change or revoke your own administrator role. Ask another "
                "administrator."
            ),
        )


def _site_codes_by_id(dbsession: Session, study: Study) -> dict[int, str]:
    return dict(
        dbsession.execute(select(Site.id, Site.code).where(Site.study_id == study.id)).all()
    )


def grant_role(
    dbsession: Session,
    actor: Granter,
    study: Study,
    user: User,
    choice: RoleChoice,
    by: Actor,
) -> StudyRoleAssignment:
    """Give ``user`` a role in ``study`` (``user`` must belong to the study's tenant)."""
    _refuse_unless_allowed(actor, study, choice)
    if any(site.study_id != study.id for site in choice.sites or ()):
        raise ValidationError("sites", _("Choose sites of this study."))
    assignment = StudyRoleAssignment(
        tenant_id=study.tenant_id,
        study_id=study.id,
        user_id=user.id,
        role=choice.role,
        sites=[
            StudyRoleSite(site_id=site.id, tenant_id=study.tenant_id, study_id=study.id)
            for site in choice.sites or ()
        ],
    )
    _save_once(dbsession, lambda: dbsession.add(assignment), "role")
    audit.record(
        dbsession,
        by,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="role.granted",
        entity_type="study_role",
        entity_id=assignment.id,
        new=_described(user.id, choice.role, _codes(choice.sites)),
    )
    _report_if_self_granted(dbsession, actor, by, study, assignment)
    return assignment


def _report_if_self_granted(
    dbsession: Session,
    actor: Granter,
    by: Actor,
    study: Study,
    assignment: StudyRoleAssignment,
) -> None:
    """Someone giving themselves a role that sees subject data is told to the study's
    administrators (see :mod:`datacapt.accounts.data_access`)."""
    if actor is not None and data_access.is_self_grant(
        actor.user.id, assignment.user_id, assignment.role
    ):
        data_access.report_self_grant(dbsession, study, actor.user, assignment, by)


def _save_once(dbsession: Session, change: Callable[[], None], field: str) -> None:
    """Make ``change`` in a savepoint: a role someone already holds (the unique constraint
    says so, also when a concurrent request granted it a moment ago) is a clear refusal, and
    the transaction stays usable."""
    try:
        with dbsession.begin_nested():
            change()
            dbsession.flush()
    except IntegrityError:
        raise ValidationError(field, _("This person already holds this role.")) from None


def _check_current(assignment: StudyRoleAssignment | None, expected: str) -> StudyRoleAssignment:
    if assignment is None or view_of(assignment).state != expected:
        raise StaleAssignment()
    return assignment


def change_role(
    dbsession: Session,
    actor: Granter,
    study: Study,
    assignment: StudyRoleAssignment | None,
    expected: str,
    choice: RoleChoice,
    by: Actor,
) -> bool:
    """Change an assignment's role and sites in place (its id, and its history, stay);
    False if there was nothing to change."""
    assignment = _check_current(assignment, expected)
    before = view_of(assignment)
    if not may_manage(actor, study, before):
        raise ValidationError("member", _("You may not change this role."))
    if choice.role != assignment.role or choice.site_ids is not None:
        _refuse_own_admin_role(actor, assignment)
    _refuse_unless_allowed(actor, study, choice)
    if before.role == choice.role and before.site_ids == choice.site_ids:
        return False
    codes = _site_codes_by_id(dbsession, study)
    old_codes = None if before.site_ids is None else sorted(codes[s] for s in before.site_ids)
    wanted = choice.site_ids or frozenset()

    def apply() -> None:
        assignment.role = choice.role
        kept = [row for row in assignment.sites if row.site_id in wanted]
        present = {row.site_id for row in kept}
        assignment.sites = kept + [
            StudyRoleSite(site_id=site_id, tenant_id=study.tenant_id, study_id=study.id)
            for site_id in sorted(wanted - present)
        ]

    _save_once(dbsession, apply, "role")
    audit.record(
        dbsession,
        by,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="role.changed",
        entity_type="study_role",
        entity_id=assignment.id,
        old=_described(assignment.user_id, before.role, old_codes),
        new=_described(assignment.user_id, choice.role, _codes(choice.sites)),
    )
    _report_if_self_granted(dbsession, actor, by, study, assignment)
    return True


def revoke_role(
    dbsession: Session,
    actor: Granter,
    study: Study,
    assignment: StudyRoleAssignment | None,
    expected: str,
    by: Actor,
) -> int:
    """Take an assignment away; returns the user's id. Their next request no longer has it."""
    assignment = _check_current(assignment, expected)
    before = view_of(assignment)
    if not may_manage(actor, study, before):
        raise ValidationError("member", _("You may not revoke this role."))
    _refuse_own_admin_role(actor, assignment)
    codes = _site_codes_by_id(dbsession, study)
    old_codes = None if before.site_ids is None else sorted(codes[s] for s in before.site_ids)
    user_id, assignment_id = assignment.user_id, assignment.id
    dbsession.delete(assignment)
    dbsession.flush()
    audit.record(
        dbsession,
        by,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="role.revoked",
        entity_type="study_role",
        entity_id=assignment_id,
        old=_described(user_id, before.role, old_codes),
    )
    return user_id


# --- organisation administrators -------------------------------------------------------------


def grant_tenant_admin(
    dbsession: Session,
    tenant: Tenant,
    user: User,
    by: Actor,
    role: TenantRole = TenantRole.TENANT_ADMIN,
) -> TenantRoleAssignment:
    """Grant a tenant role: organisation administrator, or data protection officer."""
    assignment = TenantRoleAssignment(tenant_id=tenant.id, user_id=user.id, role=role)
    _save_once(dbsession, lambda: dbsession.add(assignment), "member")
    audit.record(
        dbsession,
        by,
        tenant_id=tenant.id,
        action="role.granted",
        entity_type="tenant_role",
        entity_id=assignment.id,
        new={"user_id": user.id, "role": role.value},
    )
    return assignment


def revoke_tenant_admin(
    dbsession: Session, actor: Granter, tenant: Tenant, user_id: int, by: Actor
) -> None:
    """Never one's own role (by a slip), never the organisation's last administrator."""
    if actor is not None and actor.user.id == user_id:
        raise ValidationError(
            "member",
            _("You cannot revoke your own administrator role. Ask another administrator."),
        )
    # Lock the tenant row: two administrators revoking each other at once are serialised, so
    # the count below cannot be stale (SQLite serialises every writer anyway).
    dbsession.scalar(select(Tenant.id).where(Tenant.id == tenant.id).with_for_update())
    admins = list(
        dbsession.scalars(
            select(TenantRoleAssignment).where(
                TenantRoleAssignment.tenant_id == tenant.id,
                TenantRoleAssignment.role == TenantRole.TENANT_ADMIN,
            )
        )
    )
    assignment = next((a for a in admins if a.user_id == user_id), None)
    if assignment is None:
        raise StaleAssignment()
    if len(admins) == 1:
        raise ValidationError(
            "member",
            _(
                "An organisation needs at least one administrator: make someone else "
                "administrator first."
            ),
        )
    _revoke_tenant_role(dbsession, assignment, by)


def revoke_dpo(dbsession: Session, tenant: Tenant, user_id: int, by: Actor) -> None:
    """Take the data protection officer's role back (StaleAssignment: they no longer hold it).
    An organisation may be left without one for a while: its administrators grant it again."""
    assignment = dbsession.scalar(
        select(TenantRoleAssignment).where(
            TenantRoleAssignment.tenant_id == tenant.id,
            TenantRoleAssignment.user_id == user_id,
            TenantRoleAssignment.role == TenantRole.DPO,
        )
    )
    if assignment is None:
        raise StaleAssignment()
    _revoke_tenant_role(dbsession, assignment, by)


def _revoke_tenant_role(dbsession: Session, assignment: TenantRoleAssignment, by: Actor) -> None:
    old = {"user_id": assignment.user_id, "role": TenantRole(assignment.role).value}
    assignment_id, tenant_id = assignment.id, assignment.tenant_id
    dbsession.delete(assignment)
    dbsession.flush()
    audit.record(
        dbsession,
        by,
        tenant_id=tenant_id,
        action="role.revoked",
        entity_type="tenant_role",
        entity_id=assignment_id,
        old=old,
    )
