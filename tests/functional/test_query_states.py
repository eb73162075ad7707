"""A state machine over the query loop: raise, answer (with or without correcting the value),
close, re-open, and plain saves that fire or clear warning checks (automatic queries).

After every step: the form's open-query count matches its rows, no query is ever lost, every
step of every query is one message and one audit event, and the audit chain verifies.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from datacapt import audit
from datacapt.actor import Actor
from datacapt.ecrf import versions
from datacapt.entry import services as entry
from datacapt.models import AuditEvent, FormInstance, Query, QueryMessage, QueryState, QueryStep
from datacapt.queries import services
from datacapt.reactions import reactions_of
from tests.factories import build_world

#: Heights: 135 and 215 leave the soft range (a system query); 175 is normal.
HEIGHTS = st.sampled_from(["135", "175", "180", "215"])
TARGETS = st.sampled_from(["I.HEIGHT_CM", "I.WEIGHT_KG", None])
STEPS = st.sampled_from([QueryStep.ANSWERED, QueryStep.CLOSED, QueryStep.REOPENED])


#: What a person can send: text a browser can encode (no lone surrogates), without NUL, which
#: is refused before any view (400).
MESSAGES = st.text(
    st.characters(codec="utf-8", blacklist_characters="\x00"), min_size=1, max_size=40
).filter(str.strip)


class QueryLoop(RuleBasedStateMachine):
    dbsession = None
    world = None
    registry = None

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = self.dbsession.begin_nested()
        design = versions.published_design(self.dbsession, self.world.study)
        self.definition = design.definition
        form = next(f for f in self.definition.forms if f.name == "demographics")
        self.scope = entry.EntryScope(
            study=self.world.study,
            subject=self.world.subjects["par01-0001"],
            visit="screening",
            visit_repeat=1,
            form=form,
            form_repeat=1,
            version_number=design.number,
        )
        self.monitor = Actor(self.world.users["monitor"].id)
        self.site = Actor(self.world.users["coordinator"].id)
        self.instance = self.save("175", reason="").instance
        self.known: set[int] = set()

    def teardown(self) -> None:
        self.savepoint.rollback()

    def save(self, height: str, reason: str):
        lock = self.instance.lock_version if getattr(self, "instance", None) else None
        return entry.save_form(
            self.dbsession,
            self.scope,
            self.definition,
            entry.EntryRequest(
                {"sex": ["1"], "height_cm": [height], "weight_kg": ["70.0"]},
                {},
                False,
                reason,
                lock,
                date(2026, 6, 15),
            ),
            missing_codes=set(),
            actor=self.site,
            reactions=reactions_of(self.registry),
        )

    def queries(self) -> list[Query]:
        return list(
            self.dbsession.scalars(
                select(Query).where(Query.form_instance_id == self.instance.id).order_by(Query.id)
            )
        )

    @rule(item=TARGETS, message=MESSAGES)
    def raise_query(self, item, message):
        services.raise_query(self.dbsession, self.instance, item, message.strip(), self.monitor)

    @rule(index=st.integers(0, 20), step=STEPS, height=st.one_of(st.none(), HEIGHTS))
    def take_step(self, index, step, height):
        found = self.queries()
        if not found:
            return
        query = found[index % len(found)]
        actor = self.site if step is QueryStep.ANSWERED else self.monitor
        if not services.can_take(query, step):
            with pytest.raises(services.QueryRefused):
                services.move(self.dbsession, query, step, "no", actor)
            return
        corrected = step is QueryStep.ANSWERED and height is not None
        services.move(self.dbsession, query, step, "because", actor, corrected=corrected)
        if corrected:
            self.save(height, reason="because")

    @rule(height=HEIGHTS)
    def plain_save(self, height):
        self.save(height, reason="")

    @invariant()
    def counts_match_rows(self):
        self.dbsession.flush()
        stored = self.dbsession.execute(
            select(FormInstance.open_queries, FormInstance.answered_queries).where(
                FormInstance.id == self.instance.id
            )
        ).one()
        states = [q.state for q in self.queries()]
        not_closed = len(states) - states.count(QueryState.CLOSED)
        counted = (not_closed, states.count(QueryState.ANSWERED))
        assert tuple(stored) == counted
        assert (self.instance.open_queries, self.instance.answered_queries) == counted

    @invariant()
    def nothing_lost_everything_audited(self):
        ids = {q.id for q in self.queries()}
        assert self.known <= ids
        self.known = ids
        for query in self.queries():
            messages = self.dbsession.scalar(
                select(func.count())
                .select_from(QueryMessage)
                .where(QueryMessage.query_id == query.id)
            )
            events = self.dbsession.scalars(
                select(AuditEvent.new_value)
                .where(
                    AuditEvent.entity_type == "data_query", AuditEvent.entity_id == str(query.id)
                )
                .order_by(AuditEvent.id)
            ).all()
            assert len(events) == messages and events[-1] == query.state.value
        assert all(r.intact for r in audit.verify_all(self.dbsession, self.world.tenant.id))


def test_the_query_loop_keeps_its_invariants(dbsession, registry):
    QueryLoop.world = build_world(dbsession, registry)
    QueryLoop.dbsession = dbsession
    QueryLoop.registry = registry
    run_state_machine_as_test(
        QueryLoop,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
