"""Monitoring actions on forms, visits, casebooks and sites: verify, review, freeze / lock /
unlock, sign; the SDV screen, the locking screen and batch signing of a site."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from datacapt.ecrf.casebook import is_log, visit_key
from datacapt.ecrf.versions import published_design
from datacapt.htmx import READ, page_view, redirect
from datacapt.i18n import _
from datacapt.models import (
    FormInstance,
    FormStatus,
    SdvStatus,
    SignatureScope,
    Subject,
    VisitInstance,
)
from datacapt.permissions import Permission
from datacapt.resources import FormEntryResource, SiteResource, SubjectResource, VisitResource
from datacapt.review import selection, services
from datacapt.review.credentials import check_signing_credentials, two_factor_enrolled
from datacapt.validation import whole_number

Context = FormEntryResource | VisitResource | SubjectResource | SiteResource
MEANINGS = {
    SignatureScope.FORM: _("I approve the data in this form."),
    SignatureScope.VISIT: _("I approve the data in this visit."),
    SignatureScope.CASEBOOK: _("I approve the data in this casebook."),
}
SDV_FILTERS = {
    "pending": (SdvStatus.AWAITING, SdvStatus.CHANGED),
    "awaiting": (SdvStatus.AWAITING,),
    "changed": (SdvStatus.CHANGED,),
    "verified": (SdvStatus.VERIFIED,),
}
SDV_SCREEN_ROWS = 200


#: The nodes whose forms a monitoring action takes at once: a form, a visit, a casebook, a site.
EVERY_SCOPE = (FormEntryResource, VisitResource, SubjectResource, SiteResource)


def views_on(contexts: tuple[type, ...], **settings: Any) -> Callable[[Any], Any]:
    """One view registered on several kinds of node (``view_config`` on each)."""

    def register(view: Any) -> Any:
        for context in contexts:
            view_config(context=context, _depth=1, **settings)(view)
        return view

    return register


def _chosen(request: Request) -> selection.Chosen:
    """The forms (ids) or subjects (labels) ticked on a site's screen."""
    ids = [whole_number(value) for value in request.POST.getall("form")]
    return selection.Chosen(
        form_ids=[i for i in ids if i is not None] if ids else None,
        subject_labels=request.POST.getall("subject"),
    )


def instances(request: Request, context: Context) -> list[FormInstance]:
    """The form instances an action on ``context`` applies to."""
    return selection.instances(request.dbsession, context, _chosen(request))


def _whole(request: Request, context: Context) -> services.Whole:
    """The visit, or the casebooks with their visits, an action takes as a whole (a form, or
    forms chosen one by one at a site, are only themselves)."""
    if isinstance(context, VisitResource):
        return services.Whole(visit_ids=frozenset({context.instance.id}))
    if isinstance(context, SubjectResource):
        subject_ids = [context.subject.id]
    elif isinstance(context, SiteResource) and not request.POST.getall("form"):
        subject_ids = selection.subject_ids(
            request.dbsession, context.site, _chosen(request).subject_labels
        )
    else:
        return services.Whole()
    visits = request.dbsession.scalars(
        select(VisitInstance.id).where(VisitInstance.subject_id.in_(subject_ids))
    )
    return services.Whole(frozenset(subject_ids), frozenset(visits))


def _back(request: Request, context: Context) -> str:
    came_from = request.POST.get("came_from", "")
    if came_from.startswith(request.resource_path(context)):
        return came_from  # a page of this node (a filtered SDV screen), never elsewhere
    return request.resource_url(context)


def _refused(request: Request, context: Context, message: object, status: int = 422) -> Response:
    response = render_to_response(
        "review/refused.jinja2",
        {"message": message, "back": _back(request, context)},
        request=request,
    )
    response.status_int = status
    return response


def _done(request: Request, context: Context, message: object) -> Response:
    request.session.flash(request.localizer.translate(message))
    return redirect(request, _back(request, context))


def _hidden_items(request: Request, context: Context) -> set[str]:
    """Personal-data items the user does not see, so cannot verify (their OIDs)."""
    if request.has_permission(Permission.VIEW_PII, context):
        return set()
    design = published_design(request.dbsession, context.study)
    if design is None:
        return set()
    return {item.oid for _form, item in design.definition.items() if item.identifier}


# --- SDV and review --------------------------------------------------------------------------


