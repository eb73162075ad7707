"""The study's randomisation page, and the randomisation panel of a subject's casebook."""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from datacapt.ecrf.definition import Definition
from datacapt.exports.cells import text_cells
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import (
    Environment,
    Randomisation,
    RandomisationDesign,
    RandomisationMethod,
    Site,
    Subject,
)
from datacapt.permissions import Permission
from datacapt.randomisation import forms, services
from datacapt.randomisation.lists import ListRefused, read_list
from datacapt.randomisation.methods import DesignError
from datacapt.randomisation.minimisation import MEASURES
from datacapt.randomisation.simulation import METHODS, Scenario, simulate
from datacapt.reactions import reactions_of
from datacapt.resources import RandomisationResource, SubjectResource
from datacapt.review.credentials import check_signing_credentials, two_factor_enrolled

PAGE = "randomisation/page.jinja2"
PANEL = "randomisation/_subject.jinja2"
MAX_LIST_BYTES = 10 * 1024 * 1024
#: Simulations run in the request: subjects × trials at most (about a second on one core).
MAX_SIMULATED = 50_000
METHOD_LABELS = {
    RandomisationMethod.SIMPLE: _("Simple (a list drawn subject by subject)"),
    RandomisationMethod.BLOCKS: _("Permuted blocks"),
    RandomisationMethod.STRATIFIED: _("Stratified permuted blocks (one list per stratum)"),
    RandomisationMethod.EFRON: _("Efron's biased coin"),
    RandomisationMethod.MINIMISATION: _("Minimisation (Pocock–Simon)"),
    RandomisationMethod.LATIN_SQUARE: _("Split-body: products to zones by Latin squares"),
    RandomisationMethod.PERMUTATIONS: _("Split-body: products to zones, every order per block"),
}
MEASURE_LABELS = {
    "range": _("Range"),
    "variance": _("Variance"),
    "sd": _("Standard deviation"),
    "max": _("Largest distance from the mean"),
}
ENVIRONMENT_LABELS = {
    Environment.TEST: _("Test"),
    Environment.PRODUCTION: _("Production"),
}


def _definition(context: Any) -> Definition | None:
    design = context.study_node.design
    return design.definition if design else None


def _sites(request: Request, context: Any) -> list[Site]:
    return list(
        request.dbsession.scalars(
            select(Site).where(Site.study_id == context.study.id).order_by(Site.code)
        )
    )


def _key(request: Request) -> str | None:
    """The randomisation asked for (``design`` in the query or the form), None: the first."""
    key = request.params.get("design", "")
    return key if forms.KEY.fullmatch(key) else None


def _form_values(design: Any, first: bool = True) -> dict[str, Any]:
    if design is None:
        return {
            "key": "main" if first else "",
            "name": "",
            "zones": "L Left\nR Right",
            "method": "blocks",
            "arms": "A\nB",
            "ratio": "1:1",
            "block_sizes": "4",
            "list_length": "100",
            "blinded": "on",
            "p": "0.8",
            "measure": "range",
            "weights": "",
            "items": [],
        }
    return {
        "method": design.method.value,
        "arms": "\n".join(f"{arm['code']} {arm['label']}" for arm in design.arms),
        "ratio": ":".join(str(arm["ratio"]) for arm in design.arms),
        "block_sizes": ",".join(map(str, design.block_sizes)),
        "by_site": "on" if design.by_site else "",
        "items": list(design.items),
        "weights": ",".join(f"{w:g}" for w in design.weights),
        "measure": design.measure,
        "p": f"{design.p:g}",
        "list_length": str(design.list_length),
        "blinded": "on" if design.blinded else "",
        "key": design.key,
        "name": design.name,
        "zones": "\n".join(f"{zone['code']} {zone['label']}" for zone in design.zones or []),
    }


def _page(context: RandomisationResource, request: Request, **extra: Any) -> dict[str, Any]:
    dbsession = request.dbsession
    designs = services.designs_of(dbsession, context.study)
    key = _key(request)
    if "new" in request.GET:
        design = None
    else:
        design = next((d for d in designs if d.key == key), designs[0] if designs else None)
    definition = _definition(context)
    values = extra.pop("values", None) or _form_values(design, first=not designs)
    return {
        "designs": designs,
        "design": design,
        "arm_labels": {arm["code"]: arm["label"] for arm in design.arms} if design else {},
        "summary": services.list_summary(dbsession, design) if design else {},
        "randomisations": services.randomisations(dbsession, context.study, design)
        if design
        else [],
        "strata": services.strata(design, _sites(request, context), definition)
        if design and definition
        else [],
        "items": forms.stratification_items(definition),
        "definition": definition,
        "values": values,
        "errors": {},
        "line_errors": [],
        "method_options": [
            (method.value, request.localizer.translate(label))
            for method, label in METHOD_LABELS.items()
        ],
        "measure_options": [
            (measure, request.localizer.translate(MEASURE_LABELS[measure])) for measure in MEASURES
        ],
        "environment_labels": ENVIRONMENT_LABELS,
        "results": [],
        "simulated": {},
        **extra,
    }


