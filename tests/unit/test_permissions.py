"""The role → permission table and the ACLs built from it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pyramid.authorization import ACLHelper, Authenticated, Deny, Everyone

from datacapt import permissions as perms
from datacapt.models.entry import LockState
from datacapt.permissions import (
    STUDY_ROLE_PERMISSIONS,
    Permission,
    Scope,
    StudyRole,
)
from datacapt.security import Identity, StudyMembership
from datacapt.signin.policy import acl_permits

P = Permission


def node(acl, parent=None):
    return SimpleNamespace(__acl__=lambda: acl, __parent__=parent)


def tree(study_id=7, sites=(1, 2)):
    root = node(perms.ROOT_ACL)
    tenant = node(perms.tenant_acl(3), root)
    study = node(perms.study_acl(study_id), tenant)
    return study, {site: node(perms.site_acl(study_id, site), study) for site in sites}


def principals(role, sites=None, study_id=7):
    user = SimpleNamespace(id=1, is_system_admin=False)
    grant = StudyMembership(
        3, "acme", "Acme", study_id, "demo", "Demo", role, frozenset(sites) if sites else None
    )
    return Identity(user=user, study_roles=[grant]).principals


def allowed(context, principal_list, permission):
    """Pyramid's decision, which the policy's memoised walk must give too."""
    decided = bool(ACLHelper().permits(context, principal_list, permission))
    assert bool(acl_permits(context, principal_list, permission)) is decided
    return decided


def test_every_role_has_an_entry():
    assert set(STUDY_ROLE_PERMISSIONS) == set(StudyRole)


def test_study_roles_hold_no_tenant_permissions():
    for granted in STUDY_ROLE_PERMISSIONS.values():
        assert all(p.scope is not Scope.TENANT for p in granted)


@pytest.mark.parametrize("role", list(StudyRole))
def test_every_role_can_see_the_study(role):
    assert P.VIEW_STUDY in STUDY_ROLE_PERMISSIONS[role]


def test_sponsor_viewer_reads_without_personal_data_or_writes():
    granted = STUDY_ROLE_PERMISSIONS[StudyRole.SPONSOR_VIEWER]
    assert P.VIEW_SUBJECT in granted
    assert not granted & {P.VIEW_PII, P.ENTER_DATA, P.RAISE_QUERY, P.EXPORT_DATA, P.SIGN}


def test_only_data_managers_import_data():
    holders = {r for r, granted in STUDY_ROLE_PERMISSIONS.items() if P.IMPORT_DATA in granted}
    assert holders == {StudyRole.DATA_MANAGER}
    assert P.IMPORT_DATA.scope is Scope.STUDY


def test_only_auditors_see_the_audit_trail():
    holders = {r for r, granted in STUDY_ROLE_PERMISSIONS.items() if P.VIEW_AUDIT_TRAIL in granted}
    assert holders == {StudyRole.AUDITOR}


def test_only_investigators_sign():
    holders = {r for r, granted in STUDY_ROLE_PERMISSIONS.items() if P.SIGN in granted}
    assert holders == {StudyRole.INVESTIGATOR}


def test_administrators_see_no_clinical_data():
    clinical = {p for p in Permission if p.scope is Scope.SITE} - {P.VIEW_SITE}
    assert P.VIEW_SUBJECT in clinical and P.ENTER_DATA in clinical
    assert not perms.TENANT_ADMIN_PERMISSIONS & clinical
    assert not perms.SYSTEM_ADMIN_PERMISSIONS & clinical
    assert not STUDY_ROLE_PERMISSIONS[StudyRole.STUDY_ADMIN] & clinical


def test_unrestricted_role_reaches_every_site():
    _study, sites = tree()
    who = principals(StudyRole.COORDINATOR)
    assert all(allowed(site, who, P.ENTER_DATA) for site in sites.values())


def test_restricted_role_reaches_only_its_sites():
    study, sites = tree()
    who = principals(StudyRole.COORDINATOR, sites={1})
    assert allowed(sites[1], who, P.ENTER_DATA)
    assert not allowed(sites[2], who, P.ENTER_DATA)
    assert not allowed(sites[2], who, P.VIEW_SITE)
    assert allowed(study, who, P.VIEW_STUDY) and allowed(study, who, P.LIST_SUBJECTS)
    assert not allowed(study, who, P.VIEW_SUBJECT)  # would be inherited by every site


def test_restricted_role_loses_study_wide_powers():
    study, _sites = tree()
    restricted = principals(StudyRole.DATA_MANAGER, sites={1})
    assert not allowed(study, restricted, P.EXPORT_DATA)
    assert allowed(study, principals(StudyRole.DATA_MANAGER), P.EXPORT_DATA)


def test_a_role_in_one_study_gives_nothing_in_another():
    other_study, other_sites = tree(study_id=8)
    who = principals(StudyRole.MONITOR, study_id=7)
    assert not allowed(other_study, who, P.VIEW_STUDY)
    assert not allowed(other_sites[1], who, P.VIEW_SUBJECT)


def test_anonymous_gets_nothing_anywhere():
    study, sites = tree()
    anonymous = [Everyone]
    for permission in Permission:
        assert not allowed(sites[1], anonymous, permission)
    assert allowed(study, [Everyone, Authenticated], P.SIGNED_IN)


def test_changing_contact_details_is_for_who_enrols_and_sees_personal_data():
    for role, granted in STUDY_ROLE_PERMISSIONS.items():
        both = {P.ENROL_SUBJECT, P.VIEW_PII} <= granted
        assert (P.CHANGE_CONTACT in granted) is both, role


def test_a_site_wide_grant_on_a_study_node_reaches_only_restricted_holders_of_it():
    study, _sites = tree()
    queries = node(perms.some_site_acl(7, P.RAISE_QUERY), study)
    assert allowed(queries, principals(StudyRole.MONITOR, sites={1}), P.RAISE_QUERY)
    assert not allowed(study, principals(StudyRole.MONITOR, sites={1}), P.RAISE_QUERY)
    assert not allowed(queries, principals(StudyRole.COORDINATOR, sites={1}), P.RAISE_QUERY)
    assert not allowed(queries, principals(StudyRole.MONITOR, sites={1}), P.VERIFY_SOURCE)


@pytest.mark.parametrize("state", list(LockState))
def test_a_casebook_acl_is_its_state_s_denials_then_its_site_s_grants(state):
    """Kept per (state, study, site): each input changes what it holds, and the model's enum
    member gives the ACL its text gives."""
    acl = perms.casebook_acl(state, 7, 1)
    assert acl == perms.form_state_acl(state.value, False) + perms.site_acl(7, 1)
    assert acl == perms.casebook_acl(state.value, 7, 1)
    assert perms.casebook_acl(state, 7, 2) == perms.form_state_acl(state.value, False) + (
        perms.site_acl(7, 2)
    )
    assert perms.casebook_acl(state, 8, 1) != acl
    assert bool(acl[0][0] == Deny) is (state is not LockState.OPEN)


def test_a_restricted_holder_loses_entry_on_a_frozen_casebook_of_their_site():
    study, _sites = tree()
    helper = ACLHelper()
    coordinator = principals(StudyRole.COORDINATOR, sites={1})
    for state, allowed in ((LockState.OPEN, True), (LockState.FROZEN, False)):
        casebook = node(perms.casebook_acl(state, 7, 1), study)
        assert bool(helper.permits(casebook, coordinator, P.ENTER_DATA)) is allowed
        assert helper.permits(casebook, coordinator, P.VIEW_SUBJECT)
    assert not helper.permits(
        node(perms.casebook_acl(LockState.OPEN, 7, 2), study), coordinator, P.VIEW_SUBJECT
    )
