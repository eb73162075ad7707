"""The site's side of a consent: starting one for a subject (in person or remote), the
investigator's countersignature (password, and code for two-factor accounts) or rejection,
withdrawal, the final PDF; and the subject's way in by link (``/p/@@consent-start/<token>``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import segno
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from pyramid_mailer.message import Attachment
from sqlalchemy import select

from datacapt import audit
from datacapt.accounts.services import Bucket, check_address, record_attempt
from datacapt.actor import Actor
from datacapt.clock import today_in
from datacapt.consent import events, services
from datacapt.consent.documents import live_versions
from datacapt.consent.pdf import render as render_pdf
from datacapt.db import keep_writes
from datacapt.htmx import READ, redirect
from datacapt.i18n import _
from datacapt.mail import send_mail_in
from datacapt.models import (
    ConsentRecord,
    ConsentStatus,
    ConsentVersion,
    IdentityMethod,
    Subject,
    SubjectLink,
)
from datacapt.permissions import Permission
from datacapt.resources import SubjectResource
from datacapt.resources.consent import ConsentRecordResource
from datacapt.resources.subject_area import (
    SUBJECT_HOME_NAME,
    SubjectArea,
    SubjectConsentResource,
    SubjectConsentsResource,
)
from datacapt.review.credentials import check_signing_credentials, two_factor_enrolled
from datacapt.security import open_subject_session, token_hash
from datacapt.validation import ValidationError, whole_number

SUBJECT_PAGE = "consent/subject.jinja2"
RECORD_PAGE = "consent/record.jinja2"
LINK_ATTEMPTS = "subject-link"


def _render(request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
    response = render_to_response(template, data, request=request)
    response.status_int = status
    return response


# --- a subject's consents, and starting one -----------------------------------------------------


def _subject_data(request: Request, context: SubjectResource, **extra: Any) -> dict[str, Any]:
    settings = services.settings_of(request.dbsession, context.study)
    versions = live_versions(request.dbsession, context.study.id, context.subject.site_id)
    return {
        "records": services.records_of(request.dbsession, context.subject),
        "versions": versions,
        "titles": {
            v.id: services.text_of(v, request.locale_name).get("title", "") for v in versions
        },
        "method": settings.identity_method.value,
        "status_of": services.status_of,
        "errors": {},
        "values": {},
        "handed": None,
        **extra,
    }


@view_config(
    context=SubjectResource,
    name="consent",
    request_method=READ,
    permission=Permission.VIEW_SUBJECT,
    renderer=SUBJECT_PAGE,
)
def subject_page(context: SubjectResource, request: Request) -> dict[str, Any]:
    return _subject_data(request, context)


@view_config(
    context=SubjectResource,
    name="consent-start",
    request_method="POST",
    permission=Permission.ENROL_SUBJECT,
)
def start(context: SubjectResource, request: Request) -> Response:
    """Start a consent: in person, the flow opens on this device; remote, a one-time link for
    the subject (shown once, and mailed when an address is on file)."""
    method = services.settings_of(request.dbsession, context.study).identity_method
    number = whole_number(request.POST.get("version"))
    version = next(
        (
            v
            for v in live_versions(request.dbsession, context.study.id, context.subject.site_id)
            if v.id == number
        ),
        None,
    )
    try:
        if version is None:
            raise ValidationError("version", _("Choose a live version for this site."))
        record, token = services.start(
            request.dbsession,
            request.registry,
            request.actor,
            context.subject,
            version,
            method=method,
            language=request.POST.get("language", ""),
            identity_confirmed=request.POST.get("identity_confirmed") == "1",
            birth_date=request.POST.get("birth_date", ""),
        )
    except ValidationError as error:
        data = _subject_data(
            request, context, errors={error.field: error.message}, values=request.POST
        )
        return _render(request, SUBJECT_PAGE, data, 422)
    records = request.resource_url(context.study_node, "consent", "records", str(record.id), "")
    if token is None:
        return redirect(request, records + "@@read")
    url = f"{request.application_url}/p/@@consent-start/{token}"
    address = services.email_on_file(
        request.dbsession, request.registry, request.actor, context.subject.id
    )
    if address:
        send_mail_in(
            request.dbsession,
            to=address,
            subject=_("Your consent to a study"),
            template="mail/consent_link.jinja2",
            application_url=request.application_url,
            locale=record.language,
            link=url,
        )
    handed = {"url": url, "qr": segno.make(url, error="m").svg_data_uri(scale=5, border=2)}
    return _render(
        request, SUBJECT_PAGE, _subject_data(request, context, handed=handed, mailed=bool(address))
    )


# --- one record: countersign, reject, withdraw, PDF -------------------------------------------


def _record_data(request: Request, context: ConsentRecordResource, **extra: Any) -> dict[str, Any]:
    return {
        "record": context.record,
        "version": context.version,
        "status": services.status_of(context.record),
        "may_sign": request.has_permission(Permission.SIGN, context),
        "may_act": request.has_permission(Permission.ENROL_SUBJECT, context),
        "sees_pii": bool(request.has_permission(Permission.VIEW_PII, context)),
        "two_factor": two_factor_enrolled(request),
        "scopes": events.SCOPES,
        "errors": {},
        "values": {},
        **extra,
    }


@view_config(
    context=ConsentRecordResource,
    request_method=READ,
    permission=Permission.VIEW_SUBJECT,
    renderer=RECORD_PAGE,
)
def record_page(context: ConsentRecordResource, request: Request) -> dict[str, Any]:
    data = _record_data(request, context)
    if data["sees_pii"] and context.record.signer_name:
        audit.record(
            request.dbsession,
            request.actor,
            tenant_id=context.record.tenant_id,
            study_id=context.record.study_id,
            site_id=context.record.site_id,
            subject_id=context.record.subject_id,
            action="consent.pii_read",
            entity_type="consent_record",
            entity_id=context.record.id,
        )
    return data


def _pdf_renderer(request: Request, context: ConsentRecordResource) -> Any:
    def write(record: ConsentRecord, certificate: list[dict[str, Any]]) -> bytes:
        return render_pdf(
            request.localizer,
            record,
            context.version,
            context.subject,
            context.site,
            context.study,
            certificate,
        )

    return write


@view_config(
    context=ConsentRecordResource,
    name="countersign",
    request_method="POST",
    permission=Permission.SIGN,
)
def countersign(context: ConsentRecordResource, request: Request) -> Response:
    """Countersign with the password (and code) entered again; the PDF is written and a copy
    mailed to the subject (as an attachment: the mail's text holds no health data)."""
    if context.record.status is not ConsentStatus.NEEDS_COUNTERSIGNATURE:
        raise HTTPNotFound()
    check = check_signing_credentials(
        request,
        request.POST.get("password", ""),
        request.POST.get("code", ""),
        refused_action="consent.countersign_refused",
    )
    if not check.ok:
        response = _render(
            request,
            RECORD_PAGE,
            _record_data(request, context, errors=check.errors),
            429 if check.wait_seconds else 422,
        )
        if check.wait_seconds:
            response.headers["Retry-After"] = str(check.wait_seconds)
        return response
    services.countersign(
        request.dbsession,
        request.actor,
        context.record,
        signer_name=request.identity.user.name,
        meaning=request.localizer.translate(services.COUNTERSIGN_MEANING),
        render_pdf=_pdf_renderer(request, context),
    )
    address = services.email_on_file(
        request.dbsession, request.registry, request.actor, context.subject.id
    )
    if address:
        send_mail_in(
            request.dbsession,
            to=address,
            subject=_("Your copy of your consent"),
            template="mail/consent_copy.jinja2",
            application_url=request.application_url,
            locale=context.record.language,
            attachments=[Attachment("consent.pdf", "application/pdf", context.record.pdf)],
        )
    request.session.flash(request.localizer.translate(_("The consent is countersigned.")))
    return redirect(request, request.resource_url(context))


@view_config(
    context=ConsentRecordResource, name="reject", request_method="POST", permission=Permission.SIGN
)
def reject(context: ConsentRecordResource, request: Request) -> Response:
    try:
        services.reject(
            request.dbsession, request.actor, context.record, request.POST.get("reason", "")
        )
    except ValidationError as error:
        data = _record_data(request, context, errors={error.field: error.message})
        return _render(request, RECORD_PAGE, data, 422)
    except services.Refused:
        raise HTTPNotFound() from None
    request.session.flash(request.localizer.translate(_("The consent is rejected.")))
    return redirect(request, request.resource_url(context))


@view_config(
    context=ConsentRecordResource,
    name="withdraw",
    request_method="POST",
    permission=Permission.ENROL_SUBJECT,
)
def withdraw(context: ConsentRecordResource, request: Request) -> Response:
    zone = ZoneInfo(context.site.timezone or context.study.timezone)
    try:
        services.withdraw(
            request.dbsession,
            request.actor,
            context.record,
            on=request.POST.get("withdrawn_on", ""),
            scope=request.POST.getall("scope"),
            reason=request.POST.get("reason", ""),
            today=today_in(zone),
        )
    except ValidationError as error:
        data = _record_data(
            request, context, errors={error.field: error.message}, values=request.POST
        )
        return _render(request, RECORD_PAGE, data, 422)
    except services.Refused:
        raise HTTPNotFound() from None
    request.session.flash(request.localizer.translate(_("The withdrawal is recorded.")))
    return redirect(request, request.resource_url(context))


def _pdf_response(record: ConsentRecord, label: str) -> Response:
    if record.pdf is None:
        raise HTTPNotFound()
    response = Response(body=record.pdf, content_type="application/pdf")
    response.content_disposition = f'attachment; filename="consent-{label}-{record.id}.pdf"'
    response.headers["X-Content-SHA256"] = record.pdf_hash or ""
    return response


@view_config(
    context=ConsentRecordResource, name="pdf", request_method=READ, permission=Permission.VIEW_PII
)
def pdf(context: ConsentRecordResource, request: Request) -> Response:
    audit.record(
        request.dbsession,
        request.actor,
        tenant_id=context.record.tenant_id,
        study_id=context.record.study_id,
        site_id=context.record.site_id,
        subject_id=context.record.subject_id,
        action="consent.pdf_read",
        entity_type="consent_record",
        entity_id=context.record.id,
    )
    return _pdf_response(context.record, context.subject.label)


@view_config(
    context=SubjectConsentResource, name="pdf", request_method=READ, permission=Permission.RESPOND
)
def subject_pdf(context: SubjectConsentResource, request: Request) -> Response:
    return _pdf_response(context.record, context.subject.label)


# --- the subject's way in by link ---------------------------------------------------------------


def _address(request: Request) -> str:
    return request.client_address or "unknown"


def _links_throttled(request: Request) -> bool:
    return check_address(
        request.dbsession, request.registry, _address(request), Bucket.SUBJECT_LINK
    ).blocked


def _link(request: Request, token: str) -> SubjectLink | None:
    link = None
    if token and len(token) <= 100:
        link = request.dbsession.scalar(
            select(SubjectLink).where(
                SubjectLink.token_hash == token_hash(token),
                SubjectLink.purpose == services.LINK_PURPOSE,
            )
        )
    if link is None or link.used_at is not None or link.expires_at <= datetime.now(UTC):
        record_attempt(
            request.dbsession,
            request.registry,
            LINK_ATTEMPTS,
            _address(request),
            succeeded=False,
            bucket=Bucket.SUBJECT_LINK,
        )
        keep_writes(request)
        return None
    return link


def _unavailable(request: Request, status: int = 404) -> Response:
    return _render(request, "errors/subject_unavailable.jinja2", {}, status)


@view_config(
    context=SubjectArea,
    name="consent-start",
    request_method=READ,
    permission=NO_PERMISSION_REQUIRED,
)
def consent_start_page(context: SubjectArea, request: Request) -> Response:
    """What a consent link opens: a Start button (nothing consumed by a GET)."""
    if _links_throttled(request):
        return _unavailable(request, 429)
    token = request.subpath[0] if len(request.subpath) == 1 else ""
    if _link(request, token) is None:
        return _unavailable(request)
    return _render(
        request,
        "consent/start.jinja2",
        {"token": token, "action": request.resource_path(context, "@@consent-start")},
    )


@view_config(
    context=SubjectArea,
    name="consent-start",
    request_method="POST",
    permission=NO_PERMISSION_REQUIRED,
)
def consent_start(context: SubjectArea, request: Request) -> Response:
    """The Start: the link is spent for a subject session leading to their consents. The
    session alone signs nothing: the identity check comes before the signature."""
    if _links_throttled(request):
        return _unavailable(request, 429)
    link = _link(request, request.POST.get("token", ""))
    if link is None:
        return _unavailable(request)
    request.session.invalidate()
    response = HTTPSeeOther(
        location=request.resource_url(context, SUBJECT_HOME_NAME, "consent", "")
    )
    open_subject_session(
        request,
        response,
        tenant_id=link.tenant_id,
        study_id=link.study_id,
        subject_id=link.subject_id,
        link_id=link.id,
    )
    link.used_at = datetime.now(UTC)
    subject = request.dbsession.get(Subject, link.subject_id)
    actor = Actor.subject(
        link.subject_id,
        tenant_id=link.tenant_id,
        address=request.client_address,
        request_id=request.request_id,
    )
    audit.record_subject(
        request.dbsession,
        actor,
        subject,
        action="consent.link_used",
        entity_type="subject_link",
        entity_id=link.id,
    )
    return response


@view_config(
    context=SubjectConsentsResource,
    request_method=READ,
    permission=Permission.RESPOND,
    renderer="consent/subject_list.jinja2",
)
def subject_list(context: SubjectConsentsResource, request: Request) -> dict[str, Any]:
    rows = request.dbsession.execute(
        select(ConsentRecord, ConsentVersion)
        .join(ConsentVersion, ConsentVersion.id == ConsentRecord.version_id)
        .where(ConsentRecord.subject_id == context.home.subject.id)
        .order_by(ConsentRecord.id.desc())
    ).all()
    return {
        "rows": [(r, services.text_of(v, r.language)) for r, v in rows],
        "remote": IdentityMethod.REMOTE,
    }
