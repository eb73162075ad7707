"""The rows of a request's path in one query, as Kotti's traverser loads a path.

Traversal asks each node for its child, which would cost one round trip per level (tenant, study,
subject, its published design, visit, form). Before the first step, the whole path of the request
is loaded in one statement that joins each level *through its parent's id*, exactly as the nodes
would; each node then takes its child from these rows, keyed by its own id and the child's key,
so a key from another tenant, study or subject is still not found. What the statement did not
load (other paths, nodes built after traversal) is queried by the node as before: the rows serve
the router's traversal only and are dropped once the context is found.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from pyramid.events import ContextFound
from pyramid.request import Request
from pyramid.traversal import split_path_info
from sqlalchemy import Select, and_, bindparam, inspect, select
from sqlalchemy.orm import Mapper, Session, aliased, make_transient_to_detached

from datacapt.ecrf.casebook import parse_key
from datacapt.ecrf.versions import latest_published_id
from datacapt.models import FormInstance, Site, Study, StudyVersion, Subject, Tenant, VisitInstance
from datacapt.plain_rows import plain_rows

#: A level the path did not load: the node queries it itself.
UNKNOWN: Any = object()
ATTRIBUTE = "_datacapt_path_rows"

PathRows = dict[tuple[Hashable, ...], Any]


def known(request: Request, *key: Hashable) -> Any:
    """The row the path loaded for ``key`` (None: not there), or UNKNOWN."""
    rows = request.__dict__.get(ATTRIBUTE)
    if rows is None:
        return UNKNOWN
    return rows.get(key, UNKNOWN)


def load_path(request: Request, reserved: frozenset[str]) -> None:
    """Load the rows the request's path names, once, before its first traversal step."""
    if ATTRIBUTE in request.__dict__:
        return
    segments = [s for s in split_path_info(request.path_info) if s]
    names = segments[: next((i for i, s in enumerate(segments) if s.startswith("@@")), None)]
    rows: PathRows = {}
    if names and names[0] not in reserved:
        rows = _query(request.dbsession, names)
    request.__dict__[ATTRIBUTE] = rows


def forget_path(event: ContextFound) -> None:
    """Views that traverse again query the database, not rows read before they wrote (and do
    not load the request's path a second time)."""
    event.request.__dict__[ATTRIBUTE] = {}


#: Columns of the path's entities that the resources, the security policy and the hot pages
#: (form page and save, visit page, casebook, subject page, dashboard) do not read: each one
#: the statement does not select spares its reading and conversion. They are left expired:
#: reading one loads its entity's in one statement, and a later query of the same row fills them.
DEFERRED: tuple[Any, ...] = (
    Tenant.created_at,
    Tenant.two_factor_required,
    Study.created_at,
    Study.epro_accounts,
    Study.subject_messages,
    Study.subject_id_pattern,
    Study.visit_window_blocking,
    Study.languages,
    Subject.created_by_id,
    Subject.signed,
    Site.country,
    Site.next_subject_number,
    Site.target_enrolment,
    Site.created_at,
    VisitInstance.created_at,
    VisitInstance.created_by_id,
    VisitInstance.visit_date,
    FormInstance.created_at,
    FormInstance.reviewed_at,
    FormInstance.reviewed_by_id,
    FormInstance.updated_by_id,
    FormInstance.status_reason,
    FormInstance.version_number,
    FormInstance.visit,
    FormInstance.visit_repeat,
)


@dataclass(frozen=True)
class _Entity:
    """One entity of the path's statement: its mapper and the attributes its columns fill, in
    the statement's order, starting at ``start`` (its primary key first)."""

    mapper: Mapper[Any]
    attributes: tuple[str, ...]
    start: int

    def instance(self, dbsession: Session, row: Sequence[Any]) -> Any:
        """The entity of ``row``: the session's own if it holds it already, else one made
        persistent from the row's values as a query would (its unloaded columns load when
        read, as deferred ones do); None where the outer join found nothing."""
        values = row[self.start : self.start + len(self.attributes)]
        if values[0] is None:
            return None
        key = self.mapper.identity_key_from_primary_key((values[0],))
        found = dbsession.identity_map.get(key)
        if found is not None:
            return found
        instance = self.mapper.class_manager.new_instance()
        instance.__dict__.update(zip(self.attributes, values, strict=True))
        make_transient_to_detached(instance)
        dbsession.add(instance)
        return instance