def _refused(context: RandomisationResource, request: Request, **extra: Any) -> dict[str, Any]:
    request.response.status_int = 422
    return _page(context, request, **extra)


@page_view(RandomisationResource, PAGE, Permission.MANAGE_RANDOMISATION)
def randomisation_page(context: RandomisationResource, request: Request) -> dict[str, Any]:
    return _page(context, request)


def _post(name: str) -> view_config:
    return view_config(
        context=RandomisationResource,
        name=name,
        request_method="POST",
        renderer=PAGE,
        permission=Permission.MANAGE_RANDOMISATION,
    )


@_post("design")
def save_design(context: RandomisationResource, request: Request) -> Any:
    given, errors = forms.parse_design(
        request.POST, _definition(context), request.POST.getall("items")
    )
    values = dict(request.POST) | {"items": request.POST.getall("items")}
    if (
        given is not None
        and request.POST.get("new") == "1"
        and services.design_of(request.dbsession, context.study, key=given.key) is not None
    ):
        errors = {"key": _("Another randomisation of the study has this code.")}
        given = None
    if given is not None:
        try:
            services.save_design(request.dbsession, context.study, given, request.actor)
        except services.Refused as refusal:
            errors = {"method": refusal.message}
    if errors:
        return _refused(context, request, errors=errors, values=values)
    request.session.flash(request.localizer.translate(_("The randomisation design was saved.")))
    return redirect(request, _back(context, request, given.key))


def _back(context: RandomisationResource, request: Request, key: str) -> str:
    return request.resource_path(context, "", query={"design": key})


def _design(context: RandomisationResource, request: Request) -> Any:
    design = services.design_of(request.dbsession, context.study, key=_key(request), lock=True)
    if design is None:
        raise HTTPNotFound()
    return design


@_post("generate")
def generate(context: RandomisationResource, request: Request) -> Any:
    design = _design(context, request)
    definition = _definition(context)
    if definition is None and design.items:
        return _refused(context, request, errors={"generate": _("Publish the eCRF first.")})
    try:
        added = services.generate_lists(
            request.dbsession, design, _sites(request, context), definition, request.actor
        )
    except services.Refused as refusal:
        return _refused(context, request, errors={"generate": refusal.message})
    request.session.flash(
        request.localizer.translate(
            _("${count} places were added to the lists.", mapping={"count": added})
        )
    )
    return redirect(request, _back(context, request, design.key))


@_post("import")
def import_list(context: RandomisationResource, request: Request) -> Any:
    """A list from a CSV or XLSX file, replacing the environment's list, whole or not at all."""
    design = _design(context, request)
    environment = next((e for e in Environment if e.value == request.POST.get("environment")), None)
    sent = request.POST.get("file")
    errors: dict[str, Any] = {}
    if environment is None:
        errors["environment"] = _("Choose one of the options offered.")
    if not hasattr(sent, "file"):
        errors["file"] = _("Choose a CSV or XLSX file.")
    if errors:
        return _refused(context, request, errors=errors)
    data = sent.file.read(MAX_LIST_BYTES + 1)
    if len(data) > MAX_LIST_BYTES:
        return _refused(context, request, errors={"file": _("The file is larger than 10 MB.")})
    stratified = design.method is RandomisationMethod.STRATIFIED
    strata = services.strata(design, _sites(request, context), _definition(context) or Definition())
    allowed = {a["code"] for a in design.arms}
    if design.method.split_body:  # a place names the products in zone order: "P2,P1"
        allowed = {",".join(order) for order in itertools.permutations(sorted(allowed))}
    try:
        rows = read_list(data, sent.filename or "", allowed, stratified)
        count = services.import_list(
            request.dbsession, design, environment, rows, strata, request.actor
        )
    except ListRefused as refused:
        return _refused(
            context,
            request,
            errors={"file": _("The file was refused: nothing was imported.")},
            line_errors=refused.errors,
        )
    except services.Refused as refusal:
        return _refused(context, request, errors={"file": refusal.message})
    request.session.flash(
        request.localizer.translate(_("${count} places were imported.", mapping={"count": count}))
    )
    return redirect(request, _back(context, request, design.key))


@_post("go-live")
def go_live(context: RandomisationResource, request: Request) -> Any:
    design = _design(context, request)
    try:
        services.go_live(request.dbsession, design, request.actor)
    except services.Refused as refusal:
        return _refused(context, request, errors={"go-live": refusal.message})
    request.session.flash(
        request.localizer.translate(_("The randomisation is live: the test list is set aside."))
    )
    return redirect(request, _back(context, request, design.key))


