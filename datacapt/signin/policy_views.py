"""A tenant's sign-in policy: whether its members must use two-factor authentication."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from datacapt import audit
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources import TenantResource

SECURITY = "accounts/tenant_security.jinja2"


@page_view(TenantResource, SECURITY, Permission.MANAGE_TENANT, name="security")
def security_page(context: TenantResource, request: Request) -> dict[str, Any]:
    return {"required": context.tenant.two_factor_required}


@view_config(
    context=TenantResource,
    name="security",
    request_method="POST",
    permission=Permission.MANAGE_TENANT,
)
def save_security(context: TenantResource, request: Request) -> Any:
    tenant = context.tenant
    required = request.POST.get("two_factor_required") == "yes"
    if required != tenant.two_factor_required:
        audit.record(
            request.dbsession,
            request.actor,
            tenant_id=tenant.id,
            action="tenant.changed",
            entity_type="tenant",
            entity_id=tenant.id,
            field="two_factor_required",
            old=tenant.two_factor_required,
            new=required,
        )
        tenant.two_factor_required = required
    request.session.flash(request.localizer.translate(_("The sign-in policy was saved.")))
    return redirect(request, request.resource_url(context, "@@security"))
