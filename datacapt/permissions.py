"""Permissions, roles, and the one table that maps roles to permissions.

Everything the security policy and the resource tree need to agree on lives here: the
permission names, the role -> permission table, the principal names, and the ACL entries a node
derives from them. ACLs are computed from ids alone, never from a query.

Scopes decide where a permission is granted (``TENANT`` ones belong to the platform and tenant
roles, never to a study role):

* ``NAVIGATION`` — on the study node, for every holder (site-restricted or not): knowing the study
  exists and listing what one may see in it;
* ``SITE`` — on the study node for unrestricted holders, and only on the nodes of the listed sites
  (the site, its subjects and below) for site-restricted holders;
* ``STUDY`` — on the study node, for unrestricted holders only (study-wide powers such as design,
  export or the audit trail make no sense for someone confined to one site).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from functools import lru_cache

from pyramid.authorization import Allow, Authenticated, Deny, Everyone

from datacapt.i18n import _

ACE = tuple[str, str, object]  # (Allow|Deny, principal, permissions)


class Scope(enum.Enum):
    TENANT = "tenant"
    NAVIGATION = "navigation"
    SITE = "site"
    STUDY = "study"
    SUBJECT = "subject"


class Permission(enum.StrEnum):
    # Platform and tenant
    SIGNED_IN = "signed_in"
    VIEW_TENANT = "view_tenant"
    MANAGE_TENANT = "manage_tenant"
    CREATE_STUDY = "create_study"
    # Study-wide
    VIEW_STUDY = "view_study"
    LIST_SUBJECTS = "list_subjects"
    MANAGE_STUDY = "manage_study"
    CREATE_SITE = "create_site"
    DESIGN_STUDY = "design_study"
    EXPORT_DATA = "export_data"
    IMPORT_DATA = "import_data"
    VIEW_EXPORTS = "view_exports"
    VIEW_AUDIT_TRAIL = "view_audit_trail"
    MANAGE_RANDOMISATION = "manage_randomisation"
    VIEW_ALLOCATION = "view_allocation"
    #: The compensation plan, payment orders and their export (bank files).
    MANAGE_PAYMENTS = "manage_payments"
    #: Opening, changing and closing a study's recruitments (period, sites, criteria).
    MANAGE_RECRUITMENT = "manage_recruitment"
    # Site-scoped
    VIEW_SITE = "view_site"
    VIEW_SUBJECT = "view_subject"
    ENROL_SUBJECT = "enrol_subject"
    VIEW_PII = "view_pii"
    CHANGE_CONTACT = "change_contact"
    ENTER_DATA = "enter_data"
    RAISE_QUERY = "raise_query"
    ANSWER_QUERY = "answer_query"
    VERIFY_SOURCE = "verify_source"
    REVIEW_DATA = "review_data"
    FREEZE_DATA = "freeze_data"
    LOCK_DATA = "lock_data"
    SIGN = "sign"
    #: Reading and writing the staff's message threads of a site.
    MESSAGE = "message"
    #: A subject's own, through their link: no study role ever holds it.
    RESPOND = "respond"
    RANDOMISE = "randomise"
    UNBLIND = "unblind"
    BOOK_APPOINTMENT = "book_appointment"
    #: The data protection officer's: the log of personal-data reads, erasure decisions,
    #: retention. Grants no reading of personal data itself.
    DPO = "dpo"
    #: The tenant's product catalogue (products, batches).
    MANAGE_PRODUCTS = "manage_products"
    #: A study's supplies: kit types and their arms, the kit list, shipments, resupply levels.
    MANAGE_SUPPLY = "manage_supply"
    #: A site's kits: its inventory, receiving shipments, setting a kit aside as invalid.
    HANDLE_KITS = "handle_kits"
    #: Allocating a kit to a subject at a visit, and taking it back.
    ALLOCATE_KIT = "allocate_kit"
    #: Following applications through a recruitment's pipeline (their identity takes VIEW_PII).
    RECRUIT = "recruit"

    @property
    def scope(self) -> Scope:
        return PERMISSION_SCOPES.get(self, Scope.SITE)


PERMISSION_SCOPES = {
    Permission.SIGNED_IN: Scope.TENANT,
    Permission.VIEW_TENANT: Scope.TENANT,
    Permission.MANAGE_TENANT: Scope.TENANT,
    Permission.CREATE_STUDY: Scope.TENANT,
    Permission.DPO: Scope.TENANT,
    Permission.MANAGE_PRODUCTS: Scope.TENANT,
    Permission.VIEW_STUDY: Scope.NAVIGATION,
    Permission.LIST_SUBJECTS: Scope.NAVIGATION,
    Permission.MANAGE_STUDY: Scope.STUDY,
    Permission.CREATE_SITE: Scope.STUDY,
    Permission.DESIGN_STUDY: Scope.STUDY,
    Permission.EXPORT_DATA: Scope.STUDY,
    Permission.IMPORT_DATA: Scope.STUDY,
    Permission.VIEW_EXPORTS: Scope.STUDY,
    Permission.VIEW_AUDIT_TRAIL: Scope.STUDY,
    Permission.RESPOND: Scope.SUBJECT,
    Permission.MANAGE_RANDOMISATION: Scope.STUDY,
    Permission.VIEW_ALLOCATION: Scope.STUDY,
    Permission.MANAGE_PAYMENTS: Scope.STUDY,
    Permission.MANAGE_RECRUITMENT: Scope.STUDY,
    Permission.MANAGE_SUPPLY: Scope.STUDY,
}


class StudyRole(enum.StrEnum):
    STUDY_ADMIN = "study_admin"
    INVESTIGATOR = "investigator"
    SUB_INVESTIGATOR = "sub_investigator"
    COORDINATOR = "coordinator"
    MONITOR = "monitor"
    DATA_MANAGER = "data_manager"
    SPONSOR_VIEWER = "sponsor_viewer"
    AUDITOR = "auditor"


class TenantRole(enum.StrEnum):
    TENANT_ADMIN = "tenant_admin"
    DPO = "dpo"


ROLE_LABELS = {
    TenantRole.TENANT_ADMIN: _("Organisation administrator"),
    TenantRole.DPO: _("Data protection officer"),
    StudyRole.STUDY_ADMIN: _("Study administrator"),
    StudyRole.INVESTIGATOR: _("Investigator"),
    StudyRole.SUB_INVESTIGATOR: _("Sub-investigator"),
    StudyRole.COORDINATOR: _("Study coordinator"),
    StudyRole.MONITOR: _("Monitor"),
    StudyRole.DATA_MANAGER: _("Data manager"),
    StudyRole.SPONSOR_VIEWER: _("Sponsor viewer"),
    StudyRole.AUDITOR: _("Auditor"),
}


P = Permission
_READ = {P.VIEW_STUDY, P.VIEW_SITE, P.LIST_SUBJECTS, P.VIEW_SUBJECT}
#: Site staff enrol, see personal data and keep a subject's contact details: ``CHANGE_CONTACT``
#: goes to exactly the roles that both enrol and see personal data, and no casebook lock takes
#: it away (contact details are not casebook data).
_SITE_STAFF = _READ | {
    P.ENROL_SUBJECT,
    P.VIEW_PII,
    P.CHANGE_CONTACT,
    P.ENTER_DATA,
    P.ANSWER_QUERY,
    P.MESSAGE,
    P.BOOK_APPOINTMENT,
    P.HANDLE_KITS,
    P.ALLOCATE_KIT,
    P.RECRUIT,
}

#: The role -> permission table. Administrators run the platform and the organisation; they see
#: no clinical data unless they also hold a study role. Randomisation is concealed: the study
#: administrator (who designs it and holds its lists) is the only role that sees arms
#: (``VIEW_ALLOCATION``) in a double-blind study; site staff randomise (``RANDOMISE``) blind, and
#: only investigators may break the blind for one subject in an emergency (``UNBLIND``).
STUDY_ROLE_PERMISSIONS: dict[StudyRole, frozenset[Permission]] = {
    StudyRole.STUDY_ADMIN: frozenset(
        {
            P.VIEW_STUDY,
            P.VIEW_SITE,
            P.MANAGE_STUDY,
            P.DESIGN_STUDY,
            P.MANAGE_RANDOMISATION,
            P.VIEW_ALLOCATION,
            P.MANAGE_PAYMENTS,
            P.MANAGE_SUPPLY,
            P.MANAGE_RECRUITMENT,
        }
    ),
    StudyRole.INVESTIGATOR: frozenset(_SITE_STAFF | {P.SIGN, P.RANDOMISE, P.UNBLIND}),
    StudyRole.SUB_INVESTIGATOR: frozenset(_SITE_STAFF | {P.RANDOMISE}),
    StudyRole.COORDINATOR: frozenset(_SITE_STAFF | {P.RANDOMISE}),
    StudyRole.MONITOR: frozenset(
        _READ | {P.RAISE_QUERY, P.VERIFY_SOURCE, P.VIEW_EXPORTS, P.MESSAGE}
    ),
    StudyRole.DATA_MANAGER: frozenset(
        _READ
        | {
            P.RAISE_QUERY,
            P.MESSAGE,
            P.REVIEW_DATA,
            P.FREEZE_DATA,
            P.LOCK_DATA,
            P.EXPORT_DATA,
            P.IMPORT_DATA,
            P.VIEW_EXPORTS,
        }
    ),
    StudyRole.SPONSOR_VIEWER: frozenset(_READ | {P.VIEW_EXPORTS}),
    StudyRole.AUDITOR: frozenset(_READ | {P.VIEW_AUDIT_TRAIL}),
}
#: Roles that never receive personal data in an export, whatever else their holder may hold.
NEVER_PERSONAL_DATA = frozenset({StudyRole.SPONSOR_VIEWER})
#: Organisation administrators open studies and their sites; study administrators then keep
#: them (``MANAGE_STUDY``: settings, site details) but open no site of their own.
TENANT_ADMIN_PERMISSIONS = frozenset(
    {
        P.VIEW_TENANT,
        P.MANAGE_TENANT,
        P.CREATE_STUDY,
        P.MANAGE_PRODUCTS,
        P.VIEW_STUDY,
        P.MANAGE_STUDY,
        P.CREATE_SITE,
        P.VIEW_SITE,
    }
)
#: The data protection officer sees who read which personal data and decides on erasure; they
#: read no personal data themselves.
DPO_PERMISSIONS = frozenset({P.VIEW_TENANT, P.DPO})
SYSTEM_ADMIN_PERMISSIONS = frozenset({P.SIGNED_IN}) | TENANT_ADMIN_PERMISSIONS


# --- principals -----------------------------------------------------------------------------

SYSTEM_ADMIN = "system:admin"


def tenant_admin(tenant_id: int) -> str:
    return f"tenant:{tenant_id}:admin"


def tenant_dpo(tenant_id: int) -> str:
    return f"tenant:{tenant_id}:dpo"


def tenant_member(tenant_id: int) -> str:
    return f"tenant:{tenant_id}:member"


def study_role(study_id: int, role: StudyRole) -> str:
    return f"study:{study_id}:role:{role}"


def restricted_study_role(study_id: int, role: StudyRole) -> str:
    return f"study:{study_id}:restricted:{role}"


def site_role(study_id: int, site_id: int, role: StudyRole) -> str:
    return f"study:{study_id}:site:{site_id}:role:{role}"


def subject_principal(tenant_id: int, study_id: int, subject_id: int) -> str:
    """A subject's own session (see :class:`datacapt.security.SubjectIdentity`)."""
    return f"subject:{tenant_id}:{study_id}:{subject_id}"


