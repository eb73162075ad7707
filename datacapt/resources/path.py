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

from collections.abc import Hashable
from typing import Any

from pyramid.events import ContextFound
from pyramid.request import Request
from pyramid.traversal import split_path_info
from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import Load, aliased
from sqlalchemy.orm.interfaces import LoaderOption

from datacapt.ecrf.casebook import parse_key
from datacapt.ecrf.versions import latest_published_id
from datacapt.models import FormInstance, Site, Study, StudyVersion, Subject, Tenant, VisitInstance

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
#: the statement does not load spares its description, row processing and population. One
#: still loads when read (a statement of its own), and a later query of the same row fills it.
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


def _deferred(entities: list[Any]) -> list[LoaderOption]:
    """The options deferring :data:`DEFERRED`'s columns of ``entities``: one per entity, not one
    per column, since SQLAlchemy adapts each option of a cached statement on every execution."""
    options: list[LoaderOption] = []
    for entity in entities:
        columns = [column for column in DEFERRED if column.class_ is entity]
        if columns:
            option = Load(entity)
            for column in columns:
                option = option.defer(column)
            options.append(option)
    return options


#: The statement for each depth of path (tenant; + study; + subject; + visit; + form), built
#: once: SQLAlchemy then neither rebuilds it nor recomputes its cache key per request.
_STATEMENTS: dict[int, Select[Any]] = {}


def _statement(depth: int) -> Select[Any]:
    """The statement loading a path ``depth`` levels deep, its keys as bound parameters."""
    found = _STATEMENTS.get(depth)
    if found is not None:
        return found
    columns: list[Any] = [Tenant]
    statement: Select[Any] = select(Tenant).where(Tenant.slug == bindparam("slug"))
    version = aliased(StudyVersion)
    if depth > 1:
        columns += [Study, version.id, version.number, version.content_hash]
        statement = statement.outerjoin(
            Study, and_(Study.tenant_id == Tenant.id, Study.code == bindparam("code"))
        ).outerjoin(version, version.id == latest_published_id(Study.id))
    if depth > 2:
        columns += [Subject, Site]
        statement = statement.outerjoin(
            Subject, and_(Subject.study_id == Study.id, Subject.label == bindparam("label"))
        ).outerjoin(Site, Site.id == Subject.site_id)
    if depth > 3:
        columns.append(VisitInstance)
        statement = statement.outerjoin(
            VisitInstance,
            and_(
                VisitInstance.subject_id == Subject.id,
                VisitInstance.visit == bindparam("visit"),
                VisitInstance.repeat == bindparam("visit_repeat"),
            ),
        )
    if depth > 4:
        columns.append(FormInstance)
        statement = statement.outerjoin(
            FormInstance,
            and_(
                FormInstance.visit_instance_id == VisitInstance.id,
                FormInstance.form == bindparam("form"),
                FormInstance.repeat == bindparam("form_repeat"),
            ),
        )
    entities = [column for column in columns if isinstance(column, type)]
    found = _STATEMENTS[depth] = statement.with_only_columns(*columns).options(*_deferred(entities))
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
    found = dbsession.execute(_statement(depth), parameters).first()
    rows: PathRows = {("tenant", slug): found[0] if found else None}
    if found is None or code is None:
        return rows
    tenant, study = found[0], found[1]
    rows["study", tenant.id, code] = study
    if study is None:
        return rows
    rows["published", study.id] = tuple(found[2:5]) if found[2] is not None else None
    if label is None:
        return rows
    subject, site = found[5], found[6]
    rows["subject", study.id, label] = (subject, site) if subject is not None else None
    if subject is None or visit_key is None:
        return rows
    visit = found[7]
    rows["visit", subject.id, *visit_key] = visit
    if visit is not None and form_key is not None:
        rows["form", visit.id, *form_key] = found[8]
    return rows
