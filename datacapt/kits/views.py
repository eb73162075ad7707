"""The product catalogue, a study's supply page, a site's kits and a subject's kits panel."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.kits import services
from datacapt.kits.lists import KitListRefused, read_kit_list
from datacapt.models import (
    AT_RANDOMISATION,
    Environment,
    Kit,
    KitState,
    KitType,
    Product,
    ProductType,
    RandomisationDesign,
    Shipment,
    ShipmentState,
    Site,
    SupplyLevel,
)
from datacapt.permissions import Permission
from datacapt.resources import (
    ProductResource,
    ProductsResource,
    SiteResource,
    SubjectResource,
    SupplyResource,
)

PRODUCTS = "kits/products.jinja2"
PRODUCT = "kits/product.jinja2"
SUPPLY = "kits/supply.jinja2"
SITE = "kits/site.jinja2"
PANEL = "kits/_subject.jinja2"
MAX_LIST_BYTES = 10 * 1024 * 1024
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
TYPE_LABELS = {
    ProductType.INVESTIGATIONAL: _("Investigational product"),
    ProductType.COMPARATOR: _("Comparator"),
    ProductType.PLACEBO: _("Placebo"),
    ProductType.COSMETIC: _("Tested cosmetic product"),
    ProductType.OTHER: _("Other"),
}
STATE_LABELS = {
    KitState.IN_TRANSFER: _("In transfer"),
    KitState.RECEIVED: _("Received"),
    KitState.AVAILABLE: _("Available"),
    KitState.ALLOCATED: _("Allocated"),
    KitState.INVALID: _("Invalid"),
}
#: The list a kit list goes to (as randomisation's test and production lists).
ENVIRONMENT_LABELS = {
    Environment.TEST: _("Test"),
    Environment.PRODUCTION: _("Production"),
}
SHIPMENT_LABELS = {
    ShipmentState.PROPOSED: _("Proposed"),
    ShipmentState.SHIPPED: _("Shipped"),
    ShipmentState.RECEIVED: _("Received"),
    ShipmentState.CANCELLED: _("Cancelled"),
}
RECEIPT_LABELS = {
    services.RECEIVED_OK: _("Received in good order"),
    services.MISSING: _("Missing"),
    services.DAMAGED: _("Damaged"),
}


def _text(request: Request, name: str, limit: int) -> str:
    return request.POST.get(name, "").strip()[:limit]


def _code(request: Request, errors: dict[str, Any], name: str = "code") -> str:
    code = _text(request, name, 41)
    if not CODE.match(code):
        errors[name] = _("Letters, digits, dots, dashes and underscores, 40 at most.")
    return code


def _required(request: Request, errors: dict[str, Any], name: str, limit: int = 200) -> str:
    value = _text(request, name, limit)
    if not value:
        errors[name] = _("This field is required.")
    return value


def _number(request: Request, errors: dict[str, Any], name: str) -> int:
    text = _text(request, name, 7)
    if not (text.isascii() and text.isdigit() and int(text) <= 100_000):
        errors[name] = _("Give a whole number from 0 to 100000.")
        return 0
    return int(text)


def _id(request: Request, name: str) -> int | None:
    text = request.POST.get(name, "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def _locked_kit(request: Request, where: Any) -> Kit:
    """The kit the form names, locked for the change, if ``where`` holds of it; else 404."""
    key = _id(request, "kit")
    kit = (
        request.dbsession.scalar(select(Kit).where(where, Kit.id == key).with_for_update())
        if key is not None
        else None
    )
    if kit is None:
        raise HTTPNotFound()
    return kit


def _refused(request: Request) -> None:
    request.response.status_int = 422


def _flash(request: Request, message: Any) -> None:
    request.session.flash(request.localizer.translate(message))


# --- the product catalogue --------------------------------------------------------------------


def _products(context: ProductsResource, request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "products": services.products(request.dbsession, context.tenant),
        "type_options": [
            (t.value, request.localizer.translate(TYPE_LABELS[t])) for t in ProductType
        ],
        "type_labels": TYPE_LABELS,
        "values": {},
        "errors": {},
        **extra,
    }


@page_view(ProductsResource, PRODUCTS, Permission.MANAGE_PRODUCTS)
def products_page(context: ProductsResource, request: Request) -> dict[str, Any]:
    return _products(context, request)


def _product_type(request: Request, errors: dict[str, Any]) -> ProductType:
    found = next((t for t in ProductType if t.value == request.POST.get("type")), None)
    if found is None:
        errors["type"] = _("Choose one of the options offered.")
        return ProductType.OTHER
    return found


@view_config(
    context=ProductsResource,
    name="add",
    request_method="POST",
    renderer=PRODUCTS,
    permission=Permission.MANAGE_PRODUCTS,
)
def add_product(context: ProductsResource, request: Request) -> Any:
    errors: dict[str, Any] = {}
    code = _code(request, errors)
    name = _required(request, errors, "name")
    kind = _product_type(request, errors)
    if not errors:
        try:
            services.add_product(request.dbsession, context.tenant, code, name, kind, request.actor)
        except services.Refused as refusal:
            errors["code"] = refusal.message
    if errors:
        _refused(request)
        return _products(context, request, errors=errors, values=dict(request.POST))
    _flash(request, _("The product was added."))
    return redirect(request, request.resource_path(context, code, ""))


def _product(context: ProductResource, request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "product": context.product,
        "batches": services.batches(request.dbsession, context.product),
        "type_options": [
            (t.value, request.localizer.translate(TYPE_LABELS[t])) for t in ProductType
        ],
        "values": {"name": context.product.name, "type": context.product.type.value},
        "batch_values": {},
        "errors": {},
        **extra,
    }


@page_view(ProductResource, PRODUCT, Permission.MANAGE_PRODUCTS)
def product_page(context: ProductResource, request: Request) -> dict[str, Any]:
    return _product(context, request)


@view_config(
    context=ProductResource,
    name="edit",
    request_method="POST",
    renderer=PRODUCT,
    permission=Permission.MANAGE_PRODUCTS,
)
def edit_product(context: ProductResource, request: Request) -> Any:
    errors: dict[str, Any] = {}
    name = _required(request, errors, "name")
    kind = _product_type(request, errors)
    if errors:
        _refused(request)
        return _product(context, request, errors=errors, values=dict(request.POST))
    services.edit_product(request.dbsession, context.product, name, kind, request.actor)
    _flash(request, _("The product was saved."))
    return redirect(request, request.resource_path(context, ""))


def _date(request: Request, errors: dict[str, Any], name: str) -> date | None:
    text = _text(request, name, 10)
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = _("Give a date like 2027-03-31.")
        return None


@view_config(
    context=ProductResource,
    name="add-batch",
    request_method="POST",
    renderer=PRODUCT,
    permission=Permission.MANAGE_PRODUCTS,
)
def add_batch(context: ProductResource, request: Request) -> Any:
    errors: dict[str, Any] = {}
    number = _required(request, errors, "batch", 61)
    if len(number) > 60:
        errors["batch"] = _("The batch is longer than 60.")
    expiry = _date(request, errors, "expiry")
    if not errors and expiry is not None:
        try:
            services.add_batch(request.dbsession, context.product, number, expiry, request.actor)
        except services.Refused as refusal:
            errors["batch"] = refusal.message
    if errors:
        _refused(request)
        return _product(context, request, errors=errors, batch_values=dict(request.POST))
    _flash(request, _("The batch was added."))
    return redirect(request, request.resource_path(context, ""))


# --- a study's supplies -----------------------------------------------------------------------


def _definition(context: Any) -> Any:
    design = context.study_node.design
    return design.definition if design else None


def _arms(request: Request, context: Any) -> list[str]:
    arms = request.dbsession.scalar(
        select(RandomisationDesign.arms).where(RandomisationDesign.study_id == context.study.id)
    )
    return [arm["code"] for arm in arms or []]


def _sites(request: Request, context: Any) -> list[Site]:
    return list(
        request.dbsession.scalars(
            select(Site).where(Site.study_id == context.study.id).order_by(Site.code)
        )
    )


def _period_options(request: Request, context: Any) -> list[tuple[str, str]]:
    return [
        (period, request.localizer.translate(_("At randomisation")))
        if period == AT_RANDOMISATION
        else (period, period)
        for period in services.periods(_definition(context))
    ]


def _supply(context: SupplyResource, request: Request, **extra: Any) -> dict[str, Any]:
    dbsession = request.dbsession
    study = context.study
    kinds = services.kit_types(dbsession, study)
    sites = _sites(request, context)
    list_environment = services.list_environment(dbsession, study)
    return {
        "kit_types": kinds,
        "kit_type_codes": {kind.id: kind.code for kind, _product in kinds},
        "catalogue": [
            (str(product.id), f"{product.code} — {product.name}")
            for product, _batches in services.products(dbsession, context.tenant)
        ],
        "mappings": services.mappings(dbsession, study),
        "arms": _arms(request, context),
        "period_options": _period_options(request, context),
        "sites": sites,
        "site_codes": {site.id: site.code for site in sites},
        "stock": [
            (site_id, kind_id, environment, counts)
            for (site_id, kind_id, environment), counts in sorted(
                services.depot_counts(dbsession, study).items(),
                key=lambda entry: (
                    entry[0][0] is not None,
                    entry[0][0] or 0,
                    entry[0][1],
                    entry[0][2] is not list_environment,
                ),
            )
        ],
        "environment_labels": ENVIRONMENT_LABELS,
        "kit_types_options": [(str(kind.id), kind.code) for kind, _product in kinds],
        "site_options": [(str(site.id), site.code) for site in sites],
        "shipment_labels": SHIPMENT_LABELS,
        "environment_options": [
            (environment.value, label) for environment, label in ENVIRONMENT_LABELS.items()
        ],
        "list_environment": list_environment.value,
        "counted_environment": list_environment,
        "levels": {
            (level.site_id, level.kit_type_id): level
            for level in dbsession.scalars(
                select(SupplyLevel).where(SupplyLevel.study_id == study.id)
            )
        },
        "shipments": services.shipments(dbsession, study),
        "state_labels": STATE_LABELS,
        "states": list(KitState),
        "errors": {},
        "line_errors": [],
        "values": {},
        **extra,
    }


@page_view(SupplyResource, SUPPLY, Permission.MANAGE_SUPPLY)
def supply_page(context: SupplyResource, request: Request) -> dict[str, Any]:
    return _supply(context, request)


def _post(name: str) -> view_config:
    return view_config(
        context=SupplyResource,
        name=name,
        request_method="POST",
        renderer=SUPPLY,
        permission=Permission.MANAGE_SUPPLY,
    )


def _supply_refused(context: SupplyResource, request: Request, **extra: Any) -> dict[str, Any]:
    _refused(request)
    return _supply(context, request, values=dict(request.POST), **extra)


def _kit_type(request: Request, context: Any, name: str = "kit_type") -> KitType | None:
    key = _id(request, name)
    if key is None:
        return None
    return request.dbsession.scalar(
        select(KitType).where(KitType.study_id == context.study.id, KitType.id == key)
    )


@_post("kit-type")
def add_kit_type(context: SupplyResource, request: Request) -> Any:
    errors: dict[str, Any] = {}
    code = _code(request, errors, "type_code")
    name = _required(request, errors, "type_name")
    key = _id(request, "product")
    product = (
        request.dbsession.scalar(
            select(Product).where(Product.tenant_id == context.tenant.id, Product.id == key)
        )
        if key is not None
        else None
    )
    if product is None:
        errors["product"] = _("Choose one of the options offered.")
    if not errors:
        try:
            services.add_kit_type(
                request.dbsession, context.study, code, name, product, request.actor
            )
        except services.Refused as refusal:
            errors["type_code"] = refusal.message
    if errors:
        return _supply_refused(context, request, errors=errors)
    _flash(request, _("The kit type was added."))
    return redirect(request, request.resource_path(context, ""))


@_post("map")
def map_kit_type(context: SupplyResource, request: Request) -> Any:
    errors: dict[str, Any] = {}
    kind = _kit_type(request, context, "map_kit_type")
    if kind is None:
        errors["map_kit_type"] = _("Choose one of the options offered.")
    arm = request.POST.get("arm", "")
    if arm not in _arms(request, context):
        errors["arm"] = _("Choose one of the options offered.")
    period = request.POST.get("period", "")
    if period not in services.periods(_definition(context)):
        errors["period"] = _("Choose one of the options offered.")
    if errors:
        return _supply_refused(context, request, errors=errors)
    services.map_kit_type(request.dbsession, context.study, kind, arm, period, request.actor)
    _flash(request, _("The kit type was mapped."))
    return redirect(request, request.resource_path(context, ""))


@_post("import")
def import_kits(context: SupplyResource, request: Request) -> Any:
    """A kit list from a CSV or XLSX file, whole or not at all."""
    sent = request.POST.get("file")
    if not hasattr(sent, "file"):
        return _supply_refused(context, request, errors={"file": _("Choose a CSV or XLSX file.")})
    data = sent.file.read(MAX_LIST_BYTES + 1)
    if len(data) > MAX_LIST_BYTES:
        return _supply_refused(
            context, request, errors={"file": _("The file is larger than 10 MB.")}
        )
    dbsession, study = request.dbsession, context.study
    try:
        environment = Environment(request.POST.get("environment", ""))
    except ValueError:
        return _supply_refused(
            context, request, errors={"environment": _("Choose one of the options offered.")}
        )
    try:
        rows = read_kit_list(
            data,
            sent.filename or "",
            types={kind.code for kind, _product in services.kit_types(dbsession, study)},
            sites={site.code for site in _sites(request, context)},
            existing=services.kit_numbers(dbsession, study),
            batch_expiry=services.batch_expiries(dbsession, study),
        )
    except KitListRefused as refused:
        return _supply_refused(
            context,
            request,
            errors={"file": _("The file was refused: nothing was imported.")},
            line_errors=refused.errors,
        )
    count = services.import_kits(dbsession, study, rows, environment, request.actor)
    _flash(request, _("${count} kits were imported.", mapping={"count": count}))
    return redirect(request, request.resource_path(context, ""))


def _site(request: Request, context: Any, name: str = "site") -> Site | None:
    key = _id(request, name)
    if key is None:
        return None
    return request.dbsession.scalar(
        select(Site).where(Site.study_id == context.study.id, Site.id == key)
    )


@_post("new-shipment")
def new_shipment(context: SupplyResource, request: Request) -> Any:
    errors: dict[str, Any] = {}
    site = _site(request, context, "shipment_site")
    if site is None:
        errors["shipment_site"] = _("Choose one of the options offered.")
    kind = _kit_type(request, context, "shipment_kit_type")
    if kind is None:
        errors["shipment_kit_type"] = _("Choose one of the options offered.")
    count = _number(request, errors, "shipment_count")
    if not errors and count == 0:
        errors["shipment_count"] = _("Give a whole number from 1 to 100000.")
    try:
        environment = Environment(request.POST.get("shipment_environment", ""))
    except ValueError:
        errors["shipment_environment"] = _("Choose one of the options offered.")
    if not errors:
        try:
            services.create_shipment(
                request.dbsession,
                context.study,
                site,
                {kind: count},
                request.actor,
                environment=environment,
            )
        except services.Refused as refusal:
            errors["shipment_count"] = refusal.message
    if errors:
        return _supply_refused(context, request, errors=errors)
    _flash(request, _("The shipment was prepared: its kits are set aside."))
    return redirect(request, request.resource_path(context, ""))


def _shipment(request: Request, context: Any) -> Shipment:
    key = _id(request, "shipment")
    found = (
        request.dbsession.scalar(
            select(Shipment)
            .where(Shipment.study_id == context.study.id, Shipment.id == key)
            .with_for_update()
        )
        if key is not None
        else None
    )
    if found is None:
        raise HTTPNotFound()
    return found


def _shipment_act(
    context: SupplyResource,
    request: Request,
    act: Callable[[Session, Shipment, Actor], None],
    done: TranslationString,
) -> Any:
    """Send or cancel the shipment named by the form: its refusal beside it, else back."""
    shipment = _shipment(request, context)
    try:
        act(request.dbsession, shipment, request.actor)
    except services.Refused as refusal:
        return _supply_refused(
            context, request, errors={f"shipment-{shipment.id}": refusal.message}
        )
    _flash(request, done)
    return redirect(request, request.resource_path(context, ""))


@_post("ship")
def ship(context: SupplyResource, request: Request) -> Any:
    return _shipment_act(context, request, services.ship, _("The shipment was sent."))


@_post("cancel-shipment")
def cancel_shipment(context: SupplyResource, request: Request) -> Any:
    return _shipment_act(context, request, services.cancel, _("The shipment was cancelled."))


@_post("level")
def set_level(context: SupplyResource, request: Request) -> Any:
    errors: dict[str, Any] = {}
    site = _site(request, context, "level_site")
    kind = _kit_type(request, context, "level_kit_type")
    if site is None:
        errors["level_site"] = _("Choose one of the options offered.")
    if kind is None:
        errors["level_kit_type"] = _("Choose one of the options offered.")
    minimum = _number(request, errors, "minimum")
    maximum = _number(request, errors, "maximum")
    if not errors:
        try:
            services.set_level(request.dbsession, site, kind, minimum, maximum, request.actor)
        except services.Refused as refusal:
            errors["maximum"] = refusal.message
    if errors:
        return _supply_refused(context, request, errors=errors)
    _flash(request, _("The resupply level was saved."))
    return redirect(request, request.resource_path(context, ""))


@_post("invalidate")
def invalidate_depot_kit(context: SupplyResource, request: Request) -> Any:
    """Set a kit of the study aside (expired, damaged), by its number, with a reason."""
    errors: dict[str, Any] = {}
    number = _text(request, "kit", 40)
    reason = _required(request, errors, "invalid_reason", 2000)
    kit = request.dbsession.scalar(
        select(Kit)
        .where(Kit.study_id == context.study.id, Kit.number == number, Kit.site_id.is_(None))
        .with_for_update()
    )
    if kit is None:
        errors["kit"] = _("No kit with this number is at the depot.")
    if not errors:
        try:
            services.invalidate(request.dbsession, kit, reason, request.actor)
        except services.Refused as refusal:
            errors["kit"] = refusal.message
    if errors:
        return _supply_refused(context, request, errors=errors)
    _flash(request, _("The kit was set aside as invalid."))
    return redirect(request, request.resource_path(context, ""))


# --- a site's kits ----------------------------------------------------------------------------


def _site_page(context: SiteResource, request: Request, **extra: Any) -> dict[str, Any]:
    dbsession = request.dbsession
    return {
        "stock": services.site_stock(dbsession, context.study, context.site),
        "kits": services.site_kits(dbsession, context.site),
        "incoming": services.incoming(dbsession, context.site),
        "incoming_kits": services.incoming_kits(dbsession, context.site),
        "environment_labels": ENVIRONMENT_LABELS,
        "test": Environment.TEST,
        "state_labels": STATE_LABELS,
        "states": list(KitState),
        "available": KitState.AVAILABLE,
        "receipt_options": [
            (value, request.localizer.translate(label)) for value, label in RECEIPT_LABELS.items()
        ],
        "errors": {},
        **extra,
    }


@page_view(SiteResource, SITE, Permission.HANDLE_KITS, name="kits")
def site_kits_page(context: SiteResource, request: Request) -> dict[str, Any]:
    """The site's inventory: kits by type and state against its resupply levels, the
    shipments on their way (to receive), and its kits one by one."""
    return _site_page(context, request)


@view_config(
    context=SiteResource,
    name="receive",
    request_method="POST",
    renderer=SITE,
    permission=Permission.HANDLE_KITS,
)
def receive(context: SiteResource, request: Request) -> Any:
    key = _id(request, "shipment")
    shipment = (
        request.dbsession.scalar(
            select(Shipment)
            .where(Shipment.site_id == context.site.id, Shipment.id == key)
            .with_for_update()
        )
        if key is not None
        else None
    )
    if shipment is None:
        raise HTTPNotFound()
    outcomes: dict[int, str] = {}
    errors: dict[str, Any] = {}
    for kit, _kind in services.shipment_kits(request.dbsession, shipment):
        outcome = request.POST.get(f"kit-{kit.id}", services.RECEIVED_OK)
        if outcome not in services.RECEIPT_OUTCOMES:
            errors[f"kit-{kit.id}"] = _("Choose one of the options offered.")
        outcomes[kit.id] = outcome
    note = _text(request, "note", 2000)
    if any(outcome != services.RECEIVED_OK for outcome in outcomes.values()) and not note:
        errors[f"note-{shipment.id}"] = _("Say what happened to the missing or damaged kits.")
    if not errors:
        try:
            good, bad = services.receive(request.dbsession, shipment, outcomes, note, request.actor)
        except services.Refused as refusal:
            errors[f"note-{shipment.id}"] = refusal.message
    if errors:
        _refused(request)
        return _site_page(context, request, errors=errors)
    _flash(
        request,
        _(
            "Shipment received: ${good} kits available, ${bad} invalid.",
            mapping={"good": good, "bad": bad},
        ),
    )
    return redirect(request, request.resource_path(context, "@@kits"))


@view_config(
    context=SiteResource,
    name="invalidate-kit",
    request_method="POST",
    renderer=SITE,
    permission=Permission.HANDLE_KITS,
)
def invalidate_site_kit(context: SiteResource, request: Request) -> Any:
    kit = _locked_kit(request, Kit.site_id == context.site.id)
    errors: dict[str, Any] = {}
    reason = _text(request, "reason", 2000)
    if not reason:
        errors[f"reason-{kit.id}"] = _("Give the reason.")
    else:
        try:
            services.invalidate(request.dbsession, kit, reason, request.actor)
        except services.Refused as refusal:
            errors[f"reason-{kit.id}"] = refusal.message
    if errors:
        _refused(request)
        return _site_page(context, request, errors=errors)
    _flash(request, _("The kit was set aside as invalid."))
    return redirect(request, request.resource_path(context, "@@kits"))


# --- a subject's kits -------------------------------------------------------------------------


def _panel(context: SubjectResource, request: Request, **extra: Any) -> dict[str, Any]:
    """The subject's kits; with ``visit`` (a period, from a visit's page) only that period's."""
    dbsession = request.dbsession
    arm, blinded = services.subject_arm(dbsession, context.subject)
    options = _period_options(request, context)
    scope = request.params.get("visit")
    if scope not in dict(options):
        scope = None
    kits = [
        (kit, kind)
        for kit, kind in services.allocated(dbsession, context.subject)
        if scope is None or kit.period == scope
    ]
    given = {kit.period for kit, _kind in kits}
    mapped = services.mapped_periods(dbsession, context.study)
    return {
        "kits": kits,
        "scope": scope,
        "randomised": arm is not None,
        "sees_type": not blinded or request.has_permission(Permission.VIEW_ALLOCATION, context),
        "open_periods": [
            (period, label)
            for period, label in options
            if period in mapped and period not in given and (scope is None or period == scope)
        ],
        "period_labels": dict(options),
        "errors": {},
        "refusal": None,
        "announced": None,
        **extra,
    }