# --- ACL entries ----------------------------------------------------------------------------


def _only(permissions: Iterable[Permission], *scopes: Scope) -> tuple[Permission, ...]:
    return tuple(sorted(p for p in permissions if p.scope in scopes))


ROOT_ACL: tuple[ACE, ...] = (
    (Allow, SYSTEM_ADMIN, tuple(sorted(SYSTEM_ADMIN_PERMISSIONS))),
    (Allow, Authenticated, (Permission.SIGNED_IN,)),
)


@lru_cache(maxsize=4096)
def tenant_acl(tenant_id: int) -> tuple[ACE, ...]:
    return (
        (Allow, tenant_admin(tenant_id), tuple(sorted(TENANT_ADMIN_PERMISSIONS))),
        (Allow, tenant_dpo(tenant_id), tuple(sorted(DPO_PERMISSIONS))),
        (Allow, tenant_member(tenant_id), (Permission.VIEW_TENANT,)),
    )


@lru_cache(maxsize=4096)
def study_acl(study_id: int) -> tuple[ACE, ...]:
    entries: list[ACE] = []
    for role, permissions in STUDY_ROLE_PERMISSIONS.items():
        entries.append((Allow, study_role(study_id, role), tuple(sorted(permissions))))
        navigation = _only(permissions, Scope.NAVIGATION)
        if navigation:
            entries.append((Allow, restricted_study_role(study_id, role), navigation))
    return tuple(entries)


