"""Subjects: the list, enrolment, the casebook, status changes, contact details, extra visits."""

from __future__ import annotations

from datetime import date
from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import bindparam, func, select

from datacapt import audit
from datacapt.ecrf.casebook import casebook, visit_key
from datacapt.ecrf.timing import Timing
from datacapt.htmx import page_view, redirect
from datacapt.i18n import LANGUAGES, _
from datacapt.models import FormInstance, Site, SubjectContact, SubjectStatus, VisitInstance
from datacapt.pagination import page_number
from datacapt.permissions import Permission
from datacapt.plain_rows import plain_rows
from datacapt.resources import SiteResource, SitesResource, SubjectResource, SubjectsResource
from datacapt.studies.places import country_name
from datacapt.studies.services import study_sites
from datacapt.subjects import contacts, services, visit_dates
from datacapt.subjects.services import (
    STATUS_LABELS,
    SUBJECTS_PER_PAGE,
    TRANSITIONS,
    change_status,
    enrol,
    subjects_page,
)
from datacapt.validation import ValidationError


@page_view(SiteResource, "studies/site.jinja2", Permission.VIEW_SITE)
def site_home(context: SiteResource, request: Request) -> dict[str, Any]:
    page = None
    if request.has_permission(Permission.VIEW_SUBJECT, context):
        page = subjects_page(
            request.dbsession,
            context.study,
            frozenset({context.site.id}),
            page_number(request.GET.get("page")),
            SUBJECTS_PER_PAGE,
        )
    country = country_name(context.site.country, request.locale_name)
    return {"page": page, "status_labels": STATUS_LABELS, "country": country}


@page_view(SubjectsResource, "subjects/list.jinja2", Permission.LIST_SUBJECTS)
def subject_list(context: SubjectsResource, request: Request) -> dict[str, Any]:
    visible = request.identity.visible_site_ids(context.study)
    sites = study_sites(request.dbsession, context.study, visible)
    chosen = next((site for site in sites if site.code == request.GET.get("site")), None)
    raw_status = request.GET.get("status", "")
    status = SubjectStatus(raw_status) if raw_status in SubjectStatus.__members__.values() else None
    search = request.GET.get("q", "").strip()[:40]
    page = subjects_page(
        request.dbsession,
        context.study,
        visible,
        page_number(request.GET.get("page")),
        SUBJECTS_PER_PAGE,
        search=search,
        site_id=chosen.id if chosen else None,
        status=status,
    )
    return {
        "page": page,
        "status_labels": STATUS_LABELS,
        "sites": sites,
        "filters": {"q": search, "site": chosen.code if chosen else "", "status": raw_status},
        "enrol_sites": enrolment_sites(request, context, sites),
        "open_queries": services.open_queries_by_subject(
            request.dbsession, context.study.id, [subject.id for subject, _site in page.items]
        ),
    }


def enrolment_sites(
    request: Request, context: SubjectsResource, visible: list[Site] | None = None
) -> list[Site]:
    """The sites of the study where this user may enrol subjects (among ``visible``, the sites
    they see, when the caller has them: one cannot enrol where one cannot see)."""
    sites = study_sites(request.dbsession, context.study) if visible is None else visible
    parent = SitesResource(context.study_node)
    return [
        site
        for site in sites
        if request.has_permission(Permission.ENROL_SUBJECT, SiteResource(parent, site))
    ]


def _enrol_page(request: Request, context: SubjectsResource, **extra: Any) -> dict[str, Any]:
    sites = enrolment_sites(request, context)
    return {
        "sites": sites,
        "site_options": [(site.code, f"{site.code} — {site.name}") for site in sites],
        "errors": {},
        "values": {},
        # what the pattern makes, not the pattern's own braces: "par01-0001"
        "example_id": context.study.subject_id_pattern.format(
            site=sites[0].code if sites else "", seq=1
        ),
        **extra,
    }


@page_view(SubjectsResource, "subjects/enrol.jinja2", Permission.LIST_SUBJECTS, name="enrol")
def enrol_page(context: SubjectsResource, request: Request) -> dict[str, Any]:
    data = _enrol_page(request, context)
    if not data["sites"]:
        raise HTTPForbidden()
    return data


