"""``python -m bench.generate -c INI --subjects 10000 --forms 20 --items 50``: a study at scale.

The tenant, study, sites, users and the published design are made through the services, as an
administrator would. Subjects and their entered data are then written in bulk, with exactly the
rows the services write (enrolment and status changes, visit and form instances, values with
their typed copies, missing codes and SDV marks, warnings and the system queries they open, and
one audit event per change, chained and hashed by :func:`datacapt.audit.chained_event`): each
save is the application's own plan (:func:`datacapt.entry.services.plan_save`), written as rows
instead of applied. The generated trail is verified at the end.
``tests/functional/test_bench_generate.py`` proves the rows equal those of the services.

Data are entered by the site's coordinator, a form at a time, in a history that ends now.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bench.design import bench_definition
from datacapt import audit
from datacapt.accounts.services import create_user, grant_study_role
from datacapt.actor import Actor
from datacapt.cli.bootstrap import load_environment
from datacapt.clock import installation_today
from datacapt.db import transaction_scope
from datacapt.design import services as design_services
from datacapt.ecrf.definition import Definition, Form, Item, ItemType, Validation, form_items
from datacapt.entry import services as entry
from datacapt.models import (
    AuditEvent,
    EntryWarning,
    FormInstance,
    ItemValue,
    LockState,
    Query,
    QueryMessage,
    QueryOrigin,
    QueryState,
    QueryStep,
    SdvStatus,
    Site,
    Study,
    Subject,
    SubjectStatus,
    VisitInstance,
    WarningKind,
)
from datacapt.permissions import StudyRole
from datacapt.queries.automatic import opens_a_query, wording_of
from datacapt.review.services import sdv_required, sdv_status
from datacapt.studies.services import create_site, create_study, create_tenant

PASSWORD = "Bench-password-2026"  # noqa: S105 - benchmark accounts on a benchmark database
SITES_PER_COORDINATOR = 10
MONITORS = 5
SUBJECTS_PER_BATCH = 500
HISTORY = timedelta(days=365)
WORDS = ("stable", "improved", "unchanged", "mild", "resolved", "ongoing", "none reported")


@dataclass(frozen=True)
class Options:
    subjects: int
    forms: int
    items: int
    sites: int
    tenant: str = "bench"
    study: str = "big"
    seed: int = 2026
    progress: float = 0.5  # chance that a subject reached each further visit


@dataclass
class Setup:
    """What the services made: ids the bulk rows refer to."""

    tenant_id: int
    study: Study
    sites: list[Site]
    coordinators: dict[int, int]  # site id → the coordinator entering its data
    definition: Definition
    version_number: int
    registry: Any  # its keys seal personal data


# --- made through the services ----------------------------------------------------------------


def site_code(number: int) -> str:
    return f"s{number:03d}"


def coordinator_email(tenant: str, number: int) -> str:
    return f"coordinator-{number:03d}@{tenant}.bench.example"


def monitor_email(tenant: str, number: int) -> str:
    return f"monitor-{number:02d}@{tenant}.bench.example"


def make_setup(dbsession: Session, registry: Any, options: Options) -> Setup:
    """Tenant, study, sites, users and the published design, as an administrator makes them."""
    tenant = create_tenant(dbsession, options.tenant, "Benchmark Research")
    study = create_study(dbsession, tenant, options.study, "A study at scale")
    sites = [
        create_site(dbsession, study, site_code(number), f"Hospital {number}")
        for number in range(1, options.sites + 1)
    ]
    coordinators: dict[int, int] = {}
    for number, start in enumerate(range(0, len(sites), SITES_PER_COORDINATOR), start=1):
        group = sites[start : start + SITES_PER_COORDINATOR]
        user = create_user(
            dbsession,
            registry,
            coordinator_email(options.tenant, number),
            f"Coordinator {number}",
            PASSWORD,
        )
        grant_study_role(dbsession, user, study, StudyRole.COORDINATOR, group)
        coordinators.update({site.id: user.id for site in group})
    for number in range(1, MONITORS + 1):
        user = create_user(
            dbsession,
            registry,
            monitor_email(options.tenant, number),
            f"Monitor {number}",
            PASSWORD,
        )
        grant_study_role(dbsession, user, study, StudyRole.MONITOR)
    definition = bench_definition(options.forms, options.items)
    version = publish_design(dbsession, study, definition)
    return Setup(
        tenant.id,
        study,
        sites,
        coordinators,
        definition,
        version,
        registry,
    )


def publish_design(dbsession: Session, study: Study, definition: Definition) -> int:
    actor = Actor.system("bench.generate")
    draft = design_services.start_draft(dbsession, study, actor)
    design_services.save_draft(
        dbsession,
        study,
        draft,
        definition,
        expected_lock=draft.lock_version,
        action="design.imported",
        element=None,
        old=None,
        new={"source": "bench.generate"},
        actor=actor,
    )
    design_services.publish(
        dbsession,
        study,
        draft,
        actor=actor,
        reason="Benchmark design",
        expected_lock=draft.lock_version,
    )
    return draft.number


# --- what is entered ----------------------------------------------------------------------------


def raw_value(item: Item, rng: random.Random) -> str:
    """A plausible input for ``item``, as a person types it (2 % outside the soft range)."""
    if item.type is ItemType.SINGLE_CHOICE:
        return rng.choice(item.choices).code
    if item.type is ItemType.YES_NO:
        return rng.choice("01")
    if item.validation is Validation.INTEGER:
        return str(rng.randint(210, 390) if rng.random() < 0.02 else rng.randint(60, 180))
    if item.validation is Validation.NUMBER:
        return f"{rng.uniform(600, 990) if rng.random() < 0.02 else rng.uniform(2, 400):.1f}"
    if item.validation is Validation.DATE:
        day = date(2025, 1, 1) + timedelta(days=rng.randrange(600))
        return day.strftime("%d/%m/%Y")
    return rng.choice(WORDS)


@dataclass(frozen=True)
class Entry:
    """One save of one form: the raw inputs, the missing-data codes, complete or not."""

    posted: dict[str, list[str]]
    missing: dict[str, str]
    complete: bool


def form_entry(form: Form, complete: bool, codes: Sequence[str], rng: random.Random) -> Entry:
    """Complete forms have every item (or a missing-data code); forms in progress lack some."""
    posted: dict[str, list[str]] = {}
    missing: dict[str, str] = {}
    for item in form_items(form):
        if not complete and not item.required and rng.random() < 0.25:
            continue
        if item.missing_codes_allowed and rng.random() < 0.03:
            missing[item.name] = rng.choice(codes)
        else:
            posted[item.name] = [raw_value(item, rng)]
    return Entry(posted, missing, complete)


# --- the rows the services would write ------------------------------------------------------------


class Ids:
    """Primary keys taken ahead from the tables' own sequences, a block at a time, so rows can
    refer to each other before they are written (concurrent writers never get the same ones)."""

    BLOCK = 5000

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.free: dict[str, list[int]] = {}
        self.next_sqlite: dict[str, int] = {}

    def take(self, table: Table, count: int) -> Iterator[int]:
        free = self.free.setdefault(table.name, [])
        if len(free) < count:
            free.extend(self._reserve(table, max(count, self.BLOCK)))
        taken, self.free[table.name] = free[:count], free[count:]
        return iter(taken)

    def _reserve(self, table: Table, count: int) -> list[int]:
        if self.connection.dialect.name == "postgresql":
            return list(
                self.connection.scalars(
                    text(
                        "SELECT nextval(pg_get_serial_sequence(:table, 'id'))"
                        " FROM generate_series(1, :n)"
                    ),
                    {"table": table.name, "n": count},
                )
            )
        start = self.next_sqlite.get(table.name) or (
            (self.connection.scalar(select(func.max(table.c.id))) or 0) + 1
        )
        self.next_sqlite[table.name] = start + count
        return list(range(start, start + count))


@dataclass
class Rows:
    """Rows to write, by table, in an order that respects foreign keys."""

    audit_event: list[dict[str, Any]] = field(default_factory=list)
    subject: list[dict[str, Any]] = field(default_factory=list)
    visit_instance: list[dict[str, Any]] = field(default_factory=list)
    form_instance: list[dict[str, Any]] = field(default_factory=list)
    item_value: list[dict[str, Any]] = field(default_factory=list)
    entry_warning: list[dict[str, Any]] = field(default_factory=list)
    data_query: list[dict[str, Any]] = field(default_factory=list)
    query_message: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> Iterable[tuple[Table, list[dict[str, Any]]]]:
        yield AuditEvent.__table__, self.audit_event  # type: ignore[misc]
        yield Subject.__table__, self.subject  # type: ignore[misc]
        yield VisitInstance.__table__, self.visit_instance  # type: ignore[misc]
        yield FormInstance.__table__, self.form_instance  # type: ignore[misc]
        yield ItemValue.__table__, self.item_value  # type: ignore[misc]
        yield EntryWarning.__table__, self.entry_warning  # type: ignore[misc]
        yield Query.__table__, self.data_query  # type: ignore[misc]
        yield QueryMessage.__table__, self.query_message  # type: ignore[misc]


class Writer:
    """Builds the rows of enrolments and saves; events start their new subjects' chains."""

    def __init__(
        self,
        connection: Connection,
        setup: Setup,
        clock: Iterator[datetime],
        today: date | None = None,
    ) -> None:
        self.setup = setup
        #: The day inclusions count from and save rules read as today, as the services take it.
        self.today = today or installation_today(setup.registry)
        self.ids = Ids(connection)
        self.clock = clock
        self.rows = Rows()
        self.links: dict[str, tuple[int, str]] = {}  # chain -> its last seq and hash
        self.query_number = 0
        self.subject: Subject | None = None

    def start(self, dbsession: Session) -> None:
        """Number queries after the study's last one, as ``queries.services.raise_query`` does.
        Every event is about a subject made here, so each chain starts at its genesis."""
        self.query_number = (
            dbsession.scalar(
                select(func.max(Query.number)).where(Query.study_id == self.setup.study.id)
            )
            or 0
        )

    def event(
        self,
        event_id: int,
        request_id: str,
        actor_id: int,
        at: datetime | None = None,
        **fields: Any,
    ) -> int:
        chain = audit.chain_of(self.setup.tenant_id, self.setup.study.id, fields["subject_id"])
        seq, previous = self.links.get(chain, (0, audit.GENESIS))
        made = audit.chained_event(
            chain,
            seq + 1,
            previous,
            at or next(self.clock),
            **{
                "tenant_id": self.setup.tenant_id,
                "study_id": self.setup.study.id,
                **fields,
                "actor_id": actor_id,
                "request_id": request_id,
            },
        )
        self.links[chain] = (made.seq, made.hash)
        self.rows.audit_event.append(
            {column.key: getattr(made, column.key) for column in AuditEvent.__table__.columns}
            | {"id": event_id}
        )
        return event_id

    def enrol(
        self, site: Site, label: str, status: SubjectStatus, reason: str | None, on: date | None
    ) -> dict[str, Any]:
        """``subjects.services.enrol`` then ``change_status`` along the way to ``status``."""
        actor = self.setup.coordinators[site.id]
        subject_id = next(self.ids.take(Subject.__table__, 1))  # type: ignore[arg-type]
        path = {
            SubjectStatus.SCREENING: [],
            SubjectStatus.INCLUDED: [SubjectStatus.INCLUDED],
            SubjectStatus.SCREEN_FAILURE: [SubjectStatus.SCREEN_FAILURE],
            SubjectStatus.WITHDRAWN: [SubjectStatus.INCLUDED, SubjectStatus.WITHDRAWN],
        }[status]
        included = SubjectStatus.INCLUDED in path
        event_ids = self.ids.take(AuditEvent.__table__, 1 + len(path) + included)  # type: ignore[arg-type]
        scope = {"site_id": site.id, "subject_id": subject_id, "entity_type": "subject"}
        created = next(self.clock)
        self.event(
            next(event_ids),
            uuid.uuid4().hex,
            actor,
            action="subject.enrolled",
            entity_id=subject_id,
            new={"label": label, "status": SubjectStatus.SCREENING.value},
            **scope,
        )
        old = SubjectStatus.SCREENING
        for step in path:
            final = step is status
            self.event(
                next(event_ids),
                uuid.uuid4().hex,
                actor,
                action="subject.status_changed",
                entity_id=subject_id,
                field="status",
                old=old.value,
                new=step.value,
                reason=reason if final else None,
                **scope,
            )
            if step is SubjectStatus.INCLUDED:
                self.event(
                    next(event_ids),
                    uuid.uuid4().hex,
                    actor,
                    action="subject.included",
                    entity_id=subject_id,
                    field="included_on",
                    new=(on or self.today).isoformat(),
                    **scope,
                )
            old = step
        row = {
            "id": subject_id,
            "tenant_id": self.setup.tenant_id,
            "study_id": self.setup.study.id,
            "site_id": site.id,
            "label": label,
            "status": status.value,
            "status_reason": reason,
            "status_date": on,
            "included_on": (on or self.today) if included else None,
            "created_at": created,
            "created_by_id": actor,
        }
        self.rows.subject.append(row)
        return row

    def visit(self, subject: dict[str, Any], visit: str) -> dict[str, Any]:
        row = {
            "id": next(self.ids.take(VisitInstance.__table__, 1)),  # type: ignore[arg-type]
            "tenant_id": subject["tenant_id"],
            "study_id": subject["study_id"],
            "subject_id": subject["id"],
            "visit": visit,
            "repeat": 1,
            "created_at": next(self.clock),
            "created_by_id": subject["created_by_id"],
        }
        self.rows.visit_instance.append(row)
        return row

    def save(self, subject: dict[str, Any], visit: dict[str, Any], form: Form, data: Entry) -> None:
        """A save of a form never saved before: planned by ``entry.services.plan_save``, as the
        application plans it, and written as the rows ``apply_save`` and its reactions write."""
        scope = entry.EntryScope(
            study=self.setup.study,
            subject=self.subject_of(subject),
            visit=visit["visit"],
            visit_repeat=visit["repeat"],
            form=form,
            form_repeat=1,
            version_number=self.setup.version_number,
        )
        plan = entry.plan_save(
            scope,
            self.setup.definition,
            entry.EntryRequest(
                data.posted,
                data.missing,
                data.complete,
                "",
                None,
                self.today,
            ),
            entry.SaveReads(),
            missing_codes={code for code, _label in self.setup.study.missing_codes},
        )
        actor, request_id = subject["created_by_id"], uuid.uuid4().hex
        instance_id = next(self.ids.take(FormInstance.__table__, 1))  # type: ignore[arg-type]
        event_ids = self.ids.take(AuditEvent.__table__, len(plan.events))  # type: ignore[arg-type]
        saved = next(self.clock)  # the events of one save share one reading of the clock
        made = [
            self.event(next(event_ids), request_id, actor, saved, **event)
            for event in entry.recorded_events(self.setup.registry, plan, instance_id)
        ]
        values = [
            {
                "tenant_id": subject["tenant_id"],
                "form_instance_id": instance_id,
                "item_oid": change.item.oid,
                **entry.value_columns(
                    self.setup.registry,
                    (subject["tenant_id"], subject["id"], instance_id),
                    change,
                    event_id,
                    saved,
                    actor,
                ),
                "sdv_required": sdv_required(form, change.item),
            }
            for change, event_id in zip(plan.changes, made[-len(plan.changes) :], strict=True)
        ]
        self.rows.item_value.extend(values)
        sdv = sdv_status(
            SimpleNamespace(**row, sdv_changed=False, verified_at=None)  # type: ignore[misc]
            for row in values
        )
        warnings = self.warnings(subject, instance_id, plan.to_open, saved)
        queries = sum(
            self.system_query(subject, instance_id, warning, request_id, actor)
            for warning in warnings
        )
        self.rows.form_instance.append(
            {
                "id": instance_id,
                "tenant_id": subject["tenant_id"],
                "study_id": subject["study_id"],
                "site_id": subject["site_id"],
                "subject_id": subject["id"],
                "visit_instance_id": visit["id"],
                "visit": visit["visit"],
                "visit_repeat": visit["repeat"],
                "form": form.name,
                "repeat": 1,
                "status": plan.status.value,
                "version_number": self.setup.version_number,
                "open_queries": queries,
                "open_warnings": len(plan.warnings),
                "sdv_status": sdv.value,
                # Inserted at 2 by its first save (the insert is the save's claim), then one
                # more when the review's reaction sets the form awaiting SDV.
                "lock_version": 2 if sdv is SdvStatus.NOT_REQUIRED else 3,
                "status_reason": None,
                "created_at": saved,
                "updated_at": saved,
                "updated_by_id": actor,
            }
        )

    def subject_of(self, row: dict[str, Any]) -> Subject:
        """The subject a plan scopes its events to (not added to any session)."""
        if self.subject is None or self.subject.id != row["id"]:
            self.subject = Subject(
                id=row["id"],
                tenant_id=row["tenant_id"],
                study_id=row["study_id"],
                site_id=row["site_id"],
                lock_state=LockState.OPEN,
            )
        return self.subject

    def warnings(
        self, subject: dict[str, Any], instance_id: int, opened: list[entry.Warning], at: datetime
    ) -> list[dict[str, Any]]:
        """The warnings a save opens (``plan.to_open``), as rows."""
        ids = self.ids.take(EntryWarning.__table__, len(opened))  # type: ignore[arg-type]
        rows = [
            {
                "id": next(ids),
                "tenant_id": subject["tenant_id"],
                "form_instance_id": instance_id,
                "item_oid": item.oid,
                "kind": kind.value,
                "check_oid": check,
                "message": message,
                "raised_at": at,
                "resolved_at": None,
            }
            for item, kind, check, message in opened
        ]
        self.rows.entry_warning.extend(rows)
        return rows

    def system_query(
        self,
        subject: dict[str, Any],
        instance_id: int,
        warning: dict[str, Any],
        request_id: str,
        actor: int,
    ) -> bool:
        """``queries.automatic.follow_warnings`` for a new warning: the system query it opens,
        if it opens one (``raise_query``: the query, its first message, its event)."""
        kind = WarningKind(warning["kind"])
        probe = EntryWarning(
            kind=kind, item_oid=warning["item_oid"], check_oid=warning["check_oid"]
        )
        if not opens_a_query(self.setup.definition, probe):
            return False
        query_id = next(self.ids.take(Query.__table__, 1))  # type: ignore[arg-type]
        event_id = next(self.ids.take(AuditEvent.__table__, 1))  # type: ignore[arg-type]
        self.query_number += 1
        now = next(self.clock)
        self.rows.data_query.append(
            {
                "id": query_id,
                "tenant_id": subject["tenant_id"],
                "study_id": subject["study_id"],
                "number": self.query_number,
                "site_id": subject["site_id"],
                "subject_id": subject["id"],
                "form_instance_id": instance_id,
                "item_oid": warning["item_oid"],
                "origin": QueryOrigin.SYSTEM.value,
                "warning_id": warning["id"],
                "state": QueryState.OPEN.value,
                "raised_at": now,
                "raised_by_id": None,
                "answered_at": None,
                "closed_at": None,
                "updated_at": now,
            }
        )
        self.rows.query_message.append(
            {
                "tenant_id": subject["tenant_id"],
                "query_id": query_id,
                "step": QueryStep.RAISED.value,
                "state": QueryState.OPEN.value,
                "body": warning["message"],
                "wording": wording_of(self.setup.definition, probe),
                "corrected": False,
                "author_id": None,
                "created_at": now,
            }
        )
        self.event(
            event_id,
            request_id,
            actor,
            now,
            site_id=subject["site_id"],
            subject_id=subject["id"],
            action=f"query.{QueryStep.RAISED.value}",
            entity_type="data_query",
            entity_id=query_id,
            field=warning["item_oid"],
            new=QueryState.OPEN.value,
            reason=warning["message"],
        )
        return True

    def flush(self, dbsession: Session) -> int:
        """Write the rows gathered so far; the number written."""
        connection = dbsession.connection()
        count = 0
        for table, rows in self.rows.tables():
            insert_rows(connection, table, rows)
            count += len(rows)
        self.rows = Rows()
        return count


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL (tens of times faster than INSERT), executemany elsewhere."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_copied(row[column]) for column in columns])