@views_on(
    (FormEntryResource, VisitResource, SiteResource),
    name="verify",
    request_method="POST",
    permission=Permission.VERIFY_SOURCE,
)
def verify(context: Context, request: Request) -> Response:
    """Verify the chosen items of a form, or everything awaiting in the form, visit or the
    forms chosen on the SDV screen."""
    chosen = None if request.POST.get("all") == "1" else set(request.POST.getall("item"))
    if chosen is not None and not chosen:
        return _refused(request, context, _("Tick the values you verified."))
    form_page = isinstance(context, FormEntryResource)
    seen = whole_number(request.POST.get("lock")) if form_page else None
    try:
        count = services.verify(
            request.dbsession,
            request.actor,
            instances(request, context),
            chosen,
            hidden=_hidden_items(request, context),
            seen=seen,
        )
    except services.Refused as refused:
        return _refused(request, context, refused.message)
    if not count:
        return _done(request, context, _("Nothing was awaiting verification."))
    message = request.localizer.pluralize(
        "${count} value verified.",
        "${count} values verified.",
        count,
        domain="datacapt",
        mapping={"count": count},
    )
    return _done(request, context, message)


@view_config(
    context=FormEntryResource,
    name="review",
    request_method="POST",
    permission=Permission.REVIEW_DATA,
)
def review(context: FormEntryResource, request: Request) -> Response:
    try:
        count = services.review(request.dbsession, request.actor, instances(request, context))
    except services.Refused as refused:
        return _refused(request, context, refused.message)
    return _done(request, context, _("Reviewed.") if count else _("Nothing to review."))


# --- freeze, lock, unlock --------------------------------------------------------------------


def _change_state(request: Request, context: Context, change: Callable[..., int]) -> Response:
    """Apply ``change`` (freeze, lock or unlock, with a reason) to the forms of a form, visit,
    casebook, or of the subjects chosen at a site."""
    chosen = instances(request, context)
    if not chosen:
        return _refused(request, context, _("There is no data here yet."))
    reason = request.POST.get("state-reason", "")
    actor, dbsession, whole = request.actor, request.dbsession, _whole(request, context)
    try:
        count = change(dbsession, actor, chosen, reason, whole)
    except services.Refused as refused:
        return _refused(request, context, refused.message)
    message = request.localizer.pluralize(
        "${count} form changed.",
        "${count} forms changed.",
        count,
        domain="datacapt",
        mapping={"count": count},
    )
    return _done(request, context, message)


# One view per action of the "data-state" form, each under the permission it needs, so the
# authorization matrix sees each refused; an unknown action finds no view (404).


@views_on(
    EVERY_SCOPE,
    name="data-state",
    request_method="POST",
    request_param="action=freeze",
    permission=Permission.FREEZE_DATA,
)
def freeze(context: Context, request: Request) -> Response:
    return _change_state(request, context, services.freeze)


@views_on(
    EVERY_SCOPE,
    name="data-state",
    request_method="POST",
    request_param="action=lock",
    permission=Permission.LOCK_DATA,
)
def lock(context: Context, request: Request) -> Response:
    return _change_state(request, context, services.lock)


@views_on(
    EVERY_SCOPE,
    name="data-state",
    request_method="POST",
    request_param="action=unlock",
    permission=Permission.LOCK_DATA,
)
def unlock(context: Context, request: Request) -> Response:
    return _change_state(request, context, services.unlock)


# --- signatures ------------------------------------------------------------------------------


def _targets(request: Request, context: Context) -> list[services.SignTarget]:
    if isinstance(context, SiteResource):
        return [
            services.SignTarget(SignatureScope.CASEBOOK, subject_id)
            for subject_id in selection.subject_ids(
                request.dbsession, context.site, _chosen(request).subject_labels
            )
        ]
    subject_id = context.subject.id
    if isinstance(context, SubjectResource):
        return [services.SignTarget(SignatureScope.CASEBOOK, subject_id)]
    if context.instance is None:
        raise HTTPNotFound()
    if isinstance(context, VisitResource):
        return [services.SignTarget(SignatureScope.VISIT, subject_id, context.instance.id)]
    return [services.SignTarget(SignatureScope.FORM, subject_id, None, context.instance.id)]


def _scope(context: Context) -> SignatureScope:
    if isinstance(context, FormEntryResource):
        return SignatureScope.FORM
    if isinstance(context, VisitResource):
        return SignatureScope.VISIT
    return SignatureScope.CASEBOOK


