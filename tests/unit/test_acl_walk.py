"""The policy's memoised ACL walk decides exactly as Pyramid's ``ACLHelper.permits``."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from pyramid.authorization import (
    ALL_PERMISSIONS,
    DENY_ALL,
    ACLAllowed,
    ACLDenied,
    ACLHelper,
    Allow,
    Authenticated,
    Deny,
    Everyone,
)

from datacapt import permissions as perms
from datacapt.models.entry import LockState
from datacapt.permissions import Permission, StudyRole
from datacapt.security import Identity, StudyMembership
from datacapt.signin.policy import acl_permits, acl_verdict

P = Permission


def node(acl, parent=None):
    return SimpleNamespace(__acl__=lambda: acl, __parent__=parent)


class Bare:
    """A node without ``__acl__`` (its parent's decide) and, at the top, without a parent."""

    def __init__(self, parent=None):
        if parent is not None:
            self.__parent__ = parent


def same(context, principals, permission):
    """Both walks' results: same truth, class, ACE, ACL, location and message."""
    ours = acl_permits(context, principals, permission)
    theirs = ACLHelper().permits(context, principals, permission)
    assert type(ours) is type(theirs)
    assert bool(ours) is bool(theirs)
    assert ours.ace == theirs.ace
    assert ours.acl == theirs.acl
    assert ours.context is theirs.context
    assert ours.principals is theirs.principals
    assert ours.msg == theirs.msg
    return ours


def principals_of(role, sites=None, study_id=7, tenant_id=3):
    user = SimpleNamespace(id=1, is_system_admin=False)
    grant = StudyMembership(
        tenant_id,
        "acme",
        "Acme",
        study_id,
        "demo",
        "Demo",
        role,
        frozenset(sites) if sites else None,
    )
    return Identity(user=user, study_roles=[grant]).principals


def casebook(state=LockState.OPEN, site=1, study_id=7, tenant_id=3, form_state=None):
    root = node(perms.ROOT_ACL)
    tenant = node(perms.tenant_acl(tenant_id), root)
    study = node(perms.study_acl(study_id), tenant)
    book = node(perms.casebook_acl(state, study_id, site), study)
    visit = Bare(book)
    if form_state is None:
        return node((), visit)
    return node(perms.form_state_acl(*form_state), visit)


def test_each_input_changes_the_decision():
    coordinator = principals_of(StudyRole.COORDINATOR, sites={1})
    form = casebook()
    assert same(form, coordinator, P.ENTER_DATA)
    # the permission
    assert not same(form, coordinator, P.VERIFY_SOURCE)
    # the principals
    assert same(form, principals_of(StudyRole.MONITOR, sites={1}), P.VERIFY_SOURCE)
    assert not same(form, principals_of(StudyRole.MONITOR, sites={1}), P.ENTER_DATA)
    # the casebook's lock state, then the form's own
    assert not same(casebook(LockState.FROZEN), coordinator, P.ENTER_DATA)
    assert same(casebook(LockState.FROZEN), coordinator, P.ANSWER_QUERY)
    assert not same(casebook(LockState.LOCKED), coordinator, P.ANSWER_QUERY)
    assert not same(casebook(form_state=("open", True)), coordinator, P.ENTER_DATA)
    assert not same(casebook(form_state=("locked", False)), coordinator, P.ANSWER_QUERY)
    assert same(casebook(form_state=("frozen", False)), coordinator, P.ANSWER_QUERY)
    # the site restriction: another site of the same study
    assert not same(casebook(site=2), coordinator, P.ENTER_DATA)
    assert same(casebook(site=2), principals_of(StudyRole.COORDINATOR), P.ENTER_DATA)
    # another study, another tenant
    assert not same(casebook(study_id=8), coordinator, P.VIEW_SUBJECT)
    assert not same(casebook(study_id=8, tenant_id=4), coordinator, P.VIEW_SUBJECT)
    assert same(casebook(tenant_id=4), coordinator, P.VIEW_SUBJECT)
    assert not same(casebook(tenant_id=4), principals_of(StudyRole.COORDINATOR), P.VIEW_TENANT)
    assert same(casebook(), principals_of(StudyRole.COORDINATOR), P.VIEW_TENANT)


def test_a_changed_acl_content_changes_the_decision():
    entries = [(Allow, "a", ("read",))]
    context = SimpleNamespace(__acl__=lambda: tuple(entries), __parent__=None)
    assert same(context, ["a"], "read")
    entries.insert(0, (Deny, "a", "read"))
    assert not same(context, ["a"], "read")
    entries[0] = (Deny, "b", "read")
    assert same(context, ["a"], "read")


def test_the_memo_is_bounded():
    assert acl_verdict.cache_info().maxsize is not None


def test_all_permissions_and_deny_all():
    root = node(((Allow, "a", ALL_PERMISSIONS),))
    middle = node((DENY_ALL,), root)
    assert same(root, [Everyone, "a"], "anything")
    assert not same(node((), middle), [Everyone, "a"], "anything")
    assert same(node((), middle), ["a"], "anything")
    assert same(node(((Allow, "a", "x"), DENY_ALL), middle), [Everyone, "a"], "x")
    assert not same(node(((Allow, "a", "x"), DENY_ALL), middle), [Everyone, "a"], "y")


def test_lineage_without_acls_and_default_deny():
    assert isinstance(same(Bare(), ["a"], "x"), ACLDenied)
    top = node(((Allow, "a", "x"),))
    assert isinstance(same(Bare(Bare(top)), ["a"], "x"), ACLAllowed)
    assert not same(Bare(node((), top)), ["b"], "x")
    assert not same(SimpleNamespace(__acl__=(), __parent__=None), ["a"], "x")
    assert same(SimpleNamespace(__acl__=[(Allow, "a", "x")], __parent__=None), ["a"], "x")


def test_a_string_permission_is_one_name_not_its_letters():
    assert not same(node(((Allow, "a", "read"),)), ["a"], "e")
    assert same(node(((Allow, "a", "read"),)), ["a"], "read")
    assert not same(node(((Allow, "a", ["read"]),)), ["a"], "e")


def test_closed_by_reads_the_same_node():
    form = casebook(form_state=("locked", False))
    result = same(form, principals_of(StudyRole.COORDINATOR), P.ENTER_DATA)
    assert perms.closed_by(result) is form


PRINCIPALS = [Everyone, Authenticated, "a", "b", "c", "d"]
PERMISSIONS = ["p", "q", "r", "s"]


def random_permissions(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(PERMISSIONS)
    if kind == 1:
        return ALL_PERMISSIONS
    if kind == 2:
        return frozenset(rng.sample(PERMISSIONS, rng.randrange(3)))
    if kind == 3:
        return list(rng.sample(PERMISSIONS, rng.randrange(3)))
    return tuple(rng.sample(PERMISSIONS, rng.randrange(4)))


def random_acl(rng):
    entries = [
        (rng.choice((Allow, Deny)), rng.choice(PRINCIPALS), random_permissions(rng))
        for _ in range(rng.randrange(5))
    ]
    return rng.choice((tuple, list))(entries) if rng.random() < 0.2 else tuple(entries)


def random_chain(rng):
    context = None
    for _ in range(rng.randrange(1, 8)):
        kind = rng.randrange(4)
        if kind == 0:
            context = Bare(context)
        elif kind == 1:
            acl = random_acl(rng)
            context = SimpleNamespace(__acl__=acl, __parent__=context)
        else:
            context = node(random_acl(rng), context)
    return context


@pytest.mark.parametrize("seed", range(20))
def test_the_walk_matches_pyramids_on_random_chains(seed):
    rng = random.Random(seed)
    for _ in range(200):
        context = random_chain(rng)
        principals = rng.sample(PRINCIPALS, rng.randrange(len(PRINCIPALS)))
        for permission in PERMISSIONS:
            same(context, principals, permission)
            # asked twice: the memoised answer is the first one
            same(context, principals, permission)
