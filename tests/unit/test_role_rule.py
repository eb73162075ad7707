"""The granting rule, checked against the real ACLs: a grant is allowed exactly when it gives
nobody a permission, on any node, that the granter lacks there."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from pyramid.authorization import ACLHelper

from datacapt import permissions as perms
from datacapt.members.roles import GrantableRole, grantable_study_roles, may_grant
from datacapt.permissions import Permission, StudyRole, TenantRole
from datacapt.security import Identity, StudyMembership, TenantMembership

TENANT_ID, STUDY_ID, SITES = 3, 7, (1, 2, 3)
STUDY = SimpleNamespace(id=STUDY_ID, tenant_id=TENANT_ID)

Grant = tuple[StudyRole, frozenset[int] | None]


def node(acl, parent=None):
    return SimpleNamespace(__acl__=lambda: acl, __parent__=parent)


ROOT = node(perms.ROOT_ACL)
TENANT = node(perms.tenant_acl(TENANT_ID), ROOT)
STUDY_NODE = node(perms.study_acl(STUDY_ID), TENANT)
#: Every kind of node a grant reaches: the tenant, the study (and its containers, which add
#: nothing), each site (and its subjects, visits and forms, which carry the site's ACL).
NODES = [TENANT, STUDY_NODE, *(node(perms.site_acl(STUDY_ID, s), STUDY_NODE) for s in SITES)]


def identity(grants: list[Grant], *, tenant_admin: bool = False, system_admin: bool = False):
    memberships = [
        StudyMembership(TENANT_ID, "acme", "Acme", STUDY_ID, "demo", "Demo", role, sites)
        for role, sites in grants
    ]
    tenant_roles = (
        [TenantMembership(TENANT_ID, "acme", "Acme", TenantRole.TENANT_ADMIN)]
        if tenant_admin
        else []
    )
    user = SimpleNamespace(id=1, is_system_admin=system_admin)
    return Identity(user=user, study_roles=memberships, tenant_roles=tenant_roles)


def holds(who: Identity, where: object, permission: Permission) -> bool:
    return bool(ACLHelper().permits(where, who.principals, permission))


def exceeds(granter: Identity, grant: Grant) -> list[tuple[object, Permission]]:
    """The (node, permission) pairs ``grant`` would give that ``granter`` does not hold."""
    grantee = identity([grant])
    return [
        (where, permission)
        for where in NODES
        for permission in Permission
        if holds(grantee, where, permission) and not holds(granter, where, permission)
    ]


site_sets = st.one_of(st.none(), st.frozensets(st.sampled_from(SITES), min_size=1))
grants = st.tuples(st.sampled_from(list(StudyRole)), site_sets)
#: A granter's roles (one assignment per role, as the database has it), often with an
#: unrestricted study administrator role, since only study managers grant anything.
granters = st.builds(
    lambda admin, others: (
        ([(StudyRole.STUDY_ADMIN, None)] if admin else [])
        + [g for g in others if not (admin and g[0] is StudyRole.STUDY_ADMIN)]
    ),
    st.booleans(),
    st.lists(grants, max_size=4, unique_by=lambda g: g[0]),
)


@settings(max_examples=400, deadline=None)
@given(granter_grants=granters, grant=grants)
def test_a_grant_is_allowed_exactly_when_it_gives_nothing_the_granter_lacks(granter_grants, grant):
    granter = identity(granter_grants)
    allowed = may_grant(granter, STUDY, *grant)
    if not holds(granter, STUDY_NODE, Permission.MANAGE_STUDY):
        assert not allowed and grantable_study_roles(granter, STUDY) == {}
        return
    assert allowed == (not exceeds(granter, grant)), exceeds(granter, grant)


@settings(max_examples=100, deadline=None)
@given(granter_grants=granters)
def test_a_study_manager_may_grant_what_they_hold_themselves(granter_grants):
    granter = identity(granter_grants)
    if holds(granter, STUDY_NODE, Permission.MANAGE_STUDY):
        assert all(may_grant(granter, STUDY, role, sites) for role, sites in granter_grants)


def test_a_study_administrator_alone_grants_only_study_administration():
    granter = identity([(StudyRole.STUDY_ADMIN, None)])
    assert grantable_study_roles(granter, STUDY) == {
        StudyRole.STUDY_ADMIN: GrantableRole(StudyRole.STUDY_ADMIN, True, None)
    }


def test_a_granter_restricted_to_a_site_grants_site_roles_only_there():
    granter = identity([(StudyRole.STUDY_ADMIN, None), (StudyRole.INVESTIGATOR, frozenset({1}))])
    found = grantable_study_roles(granter, STUDY)
    assert found[StudyRole.COORDINATOR] == GrantableRole(
        StudyRole.COORDINATOR, False, frozenset({1})
    )
    assert may_grant(granter, STUDY, StudyRole.COORDINATOR, frozenset({1}))
    assert not may_grant(granter, STUDY, StudyRole.COORDINATOR, frozenset({1, 2}))
    assert not may_grant(granter, STUDY, StudyRole.COORDINATOR, None)
    assert not may_grant(granter, STUDY, StudyRole.INVESTIGATOR, frozenset())
    assert StudyRole.MONITOR not in found  # verifying source is held nowhere


def test_organisation_and_system_administrators_grant_every_role_anywhere():
    for admin in (identity([], tenant_admin=True), identity([], system_admin=True), None):
        found = grantable_study_roles(admin, STUDY)
        assert set(found) == set(StudyRole)
        assert all(g.whole_study and g.site_ids is None for g in found.values())


def test_an_administrator_of_another_tenant_grants_nothing():
    other = Identity(
        user=SimpleNamespace(id=1, is_system_admin=False),
        tenant_roles=[TenantMembership(TENANT_ID + 1, "globex", "Globex", TenantRole.TENANT_ADMIN)],
    )
    assert grantable_study_roles(other, STUDY) == {}