@view_config(
    context=SubjectsResource,
    name="enrol",
    request_method="POST",
    renderer="subjects/enrol.jinja2",
    permission=Permission.LIST_SUBJECTS,
)
def enrol_subject(context: SubjectsResource, request: Request) -> Any:
    sites = enrolment_sites(request, context)
    if not sites:
        raise HTTPForbidden()
    site = next((s for s in sites if s.code == request.POST.get("site")), None)
    errors: dict[str, Any] = {}
    if site is None:
        errors["site"] = _("Choose one of your sites.")
    try:
        contact = contacts.clean_contact(
            request.POST.get("contact-name", ""),
            request.POST.get("contact-email", ""),
            request.POST.get("contact-phone", ""),
        )
    except ValidationError as error:
        errors[error.field] = error.message
    if errors:
        request.response.status_int = 422
        return _enrol_page(request, context, errors=errors, values=request.POST)
    try:
        subject = enrol(
            request.dbsession,
            context.study,
            site,
            request.POST.get("label", ""),
            actor=request.actor,
        )
    except ValidationError as error:
        request.response.status_int = 422
        return _enrol_page(
            request, context, errors={error.field: error.message}, values=request.POST
        )
    if not contact.empty:
        contacts.seal(request.registry, subject, contact, request.dbsession)
        _contact_event(request, subject, "subject.contact_changed")
    request.session.flash(
        request.localizer.translate(
            _("Subject ${label} is enrolled.", mapping={"label": subject.label})
        )
    )
    return redirect(request, request.resource_url(context, subject.label, ""))


def _contact_event(request: Request, subject: Any, action: str) -> None:
    """Reads and changes of personal details are recorded; the details themselves never are."""
    audit.record_subject(
        request.dbsession,
        request.actor,
        subject,
        action=action,
        entity_type="subject_contact",
        entity_id=subject.id,
    )


#: Built once, run on the session's connection: a plain number needs no ORM execution.
_HAS_CONTACT = (
    select(func.count())
    .select_from(SubjectContact)
    .where(SubjectContact.subject_id == bindparam("subject_id"))
)


def _subject_page(context: SubjectResource, request: Request, **extra: Any) -> dict[str, Any]:
    design = context.design
    rows = []
    timings: dict[str, Timing] = {}
    if design is not None:
        visits = list(
            request.dbsession.scalars(
                select(VisitInstance).where(VisitInstance.subject_id == context.subject.id)
            )
        )
        forms = list(
            request.dbsession.scalars(
                select(FormInstance).where(FormInstance.subject_id == context.subject.id)
            )
        )
        rows = casebook(design.definition, visits, forms)
        timings = visit_dates.subject_timings(design.definition.schedule, context.subject, visits)
    contacts = plain_rows(request.dbsession, _HAS_CONTACT, {"subject_id": context.subject.id})
    return {
        "status_labels": STATUS_LABELS,
        "definition": design.definition if design else None,
        "casebook": rows,
        "timings": timings,
        "overdue": {
            name
            for name, timing in timings.items()
            if visit_dates.is_overdue(context.subject.status, timing, request.today)
        },
        "next_statuses": TRANSITIONS[context.subject.status],
        "has_contact": bool(contacts[0][0]),
        "contact": None,
        "errors": {},
        "values": {},
        "repeatable": [v for v in design.definition.schedule.visits if v.repeating]
        if design
        else [],
        "unscheduled": bool(design and design.definition.schedule.unscheduled_allowed),
        **extra,
    }


@page_view(SubjectResource, "subjects/subject.jinja2", Permission.VIEW_SUBJECT)
def subject_home(context: SubjectResource, request: Request) -> dict[str, Any]:
    return _subject_page(context, request)