@_post("in-error")
def in_error(context: RandomisationResource, request: Request) -> Any:
    key = request.POST.get("randomisation", "")
    found = (
        request.dbsession.scalar(
            select(Randomisation).where(
                Randomisation.study_id == context.study.id, Randomisation.id == int(key)
            )
        )
        if key.isascii() and key.isdigit() and len(key) < 12
        else None
    )
    if found is None:
        raise HTTPNotFound()
    reason = request.POST.get("reason", "").strip()[:2000]
    if not reason:
        return _refused(context, request, errors={f"reason-{found.id}": _("Give the reason.")})
    subject = request.dbsession.get(Subject, found.subject_id)
    try:
        services.mark_in_error(
            request.dbsession, reactions_of(request.registry), found, subject, reason, request.actor
        )
    except services.Refused as refusal:
        return _refused(context, request, errors={f"reason-{found.id}": refusal.message})
    request.session.flash(request.localizer.translate(_("The randomisation was marked in error.")))
    design = request.dbsession.get(RandomisationDesign, found.design_id)
    return redirect(request, _back(context, request, design.key))


@page_view(RandomisationResource, PAGE, Permission.MANAGE_RANDOMISATION, name="simulate")
def simulate_page(context: RandomisationResource, request: Request) -> dict[str, Any]:
    """Every method on simulated trials with the design's arms, ratio, block sizes and factors
    (the site's and the items' numbers of levels), as ``datacapt randomisation simulate``."""
    design = services.design_of(request.dbsession, context.study, key=_key(request))
    if design is None or design.method.split_body:
        raise HTTPNotFound()
    errors: dict[str, Any] = {}
    numbers = {}
    for name, default in (("subjects", 100), ("trials", 200)):
        text = request.GET.get(name, str(default)).strip()
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_SIMULATED):
            errors[name] = _("Give a whole number from 1 to 50000.")
        else:
            numbers[name] = int(text)
    if not errors and numbers["subjects"] * numbers["trials"] > MAX_SIMULATED:
        errors["trials"] = _("Subjects × trials must stay below 50000 here.")
    if errors:
        request.response.status_int = 422
        return _page(context, request, errors=errors, simulated=request.GET)
    definition = _definition(context)
    levels = []
    for factor in services.factors(design):
        if factor == services.SITE:
            levels.append((factor, max(1, len(_sites(request, context)))))
        else:
            item = definition.item(factor) if definition else None
            levels.append((factor, max(1, len(item.choices) if item else 1)))
    arms = services.arms_of(design)
    try:
        scenario = Scenario(
            arms,
            tuple(levels),
            subjects=numbers["subjects"],
            trials=numbers["trials"],
            seed=1,
            block_sizes=tuple(design.block_sizes),
            minimisation_p=design.p if design.method is RandomisationMethod.MINIMISATION else 0.8,
            measure=design.measure,
        )
        results = [
            simulate(method, scenario) for method in METHODS if levels or method != "minimisation"
        ]
    except DesignError:
        raise HTTPNotFound() from None
    return _page(context, request, results=results, simulated=request.GET)


@view_config(
    context=RandomisationResource,
    name="list",
    request_method=("GET", "HEAD"),
    permission=Permission.MANAGE_RANDOMISATION,
)
def download_list(context: RandomisationResource, request: Request) -> Response:
    """A list as CSV, in the import's columns (``number,arm,stratum``) and then where each
    place sits and who took it: what a statistician checks, or imports elsewhere."""
    design = services.design_of(request.dbsession, context.study, key=_key(request))
    environment = next((e for e in Environment if e.value == request.GET.get("environment")), None)
    if design is None or environment is None:
        raise HTTPNotFound()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["number", "arm", "stratum", "position", "block", "block_size", "subject"])
    for slot, label in services.list_rows(request.dbsession, design, environment):
        writer.writerow(
            text_cells(
                [
                    slot.number,
                    slot.arm,
                    slot.stratum,
                    slot.position,
                    slot.block,
                    slot.block_size,
                    label,
                ]
            )
        )
    name = f"{context.study.code}-randomisation-{design.key}-{environment.value}.csv"
    return Response(
        out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        content_disposition=f'attachment; filename="{name}"',
    )


# --- the subject's panel ---------------------------------------------------------------------


def sees_arms(request: Request, context: Any, design: RandomisationDesign) -> bool:
    """Whether the person sees ``design``'s arms (or what a split-body product is)."""
    return not design.blinded or bool(request.has_permission(Permission.VIEW_ALLOCATION, context))


def _suffix(request: Request, context: SubjectResource, design: RandomisationDesign) -> str:
    """What ends the element ids and field names of ``design`` on the subject's panel: nothing
    for the study's first design, ``-<key>`` for the others (so that they never repeat)."""
    first = services.design_of(request.dbsession, context.study)
    return "" if first is None or first.id == design.id else f"-{design.key}"