@lru_cache(maxsize=4096)
def some_site_acl(study_id: int, permission: Permission) -> tuple[ACE, ...]:
    """Grants ``permission`` on a study-wide node to the site-restricted holders of a role that
    has it: for a bulk action whose view then keeps only the objects of their sites."""
    return tuple(
        (Allow, restricted_study_role(study_id, role), (permission,))
        for role, permissions in STUDY_ROLE_PERMISSIONS.items()
        if permission in permissions
    )


@lru_cache(maxsize=4096)
def site_acl(study_id: int, site_id: int) -> tuple[ACE, ...]:
    """Grants for the holders restricted to this site, on the site and everything below it."""
    return tuple(
        (Allow, site_role(study_id, site_id, role), _only(permissions, Scope.SITE))
        for role, permissions in STUDY_ROLE_PERMISSIONS.items()
        if _only(permissions, Scope.SITE)
    )


@lru_cache(maxsize=4096)
def only_at_site_acl(study_id: int, site_id: int, permission: Permission) -> tuple[ACE, ...]:
    """``permission`` on a node of one site, for its holders there alone (study-wide or
    restricted to this site): below a node granting it to holders of some site (see
    :func:`some_site_acl`), the holders restricted to another site are denied it here."""
    roles = [role for role, granted in STUDY_ROLE_PERMISSIONS.items() if permission in granted]
    return (
        *((Allow, study_role(study_id, role), (permission,)) for role in roles),
        *((Allow, site_role(study_id, site_id, role), (permission,)) for role in roles),
        (Deny, Everyone, (permission,)),
    )