def _copied(value: Any) -> Any:
    """A value as COPY takes it: JSON columns (dicts, lists) as their JSON text."""
    return json.dumps(value) if isinstance(value, dict | list) else value


# --- the history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What happened to one subject."""

    site: Site
    label: str
    status: SubjectStatus
    reason: str | None
    on: date | None
    visits: int  # how many visits have data
    last_complete: bool  # whether the forms of the last of them are complete


def plans(setup: Setup, options: Options, rng: random.Random) -> Iterator[Plan]:
    """10 % screen failures, 5 % withdrawn, the rest included; each further visit reached with
    probability ``progress``; the forms of the latest visit are still in progress half the time."""
    numbers = dict.fromkeys((site.id for site in setup.sites), 0)
    visits = len(setup.definition.schedule.visits)
    for index in range(options.subjects):
        site = setup.sites[index % len(setup.sites)]
        numbers[site.id] += 1
        label = setup.study.subject_id_pattern.format(site=site.code, seq=numbers[site.id])
        draw = rng.random()
        reached = 1
        while reached < visits and rng.random() < options.progress:
            reached += 1
        if draw < 0.10:
            yield Plan(
                site,
                label,
                SubjectStatus.SCREEN_FAILURE,
                "Inclusion criteria not met",
                date(2026, 1, 15),
                1,
                True,
            )
        elif draw < 0.15:
            yield Plan(
                site,
                label,
                SubjectStatus.WITHDRAWN,
                "Consent withdrawn",
                date(2026, 3, 2),
                reached,
                True,
            )
        else:
            yield Plan(site, label, SubjectStatus.INCLUDED, None, None, reached, rng.random() < 0.5)