def _sign_page(
    request: Request, context: Context, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    scope = _scope(context)
    data: dict[str, Any] = {
        "scope": scope.value,
        "meaning": MEANINGS[scope],
        "signer": request.identity.user.name,
        "two_factor": two_factor_enrolled(request),
        "errors": errors or {},
        "batch": isinstance(context, SiteResource),
        "subjects": [],
        "chosen": set(request.POST.getall("subject")),
        "covered": [],
    }
    if isinstance(context, SiteResource):
        data["subjects"] = selection.site_subjects(request.dbsession, context.site)
    else:
        targets = _targets(request, context)
        data["covered"] = services.scope_forms(request.dbsession, targets)[targets[0]]
        design = context.study_node.design
        if design is not None:  # to name the forms still in progress before the signature
            definition = design.definition
            data["definition"] = definition
            data["form_titles"] = {form.name: form.title for form in definition.forms}
            data["visit_titles"] = {visit.name: visit.title for visit in definition.schedule.visits}
    return data


@views_on(
    EVERY_SCOPE,
    name="sign",
    request_method=READ,
    renderer="review/sign.jinja2",
    permission=Permission.SIGN,
)
def sign_page(context: Context, request: Request) -> dict[str, Any]:
    return _sign_page(request, context)


@views_on(EVERY_SCOPE, name="sign", request_method="POST", permission=Permission.SIGN)
def sign(context: Context, request: Request) -> Response:
    """Sign with the password (and code) entered again: one check for every casebook chosen."""
    targets = _targets(request, context)
    if not targets:
        return _sign_refused(request, context, {"subject": _("Choose at least one subject.")})
    check = check_signing_credentials(
        request, request.POST.get("password", ""), request.POST.get("code", "")
    )
    if not check.ok:
        response = _sign_refused(request, context, check.errors, 429 if check.wait_seconds else 422)
        if check.wait_seconds:
            response.headers["Retry-After"] = str(check.wait_seconds)
        return response
    meaning = request.localizer.translate(MEANINGS[_scope(context)])
    try:
        signatures = services.sign(
            request.dbsession,
            request.actor,
            targets,
            signer_name=request.identity.user.name,
            meaning=meaning,
        )
    except services.Refused as refused:
        return _sign_refused(request, context, {"subject": refused.message})
    message = request.localizer.pluralize(
        "${count} signature recorded.",
        "${count} signatures recorded.",
        len(signatures),
        domain="datacapt",
        mapping={"count": len(signatures)},
    )
    return _done(request, context, message)


def _sign_refused(
    request: Request, context: Context, errors: dict[str, Any], status: int = 422
) -> Response:
    response = render_to_response(
        "review/sign.jinja2", _sign_page(request, context, errors), request=request
    )
    response.status_int = status
    return response


# --- the site's screens ----------------------------------------------------------------------


@page_view(SiteResource, "review/sdv.jinja2", Permission.VERIFY_SOURCE, name="sdv")
def sdv_screen(context: SiteResource, request: Request) -> dict[str, Any]:
    """The forms of the site awaiting SDV (or changed since verified), oldest change first."""
    chosen = request.GET.get("status", "pending")
    statuses = SDV_FILTERS.get(chosen, SDV_FILTERS["pending"])
    where = [
        FormInstance.study_id == context.study.id,
        FormInstance.site_id == context.site.id,
        FormInstance.sdv_status.in_(statuses),
        FormInstance.status != FormStatus.REMOVED,
    ]
    for name in ("visit", "form"):
        if request.GET.get(name):
            where.append(getattr(FormInstance, name) == request.GET[name])
    rows = request.dbsession.execute(
        select(FormInstance, Subject.label)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(*where)
        .order_by(FormInstance.updated_at, FormInstance.id)
        .limit(SDV_SCREEN_ROWS + 1)
    ).all()
    return {
        "rows": rows[:SDV_SCREEN_ROWS],
        "links": _form_links(request, context, rows),
        "more": len(rows) > SDV_SCREEN_ROWS,
        "filters": {
            "status": chosen if chosen in SDV_FILTERS else "pending",
            "visit": request.GET.get("visit", ""),
            "form": request.GET.get("form", ""),
        },
    }


def _form_links(request: Request, context: SiteResource, rows: Any) -> dict[int, str]:
    design = published_design(request.dbsession, context.study)
    logs = {f.name for f in design.definition.forms if is_log(f)} if design else set()
    subjects = request.resource_path(context.study_node, "subjects")
    return {
        instance.id: "/".join(
            (
                subjects,
                label,
                visit_key(instance.visit, instance.visit_repeat),
                f"{instance.form}-{instance.repeat}" if instance.form in logs else instance.form,
                "",
            )
        )
        for instance, label in rows
    }


@page_view(SiteResource, "review/locking.jinja2", Permission.FREEZE_DATA, name="locking")
def locking_screen(context: SiteResource, request: Request) -> dict[str, Any]:
    """The subjects of the site with their forms' states, to freeze, lock or unlock in bulk."""
    subjects = selection.site_subjects(request.dbsession, context.site)
    forms: dict[int, list[FormInstance]] = {subject.id: [] for subject in subjects}
    if subjects:
        for instance in request.dbsession.scalars(
            select(FormInstance).where(
                FormInstance.site_id == context.site.id,
                FormInstance.status != FormStatus.REMOVED,
            )
        ):
            forms.setdefault(instance.subject_id, []).append(instance)
    return {"subjects": subjects, "states": forms}