@page_view(SubjectResource, PANEL, Permission.VIEW_SUBJECT, name="kits")
def subject_panel(context: SubjectResource, request: Request) -> dict[str, Any]:
    """The subject's kits (number, period; the type only to whom may see arms), and the
    "allocate kit" action."""
    return _panel(context, request)


def _panel_answer(context: SubjectResource, request: Request, message: Any, **extra: Any) -> Any:
    if not request.is_htmx:
        _flash(request, message)
        return redirect(request, request.resource_path(context, ""))
    return _panel(context, request, **extra)


@view_config(
    context=SubjectResource,
    name="allocate-kit",
    request_method="POST",
    renderer=PANEL,
    permission=Permission.ALLOCATE_KIT,
)
def allocate_kit(context: SubjectResource, request: Request) -> Any:
    period = request.POST.get("period", "")
    try:
        kit, _made = services.allocate(
            request.dbsession,
            context.study,
            _definition(context),
            context.subject,
            period,
            request.actor,
        )
    except services.Refused as refusal:
        _refused(request)
        return _panel(context, request, refusal=refusal.message)
    message = _("Kit ${number} was allocated.", mapping={"number": kit.number})
    return _panel_answer(context, request, message, announced=message)


@view_config(
    context=SubjectResource,
    name="return-kit",
    request_method="POST",
    renderer=PANEL,
    permission=Permission.ALLOCATE_KIT,
)
def return_kit(context: SubjectResource, request: Request) -> Any:
    """Take a kit back from the subject, with a reason: to the site's stock, or invalid."""
    kit = _locked_kit(request, Kit.subject_id == context.subject.id)
    outcome = {"available": KitState.AVAILABLE, "invalid": KitState.INVALID}.get(
        request.POST.get("outcome", "")
    )
    reason = _text(request, "reason", 2000)
    errors: dict[str, Any] = {}
    if outcome is None:
        errors[f"outcome-{kit.id}"] = _("Choose one of the options offered.")
    if not reason:
        errors[f"reason-{kit.id}"] = _("Give the reason.")
    if not errors:
        try:
            services.take_back(
                request.dbsession, kit, context.subject, outcome, reason, request.actor
            )
        except services.Refused as refusal:
            errors[f"reason-{kit.id}"] = refusal.message
    if errors:
        _refused(request)
        return _panel(context, request, errors=errors)
    message = _("Kit ${number} was taken back.", mapping={"number": kit.number})
    return _panel_answer(context, request, message, announced=message)