#: What a form's state takes away from everyone, whatever their role (DESIGN §2: these denials
#: sit on the form node, before the grants it inherits). Frozen: no entry, queries go on;
#: locked: nothing changes, not even verification, review or queries (signing still may: sites
#: sign what data management locked); signed: no entry.
_FROZEN = (Permission.ENTER_DATA,)
_LOCKED = (
    Permission.ENTER_DATA,
    Permission.RAISE_QUERY,
    Permission.ANSWER_QUERY,
    Permission.VERIFY_SOURCE,
    Permission.REVIEW_DATA,
)


def subject_acl(tenant_id: int, study_id: int, subject_id: int) -> tuple[ACE, ...]:
    """A subject's questionnaires: that subject answers them, nobody else through this area."""
    return ((Allow, subject_principal(tenant_id, study_id, subject_id), (Permission.RESPOND,)),)


@lru_cache(maxsize=16)
def form_state_acl(lock_state: str, signed: bool) -> tuple[ACE, ...]:
    """Denials for a form in ``lock_state`` ("open", "frozen", "locked"), signed or not.

    ``lock_state`` may be the model's ``LockState`` itself: a ``StrEnum`` member equals and
    hashes as its text, and reading its ``.value`` costs two Python calls on every permission
    check that walks the node."""
    denied: tuple[Permission, ...] = ()
    if lock_state == "locked":
        denied = _LOCKED
    elif lock_state == "frozen" or signed:
        denied = _FROZEN
    return ((Deny, Everyone, denied),) if denied else ()


@lru_cache(maxsize=4096)
def casebook_acl(lock_state: str, study_id: int, site_id: int) -> tuple[ACE, ...]:
    """A subject's casebook node: its state's denials (see :func:`form_state_acl`), then its
    site's grants; one tuple per (state, study, site), not a concatenation per check."""
    return form_state_acl(lock_state, False) + site_acl(study_id, site_id)


def closed_by(result: object) -> object | None:
    """The node whose state (frozen, locked, signed) refused a permission check's ``result``,
    or None when no state but the roles refused it: the state's denial is the only ACE given to
    Everyone that denies."""
    ace = getattr(result, "ace", None)
    if not result and ace and ace[0] == Deny and ace[1] == Everyone:
        return getattr(result, "context", None)
    return None