@view_config(
    context=SubjectResource,
    name="status",
    request_method="POST",
    renderer="subjects/subject.jinja2",
    permission=Permission.ENROL_SUBJECT,
)
def subject_status(context: SubjectResource, request: Request) -> Any:
    raw = request.POST.get("status", "")
    on_raw = request.POST.get("date", "").strip()
    errors: dict[str, Any] = {}
    on = None
    if on_raw:
        try:
            on = date.fromisoformat(on_raw)
        except ValueError:
            errors["date"] = _(
                "Enter a date, for example ${example}.", mapping={"example": "2026-01-31"}
            )
    if raw not in SubjectStatus.__members__.values():
        errors["status"] = _("Choose one of the options offered.")
    if not errors:
        try:
            change_status(
                request.dbsession,
                context.subject,
                SubjectStatus(raw),
                reason=request.POST.get("reason", "").strip()[:2000],
                on=on,
                today=request.today,
                actor=request.actor,
            )
        except ValidationError as error:
            errors[error.field] = error.message
    if errors:
        request.response.status_int = 422
        return _subject_page(context, request, errors=errors, values=request.POST)
    request.session.flash(request.localizer.translate(_("The status was changed.")))
    return redirect(request, request.resource_url(context))


@view_config(
    context=SubjectResource,
    name="contact",
    request_method=("GET", "HEAD"),
    renderer="subjects/_contact.jinja2",
    permission=Permission.VIEW_PII,
)
def show_contact(context: SubjectResource, request: Request) -> dict[str, Any]:
    """Contact details, shown on request only: each showing is recorded."""
    row = request.dbsession.get(SubjectContact, context.subject.id)
    contact = (
        contacts.open_logged(
            request.dbsession,
            request.registry,
            row,
            request.actor,
            purpose="contact",
            action="view",
        )
        if row
        else contacts.Contact()
    )
    if row is not None:
        _contact_event(request, context.subject, "subject.contact_viewed")
    return {
        "contact": contact,
        "errors": {},
        "editable": request.has_permission(Permission.CHANGE_CONTACT, context),
        **_contact_choices(request),
    }


def _contact_choices(request: Request) -> dict[str, Any]:
    """How a subject may be reached, and in which language, as the contact form offers them."""
    translate = request.localizer.translate
    return {
        "channel_choices": [
            ("email", translate(_("E-mail"))),
            ("sms", translate(_("Text message (SMS)"))),
        ],
        "language_choices": [("", translate(_("The study's language"))), *LANGUAGES.items()],
    }


@view_config(
    context=SubjectResource,
    name="contact",
    request_method="POST",
    renderer="subjects/_contact.jinja2",
    permission=Permission.CHANGE_CONTACT,
)
def change_contact(context: SubjectResource, request: Request) -> Any:
    """Contact details are not casebook data: a locked casebook keeps them up to date, so
    the right is its own (site staff's), which no lock takes away."""
    try:
        contact = contacts.clean_contact(
            request.POST.get("contact-name", ""),
            request.POST.get("contact-email", ""),
            request.POST.get("contact-phone", ""),
            channel=request.POST.get("contact-channel", "email")[:10],
            language=request.POST.get("contact-language", "")[:10],
        )
    except ValidationError as error:
        request.response.status_int = 422
        return {
            "contact": contacts.Contact(
                name=request.POST.get("contact-name", "")[:200],
                email=request.POST.get("contact-email", "")[:254],
                phone=request.POST.get("contact-phone", "")[:25],
                channel=request.POST.get("contact-channel", "email")[:10],
                language=request.POST.get("contact-language", "")[:10],
            ),
            "errors": {error.field: error.message},
            "editable": True,
            **_contact_choices(request),
        }
    contacts.seal(request.registry, context.subject, contact, request.dbsession)
    _contact_event(request, context.subject, "subject.contact_changed")
    request.session.flash(request.localizer.translate(_("The contact details were saved.")))
    return redirect(request, request.resource_url(context))


@view_config(
    context=SubjectResource,
    name="add-visit",
    request_method="POST",
    permission=Permission.ENTER_DATA,
)
def add_visit(context: SubjectResource, request: Request) -> Response:
    """An unscheduled visit, or another occurrence of a repeating visit."""
    design = context.design
    try:
        instance = services.add_visit(
            request.dbsession,
            context.subject,
            design.definition if design else None,
            request.POST.get("visit", ""),
            request.actor,
        )
    except services.VisitNotAddable:
        raise HTTPNotFound() from None
    return redirect(
        request, request.resource_url(context, visit_key(instance.visit, instance.repeat), "")
    )