def _panel(context: SubjectResource, request: Request, **extra: Any) -> dict[str, Any]:
    """Each of the study's randomisations for the subject (``extra`` applies to the one named
    ``acted``, the one just randomised or unblinded)."""
    dbsession = request.dbsession
    designs = services.designs_of(dbsession, context.study)
    found = services.subject_randomisations(dbsession, designs, context.subject)
    definition = _definition(context)
    acted = extra.pop("acted", None)
    entries = []
    for design in designs:
        randomisation = found.get(design.id)
        missing: list[services.Missing] = []
        corrections: dict[str, tuple[str, str | None]] = {}
        if definition is not None and design.items:
            levels, missing = services.subject_levels(
                dbsession, design, definition, context.subject, context.site
            )
            if randomisation is not None:
                corrections = {
                    factor: (level, levels.get(factor))
                    for factor, level in randomisation.levels.items()
                    if levels.get(factor) != level
                }
        entry = {
            "design": design,
            "suffix": "" if design is designs[0] else f"-{design.key}",
            "randomisation": randomisation,
            "assignment": design.assignment(randomisation.arm) if randomisation else [],
            "missing": missing,
            "corrections": corrections,
            "sees_arm": sees_arms(request, context, design),
            "arm_labels": {arm["code"]: arm["label"] for arm in design.arms},
            "refusal": None,
            "announced": False,
            "revealed": False,
            "revealed_also": [],
            "unblinding": False,
            "errors": {},
        }
        if design.key == acted:
            entry.update(extra)
        entries.append(entry)
    return {
        "designs": designs,
        "entries": entries,
        "definition": definition,
        "environment_labels": ENVIRONMENT_LABELS,
        "errors": {},
        "two_factor": request.identity is not None and two_factor_enrolled(request),
    }


@page_view(SubjectResource, PANEL, Permission.VIEW_SUBJECT, name="randomisation")
def subject_panel(context: SubjectResource, request: Request) -> dict[str, Any]:
    """The subject's randomisation (number, date, arm to whom may see it), or its button."""
    return _panel(context, request)


@view_config(
    context=SubjectResource,
    name="randomise",
    request_method="POST",
    renderer=PANEL,
    permission=Permission.RANDOMISE,
)
def randomise(context: SubjectResource, request: Request) -> Any:
    definition = _definition(context)
    design = services.design_of(request.dbsession, context.study, key=_key(request))
    try:
        if design is None:
            raise services.Refused(_("The study has no randomisation design."))
        if definition is None:
            raise services.Refused(_("The study has no published eCRF yet."))
        _randomisation, made = services.randomise(
            request.dbsession,
            reactions_of(request.registry),
            context.study,
            definition,
            context.subject,
            context.site,
            request.actor,
            key=design.key,
        )
    except services.Refused as refusal:
        request.response.status_int = 422
        acted = design.key if design else None
        return _panel(context, request, acted=acted, refusal=refusal.message)
    if not request.is_htmx:
        if made:
            request.session.flash(request.localizer.translate(_("The subject was randomised.")))
        return redirect(request, request.resource_path(context, ""))
    return _panel(context, request, acted=design.key, announced=made)


@view_config(
    context=SubjectResource,
    name="unblind",
    request_method="POST",
    renderer=PANEL,
    permission=Permission.UNBLIND,
)
def unblind(context: SubjectResource, request: Request) -> Any:
    """Emergency unblinding: a reason and the password (and code) entered again; the arm (and
    what other capabilities conceal with it, a kit's type) is shown in this answer only, and
    the subject's page keeps a mark everyone sees."""
    design = services.design_of(request.dbsession, context.study, key=_key(request))
    found = services.current(request.dbsession, design, context.subject) if design else None
    if found is None:
        raise HTTPNotFound()
    suffix = _suffix(request, context, design)  # the fields of the design's own form
    reason = request.POST.get(f"unblind-reason{suffix}", "").strip()[:2000]
    errors: dict[str, Any] = {}
    if not reason:
        errors[f"unblind-reason{suffix}"] = _("Give the reason.")
    else:
        check = check_signing_credentials(
            request,
            request.POST.get(f"unblind-password{suffix}", ""),
            request.POST.get(f"unblind-code{suffix}", ""),
            refused_action="randomisation.unblind_refused",
        )
        errors = {f"unblind-{name}{suffix}": message for name, message in check.errors.items()}
    if errors:
        request.response.status_int = 422
        return _panel(context, request, acted=design.key, errors=errors, unblinding=True)
    also = services.unblind(
        request.dbsession,
        reactions_of(request.registry),
        found,
        context.subject,
        reason,
        request.actor,
    )
    return _panel(context, request, acted=design.key, revealed=True, revealed_also=also)
