"""A stateful property test of monitoring: saves, queries (raise, answer, close), SDV,
review, freeze / lock / unlock and signatures in any order, on the vital signs of three visits
of one subject, checked against a model after every step.

Invariants: a frozen, locked or signed form refuses writes and keeps its values; a locked form
takes no query step and locks only without open queries; every value change and every query
step is audited and the tenant's chain verifies; a form's open-query count is its queries'; a
verified value is the value that was verified (a change resets SDV); a valid signature's content
still hashes to what was signed (a change breaks it) and the forms' signature state agrees with
their signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from datacapt import audit
from datacapt import permissions as perms
from datacapt.actor import Actor
from datacapt.ecrf import versions
from datacapt.entry import services as entry
from datacapt.models import (
    AuditEvent,
    FormInstance,
    LockState,
    Query,
    QueryMessage,
    QueryState,
    QueryStep,
    Signature,
    SignatureState,
    SignedForm,
    Study,
    Subject,
)
from datacapt.permissions import Permission
from datacapt.queries import services as queries
from datacapt.reactions import reactions_of
from datacapt.review import services as review
from tests.factories import build_world

VISITS = ("screening", "baseline", "week4")
ANSWERED, CLOSED, REOPENED = QueryStep.ANSWERED, QueryStep.CLOSED, QueryStep.REOPENED
ANSWER_QUERY = Permission.ANSWER_QUERY
SYSTOLIC = st.integers(min_value=100, max_value=180).map(str)


@dataclass
class FormModel:
    """What the model expects of one form."""

    values: dict[str, str] = field(default_factory=dict)
    verified: dict[str, str] = field(default_factory=dict)  # item OID → value when verified
    lock: LockState = LockState.OPEN


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def test_monitoring_state_machine(dbsession, registry, world):
    subject_id, study_id, tenant_id = (
        world.subjects["par01-0001"].id,
        world.study.id,
        world.tenant.id,
    )
    design = versions.published_design(dbsession, world.study)
    investigator = world.users["investigator"].id
    form = next(f for f in design.definition.forms if f.name == "vital_signs")
    monitor, manager, site_user = (
        world.users[role].id for role in ("monitor", "data_manager", "coordinator")
    )

    class ReviewMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.savepoint = dbsession.begin_nested()
            self.subject = dbsession.get(Subject, subject_id)
            self.study = dbsession.get(Study, study_id)
            self.forms = {visit: FormModel() for visit in VISITS}
            self.value_changes = 0

        def teardown(self) -> None:
            self.savepoint.rollback()
            dbsession.expunge_all()  # nothing of this example leaks into the next

        # --- helpers ---------------------------------------------------------------------

        def instance(self, visit: str) -> FormInstance | None:
            return dbsession.scalar(
                select(FormInstance).where(
                    FormInstance.subject_id == subject_id, FormInstance.visit == visit
                )
            )

        def instances(self, visits: tuple[str, ...] = VISITS) -> list[FormInstance]:
            return [i for i in (self.instance(v) for v in visits) if i is not None]

        def actor(self, user_id: int) -> Actor:
            return Actor(user_id)

        # --- rules -----------------------------------------------------------------------

        @rule(visit=st.sampled_from(VISITS), systolic=SYSTOLIC)
        def save(self, visit: str, systolic: str) -> None:
            instance = self.instance(visit)
            scope = entry.EntryScope(
                study=self.study,
                subject=self.subject,
                visit=visit,
                visit_repeat=1,
                form=form,
                form_repeat=1,
                version_number=design.number,
            )
            request = entry.EntryRequest(
                posted={"systolic": [systolic], "diastolic": ["70"]},
                missing={},
                complete=False,
                reason="",
                lock=instance.lock_version if instance is not None else None,
                today=date(2026, 6, 15),
            )
            model = self.forms[visit]
            closed = entry.is_closed(instance)
            try:
                entry.save_form(
                    dbsession,
                    scope,
                    design.definition,
                    request,
                    missing_codes=set(),
                    actor=self.actor(site_user),
                    reactions=reactions_of(registry),
                )
            except entry.FormClosed:
                assert closed, "an open form refused a save"
                return
            assert not closed, "a frozen, locked or signed form took a save"
            new = {"I.SYSTOLIC": systolic, "I.DIASTOLIC": "70"}
            self.value_changes += sum(model.values.get(k) != v for k, v in new.items())
            for oid, value in new.items():
                if model.values.get(oid) != value:
                    model.verified.pop(oid, None)
            model.values.update(new)

        @rule(visit=st.sampled_from(VISITS))
        def verify_form(self, visit: str) -> None:
            self._verify((visit,))

        @rule()
        def verify_everything(self) -> None:
            self._verify(VISITS)

        def _verify(self, visits: tuple[str, ...]) -> None:
            chosen = self.instances(visits)
            locked = any(self.forms[v].lock is LockState.LOCKED for v in visits)
            try:
                review.verify(dbsession, self.actor(monitor), chosen)
            except review.Refused:
                assert locked
                return
            assert not locked
            for visit in visits:
                self.forms[visit].verified = dict(self.forms[visit].values)

        @rule(visit=st.sampled_from(VISITS))
        def review_form(self, visit: str) -> None:
            try:
                review.review(dbsession, self.actor(manager), self.instances((visit,)))
            except review.Refused:
                assert self.forms[visit].lock is LockState.LOCKED

        @rule(visit=st.sampled_from(VISITS))
        def freeze(self, visit: str) -> None:
            chosen = self.instances((visit,))
            review.freeze(dbsession, self.actor(manager), chosen)
            if chosen and self.forms[visit].lock is LockState.OPEN:
                self.forms[visit].lock = LockState.FROZEN

        @rule(visits=st.sampled_from([(v,) for v in VISITS] + [VISITS]))
        def lock(self, visits: tuple[str, ...]) -> None:
            chosen = self.instances(visits)
            try:
                review.lock(dbsession, self.actor(manager), chosen)
            except review.Refused:
                assert any(i.open_queries for i in chosen)
                return
            assert not any(i.open_queries for i in chosen), "locked with open queries"
            for instance in chosen:
                self.forms[instance.visit].lock = LockState.LOCKED

        @rule(visit=st.sampled_from(VISITS), reason=st.sampled_from(["", "Correction"]))
        def unlock(self, visit: str, reason: str) -> None:
            chosen = self.instances((visit,))
            try:
                review.unlock(dbsession, self.actor(manager), chosen, reason)
            except review.Refused:
                assert not reason
                return
            if chosen:
                self.forms[visit].lock = LockState.OPEN

        def may(self, permission: Permission, instance: FormInstance) -> bool:
            """What the form node's ACL lets anyone do in the form's state (the views ask it)."""
            signed = instance.signature_state is SignatureState.SIGNED
            denials = perms.form_state_acl(instance.lock_state.value, signed)
            return not any(permission in denied for _deny, _who, denied in denials)

        @rule(pick=st.integers(0, 2), item=st.sampled_from(["I.SYSTOLIC", None]))
        def raise_query(self, pick: int, item: str | None) -> None:
            """The monitor raises a query on one of the forms entered so far."""
            open_ = [i for i in self.instances() if self.may(Permission.RAISE_QUERY, i)]
            if open_:
                actor = self.actor(monitor)
                instance = open_[pick % len(open_)]
                queries.raise_query(dbsession, instance, item, "Please check the source.", actor)

        @rule(pick=st.integers(0, 5), step=st.sampled_from([ANSWERED, CLOSED, REOPENED]))
        def move_query(self, pick: int, step: QueryStep) -> None:
            """Site staff answer, the monitor closes or re-opens, one of the queries that can
            take that step on a form whose state allows it."""
            permission = ANSWER_QUERY if step is ANSWERED else Permission.RAISE_QUERY
            allowed = {i.id for i in self.instances() if self.may(permission, i)}
            candidates = [
                q
                for q in dbsession.scalars(select(Query).order_by(Query.id))
                if q.form_instance_id in allowed and queries.can_take(q, step)
            ]
            if candidates:
                who = site_user if step is ANSWERED else monitor
                query = candidates[pick % len(candidates)]
                queries.move(dbsession, query, step, "Done.", self.actor(who))

        @rule(scope=st.sampled_from(["form", "visit", "casebook"]), visit=st.sampled_from(VISITS))
        def sign(self, scope: str, visit: str) -> None:
            instance = self.instance(visit)
            if scope == "casebook":
                target = review.SignTarget(review.SignatureScope.CASEBOOK, subject_id)
            elif instance is None:
                return
            elif scope == "visit":
                target = review.SignTarget(
                    review.SignatureScope.VISIT, subject_id, instance.visit_instance_id
                )
            else:
                target = review.SignTarget(
                    review.SignatureScope.FORM, subject_id, None, instance.id
                )
            try:
                review.sign(
                    dbsession,
                    self.actor(investigator),
                    [target],
                    signer_name="Investigator",
                    meaning="I approve the data.",
                )
            except review.Refused:
                assert not any(self.forms[v].values for v in VISITS) or scope != "casebook"

        # --- invariants ------------------------------------------------------------------

        @invariant()
        def values_are_what_the_model_says(self) -> None:
            for visit, model in self.forms.items():
                instance = self.instance(visit)
                rows = review._rows(dbsession, [instance])[instance.id] if instance else []
                saved = {row.item_oid: row.value for row in rows if row.value is not None}
                assert saved == model.values
                verified = {row.item_oid: row.value for row in rows if row.verified_at}
                assert verified == model.verified, "a change did not reset SDV"
                if instance is not None:
                    assert instance.lock_state is model.lock

        @invariant()
        def every_change_is_audited_and_the_chain_verifies(self) -> None:
            changes = dbsession.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "entry.value_changed")
            )
            assert changes == self.value_changes + self.baseline_changes
            assert all(r.intact for r in audit.verify_all(dbsession, tenant_id))

        @invariant()
        def query_counts_are_the_queries_and_every_step_is_audited(self) -> None:
            for instance in self.instances():
                not_closed = dbsession.scalar(
                    select(func.count()).where(
                        Query.form_instance_id == instance.id, Query.state != QueryState.CLOSED
                    )
                )
                answered = dbsession.scalar(
                    select(func.count()).where(
                        Query.form_instance_id == instance.id, Query.state == QueryState.ANSWERED
                    )
                )
                assert (instance.open_queries, instance.answered_queries) == (not_closed, answered)
            steps = dbsession.scalar(select(func.count()).select_from(QueryMessage))
            audited = dbsession.scalar(
                select(func.count()).where(AuditEvent.entity_type == "data_query")
            )
            assert audited == steps

        @invariant()
        def valid_signatures_cover_unchanged_content(self) -> None:
            signatures = dbsession.scalars(
                select(Signature).where(Signature.subject_id == subject_id)
            ).all()
            for signature in signatures:
                if signature.broken_at is None:
                    assert review.intact(dbsession, signature), "a change did not break it"
            valid = set(
                dbsession.scalars(
                    select(SignedForm.form_instance_id)
                    .join(Signature, Signature.id == SignedForm.signature_id)
                    .where(Signature.broken_at.is_(None))
                )
            )
            for instance in self.instances():
                signed = instance.signature_state is SignatureState.SIGNED
                assert signed == (instance.id in valid)

    ReviewMachine.baseline_changes = dbsession.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "entry.value_changed")
    )
    machine_settings = settings(
        max_examples=40,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    run_state_machine_as_test(ReviewMachine, settings=machine_settings)