def write_subject(writer: Writer, plan: Plan, codes: Sequence[str], rng: random.Random) -> None:
    subject = writer.enrol(plan.site, plan.label, plan.status, plan.reason, plan.on)
    forms = {form.name: form for form in writer.setup.definition.forms}
    for number, visit in enumerate(writer.setup.definition.schedule.visits[: plan.visits], 1):
        complete = plan.last_complete or number < plan.visits
        instance = writer.visit(subject, visit.name)
        for name in visit.forms:
            writer.save(
                subject, instance, forms[name], form_entry(forms[name], complete, codes, rng)
            )


def clock(start: datetime, step: timedelta) -> Iterator[datetime]:
    now = start
    while True:
        yield now
        now += step


def generate(registry: Any, options: Options, out: Any = sys.stdout) -> Setup:
    """Make the whole study; prints what took how long."""
    began = time.perf_counter()
    with transaction_scope(registry) as dbsession:
        setup = make_setup(dbsession, registry, options)
    print(f"setup through the services: {time.perf_counter() - began:.1f} s", file=out, flush=True)
    rng = random.Random(options.seed)
    codes = [code for code, _label in setup.study.missing_codes]
    expected = options.subjects * (1 + options.items * len(setup.definition.forms) // 5)
    ticks = clock(datetime.now(UTC) - HISTORY, HISTORY / max(expected, 1))
    planned = list(plans(setup, options, rng))
    rows = 0
    for start in range(0, len(planned), SUBJECTS_PER_BATCH):
        with transaction_scope(registry) as dbsession:
            writer = Writer(dbsession.connection(), setup, ticks)
            writer.start(dbsession)
            for plan in planned[start : start + SUBJECTS_PER_BATCH]:
                write_subject(writer, plan, codes, rng)
            rows += writer.flush(dbsession)
            finish_sites(dbsession, planned[: start + SUBJECTS_PER_BATCH])
        done = min(start + SUBJECTS_PER_BATCH, len(planned))
        print(
            f"  {done} subjects, {rows} rows, {time.perf_counter() - began:.0f} s",
            file=out,
            flush=True,
        )
    return setup


def finish_sites(dbsession: Session, planned: Sequence[Plan]) -> None:
    """Sites number their next subjects after the generated ones, as enrolment would."""
    counts: dict[int, int] = {}
    for plan in planned:
        counts[plan.site.id] = counts.get(plan.site.id, 0) + 1
    for site_id, count in counts.items():
        dbsession.execute(
            update(Site).where(Site.id == site_id).values(next_subject_number=count + 1)
        )


def analyse(registry: Any) -> None:
    """Fresh planner statistics for the tables just filled, as autovacuum would soon gather
    (without them PostgreSQL plans for the empty tables it last saw)."""
    engine = registry["db.engine"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "ANALYZE subject, visit_instance, form_instance, item_value, entry_warning,"
                " data_query, query_message, audit_event"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("-c", "--config", required=True, metavar="FILE.ini")
    parser.add_argument("--subjects", type=int, default=10000)
    parser.add_argument("--forms", type=int, default=20)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--sites", type=int, help="default: one per 50 subjects")
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--study", default="big")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    options = Options(
        subjects=args.subjects,
        forms=args.forms,
        items=args.items,
        sites=args.sites or max(1, args.subjects // 50),
        tenant=args.tenant,
        study=args.study,
        seed=args.seed,
    )
    env = load_environment(args.config)
    began = time.perf_counter()
    setup = generate(env.registry, options)
    generated = time.perf_counter() - began
    analyse(env.registry)
    with transaction_scope(env.registry) as dbsession:
        reports = list(audit.verify_all(dbsession, setup.tenant_id))
    verified = time.perf_counter() - began - generated
    broken = [report for report in reports if not report.intact]
    print(
        f"generated {options.subjects} subjects at {options.sites} sites in {generated:.0f} s; "
        f"audit chains {'intact' if not broken else 'BROKEN: ' + str(broken[0].problem)} "
        f"({sum(r.count for r in reports)} events, verified in {verified:.0f} s)"
    )
    env.registry["db.engine"].dispose()
    return 0 if not broken else 1


if __name__ == "__main__":
    sys.exit(main())
