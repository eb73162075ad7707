"""The audit trail pages: a study's (``VIEW_AUDIT_TRAIL``) and a tenant's (``MANAGE_TENANT``).

Site-restricted holders never get here: ``VIEW_AUDIT_TRAIL`` is a study-scope permission, which
the permission table grants to unrestricted holders only, because a study's trail also holds
study-wide events (design, settings) and every site's data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt import audit
from datacapt.audit_trail import services
from datacapt.audit_trail.forms import parse_filters
from datacapt.audit_trail.services import Scope
from datacapt.htmx import page_view
from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources import StudyResource, TenantResource
from datacapt.validation import whole_number

TEMPLATE = "audit_trail/trail.jinja2"


class Trail:
    """What both pages share: the scope, the parsed filters, the query they make."""

    def __init__(self, context: StudyResource | TenantResource, request: Request) -> None:
        self.context, self.request = context, request
        dbsession = request.dbsession
        tenant = context.tenant
        self.study = getattr(context, "study", None)
        self.scope = Scope(
            tenant_id=tenant.id,
            study_id=self.study.id if self.study is not None else None,
            mask_clinical=self.study is None,
            personal_keys=request.registry
            if self.study is not None and request.has_permission(Permission.VIEW_PII, context)
            else None,
        )
        self.studies = (
            [] if self.study is not None else services.study_choices(dbsession, tenant.id)
        )
        choosable = None if self.study is not None else frozenset(i for i, _code in self.studies)
        self.filters, self.errors = parse_filters(request.GET, request.timezone, choosable)
        subject_id = None
        if self.filters.subject_label and self.study is not None:
            subject_id = services.find_subject_id(
                dbsession, self.study.id, self.filters.subject_label
            )
            if subject_id is None:
                self.errors["subject"] = _("No subject with this ID in this study.")
        self.query = services.statement(self.scope, self.filters, subject_id)

    def page(self) -> dict[str, Any]:
        request = self.request
        if self.errors:
            request.response.status_int = 422
            trail = services.TrailPage([], None, None)
        else:
            trail = services.page(
                request.dbsession,
                self.query,
                self.scope,
                before=whole_number(request.GET.get("before")),
                after=whole_number(request.GET.get("after")),
            )
        if self.scope.personal_keys is not None and any(e.personal for e in trail.entries):
            self._record_shown(sum(e.personal for e in trail.entries))
        return {
            "trail": trail,
            "hidden": services.PERSONAL_HIDDEN,
            "filters": self.filters,
            "errors": self.errors,
            "actors": self._actors(),
            "studies": [(str(study_id), code) for study_id, code in self.studies],
            "masked": self.scope.mask_clinical,
            "query": {name: value for name, value in self.filters.values.items() if value},
        }

    def _record_shown(self, count: int) -> None:
        """Every showing of personal data is recorded (how many events, never the values)."""
        audit.record(
            self.request.dbsession,
            self.request.actor,
            tenant_id=self.scope.tenant_id,
            study_id=self.scope.study_id,
            action="audit.personal_data_shown",
            entity_type="audit_trail",
            entity_id=self.scope.study_id,
            new=str(count),
        )

    def _actors(self) -> list[tuple[str, str]]:
        """The people to choose from, as (value, label); one chosen from elsewhere stays."""
        choices = [
            (str(user_id), name)
            for user_id, name in services.actor_choices(
                self.request.dbsession, self.context.tenant.id, self.scope.study_id
            )
        ]
        chosen = self.filters.actor_id
        if chosen is not None and str(chosen) not in dict(choices):
            choices.append(
                (
                    str(chosen),
                    self.request.localizer.translate(_("user #${id}", mapping={"id": chosen})),
                )
            )
        return choices

    def export(self) -> Response:
        """Record the export first: the events before it are exactly what the file holds."""
        request = self.request
        if self.errors:
            request.response.status_int = 422
            return self.page()  # type: ignore[return-value]
        event = audit.record(
            request.dbsession,
            request.actor,
            tenant_id=self.scope.tenant_id,
            study_id=self.scope.study_id,
            action="audit.export",
            entity_type="audit_trail",
            entity_id=self.scope.study_id or self.scope.tenant_id,
            new=self.filters.described() or None,
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = "-".join(
            [self.context.tenant.slug, *([self.study.code] if self.study else []), "audit", stamp]
        )
        response = Response(
            content_type="text/csv",
            charset="utf-8",
            app_iter=services.export_csv(
                request.registry, self.query, self.scope, event.id - 1, request.timezone
            ),
        )
        response.content_disposition = f'attachment; filename="{name}.csv"'
        response.cache_control = "no-store"
        return response


@page_view(StudyResource, TEMPLATE, Permission.VIEW_AUDIT_TRAIL, name="audit")
def study_trail(context: StudyResource, request: Request) -> dict[str, Any]:
    return Trail(context, request).page()


@page_view(TenantResource, TEMPLATE, Permission.MANAGE_TENANT, name="audit")
def tenant_trail(context: TenantResource, request: Request) -> dict[str, Any]:
    return Trail(context, request).page()


@view_config(
    context=StudyResource,
    name="audit-export",
    request_method="GET",
    renderer=TEMPLATE,
    permission=Permission.VIEW_AUDIT_TRAIL,
)
def study_export(context: StudyResource, request: Request) -> Any:
    return Trail(context, request).export()


@view_config(
    context=TenantResource,
    name="audit-export",
    request_method="GET",
    renderer=TEMPLATE,
    permission=Permission.MANAGE_TENANT,
)
def tenant_export(context: TenantResource, request: Request) -> Any:
    return Trail(context, request).export()