def _entity(entity: type, columns: list[Any]) -> _Entity:
    """Select ``entity``'s columns but :data:`DEFERRED`'s, appended to ``columns``."""
    mapper = inspect(entity)
    deferred = {column.key for column in DEFERRED if column.class_ is entity}
    (key,) = mapper.primary_key
    properties = [mapper.get_property_by_column(key)] + [
        p for p in mapper.column_attrs if p.key not in deferred and p.columns[0] is not key
    ]
    found = _Entity(mapper, tuple(p.key for p in properties), len(columns))
    columns.extend(getattr(entity, p.key) for p in properties)
    return found


@dataclass(frozen=True)
class _Statement:
    select: Select[Any]
    entities: dict[type, _Entity]
    version: int  # the first of the published version's three columns


#: The statement for each depth of path (tenant; + study; + subject; + visit; + form), built
#: once and read as plain rows: SQLAlchemy's ORM neither rebuilds it nor sets up its loading
#: per request (which cost as much as the rest of the traversal).
_STATEMENTS: dict[int, _Statement] = {}


def _statement(depth: int) -> _Statement:
    """The statement loading a path ``depth`` levels deep, its keys as bound parameters."""
    found = _STATEMENTS.get(depth)
    if found is not None:
        return found
    columns: list[Any] = []
    entities = {Tenant: _entity(Tenant, columns)}
    statement: Select[Any] = select(Tenant.id).where(Tenant.slug == bindparam("slug"))
    version = aliased(StudyVersion)
    first = 0
    if depth > 1:
        entities[Study] = _entity(Study, columns)
        first = len(columns)
        columns += [version.id, version.number, version.content_hash]
        statement = statement.outerjoin(
            Study, and_(Study.tenant_id == Tenant.id, Study.code == bindparam("code"))
        ).outerjoin(version, version.id == latest_published_id(Study.id))
    if depth > 2:
        entities[Subject] = _entity(Subject, columns)
        entities[Site] = _entity(Site, columns)
        statement = statement.outerjoin(
            Subject, and_(Subject.study_id == Study.id, Subject.label == bindparam("label"))
        ).outerjoin(Site, Site.id == Subject.site_id)
    if depth > 3:
        entities[VisitInstance] = _entity(VisitInstance, columns)
        statement = statement.outerjoin(
            VisitInstance,
            and_(
                VisitInstance.subject_id == Subject.id,
                VisitInstance.visit == bindparam("visit"),
                VisitInstance.repeat == bindparam("visit_repeat"),
            ),
        )
    if depth > 4:
        entities[FormInstance] = _entity(FormInstance, columns)
        statement = statement.outerjoin(
            FormInstance,
            and_(
                FormInstance.visit_instance_id == VisitInstance.id,
                FormInstance.form == bindparam("form"),
                FormInstance.repeat == bindparam("form_repeat"),
            ),
        )
    found = _STATEMENTS[depth] = _Statement(statement.with_only_columns(*columns), entities, first)
    return found


def _query(dbsession: Any, names: list[str]) -> PathRows:
    """One statement: tenant → study (→ its latest published version) → subject and site →
    visit → form, each joined through its parent's id and the key the path gives it."""
    slug = names[0]
    code = names[1] if len(names) > 1 else None
    label = names[3] if len(names) > 3 and names[2] == "subjects" else None
    visit_key = parse_key(names[4]) if label is not None and len(names) > 4 else None
    form_key = parse_key(names[5]) if visit_key is not None and len(names) > 5 else None
    keys = {"slug": slug, "code": code, "label": label}
    if visit_key is not None:
        keys["visit"], keys["visit_repeat"] = visit_key
    if form_key is not None:
        keys["form"], keys["form_repeat"] = form_key
    depth = 1 + sum(key is not None for key in (code, label, visit_key, form_key))
    parameters = {name: value for name, value in keys.items() if value is not None}
    path = _statement(depth)
    found = next(iter(plain_rows(dbsession, path.select, parameters)), None)

    def entity(kind: type) -> Any:
        return path.entities[kind].instance(dbsession, found)

    tenant = entity(Tenant) if found is not None else None
    rows: PathRows = {("tenant", slug): tenant}
    if tenant is None or code is None:
        return rows
    study = entity(Study)
    rows["study", tenant.id, code] = study
    if study is None:
        return rows
    published = tuple(found[path.version : path.version + 3])
    rows["published", study.id] = published if published[0] is not None else None
    if label is None:
        return rows
    subject = entity(Subject)
    rows["subject", study.id, label] = (subject, entity(Site)) if subject is not None else None
    if subject is None or visit_key is None:
        return rows
    visit = entity(VisitInstance)
    rows["visit", subject.id, *visit_key] = visit
    if visit is not None and form_key is not None:
        rows["form", visit.id, *form_key] = entity(FormInstance)
    return rows
