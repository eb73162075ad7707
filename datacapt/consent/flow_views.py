"""The subject's way through a consent, on a phone: read section by section, answer the
questions, review the document, check identity (remote), sign.

The same pages serve two places: the staff tree (``consent/records/<id>/``, in person: the site
confirmed the identity on their own session and hands the device over) and the subjects' area
(``/p/s/consent/<id>/``, remote: the subject passes the code and date-of-birth check in this
very session). A subject session opened by a link alone never signs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.actor import Actor
from datacapt.consent import services
from datacapt.db import keep_writes
from datacapt.htmx import READ, redirect
from datacapt.i18n import _
from datacapt.mail import send_mail_in, translate_in
from datacapt.models import ConsentStatus, IdentityMethod
from datacapt.permissions import Permission
from datacapt.resources.consent import ConsentRecordResource
from datacapt.resources.subject_area import SubjectConsentResource
from datacapt.security import SubjectIdentity
from datacapt.sms import send_sms_in
from datacapt.validation import ValidationError, whole_number

Context = ConsentRecordResource | SubjectConsentResource
#: The identity code by text message: the code alone, no study or health information.
CODE_TEXT = _("Your code: ${code}")
#: Who walks through the flow where: site staff handing the device over, or the subject.
PLACES = (
    (ConsentRecordResource, Permission.ENROL_SUBJECT),
    (SubjectConsentResource, Permission.RESPOND),
)


def on_both(name: str, method: Any, **options: Any) -> Any:
    def decorate(function: Any) -> Any:
        for context, permission in PLACES:
            function = view_config(
                context=context, name=name, request_method=method, permission=permission, **options
            )(function)
        return function

    return decorate


@dataclass
class Flow:
    context: Context
    request: Request

    @property
    def record(self) -> Any:
        return self.context.record

    @property
    def text(self) -> dict[str, Any]:
        return services.text_of(self.context.version, self.record.language)

    @property
    def sections(self) -> list[dict[str, str]]:
        return list(self.text.get("sections", []))

    @property
    def questions(self) -> list[dict[str, Any]]:
        return list(self.text.get("questions", []))

    @property
    def staff(self) -> bool:
        return isinstance(self.context, ConsentRecordResource)

    @property
    def session_id(self) -> int | None:
        identity = self.request.identity
        return identity.session_id if isinstance(identity, SubjectIdentity) else None

    @property
    def zone(self) -> str:
        return self.context.site.timezone or self.context.study.timezone

    def document(self) -> Markup:
        translate = self.request.localizer.translate
        labels = {
            "version": translate(_("Version")),
            "dated": translate(_("dated")),
            "ethics": translate(_("ethics approval")),
        }
        return services.render_document(self.context.version, self.record.language, labels)

    def step(self) -> str:
        return services.next_step(self.record, len(self.sections), len(self.questions))

    def may_sign(self) -> bool:
        return services.may_sign(self.record, staff=self.staff, subject_session_id=self.session_id)

    def data(self, **extra: Any) -> dict[str, Any]:
        return {
            "flow": self,
            "record": self.record,
            "version": self.context.version,
            "text": self.text,
            "errors": {},
            **extra,
        }

    def subject_actor(self) -> Actor:
        """The subject signing (on the staff's device in person, in their session remote)."""
        return Actor.subject(
            self.record.subject_id,
            tenant_id=self.record.tenant_id,
            address=self.request.client_address,
            request_id=self.request.request_id,
        )


def _open(flow: Flow) -> None:
    """Only a consent waiting for the subject's signature is walked through."""
    if flow.record.status is not ConsentStatus.NEEDS_SIGNATURE or flow.record.withdrawn_on:
        raise HTTPNotFound()


def _render(request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
    response = render_to_response(template, data, request=request)
    response.status_int = status
    return response


@view_config(
    context=SubjectConsentResource,
    request_method=READ,
    permission=Permission.RESPOND,
    renderer="consent/overview.jinja2",
)
def subject_overview(context: SubjectConsentResource, request: Request) -> dict[str, Any]:
    return Flow(context, request).data()


@on_both("read", READ)
def read_page(context: Context, request: Request) -> Response:
    flow = Flow(context, request)
    _open(flow)
    if not flow.sections:
        raise HTTPNotFound()
    number = min(whole_number(request.GET.get("section")) or 0, len(flow.sections) - 1)
    return _render(
        request,
        "consent/read.jinja2",
        flow.data(number=number, section=flow.sections[number], count=len(flow.sections)),
    )


@on_both("read", "POST")
def read(context: Context, request: Request) -> Response:
    flow = Flow(context, request)
    _open(flow)
    number = min(whole_number(request.POST.get("section")) or 0, len(flow.sections) - 1)
    services.mark_read(flow.record, number, len(flow.sections))
    if number + 1 < len(flow.sections):
        return redirect(
            request, request.resource_url(context, "@@read", query={"section": number + 1})
        )
    return redirect(request, request.resource_url(context, "@@" + flow.step()))


@on_both("quiz", READ)
def quiz_page(context: Context, request: Request) -> Response:
    flow = Flow(context, request)
    _open(flow)
    return _render(request, "consent/quiz.jinja2", flow.data(chosen={}, wrong={}))


@on_both("quiz", "POST")
def quiz(context: Context, request: Request) -> Response:
    flow = Flow(context, request)
    _open(flow)
    posted = {f"q{i}": request.POST.get(f"q{i}", "") for i in range(len(flow.questions))}
    wrong = services.check_answers(flow.record, flow.questions, posted)
    if wrong:
        return _render(request, "consent/quiz.jinja2", flow.data(chosen=posted, wrong=wrong), 422)
    return redirect(request, request.resource_url(context, "@@review"))


@on_both("review", READ)
def review_page(context: Context, request: Request) -> Response:
    flow = Flow(context, request)
    _open(flow)
    document = flow.document()
    return _render(
        request,
        "consent/review.jinja2",
        flow.data(document=document, hash=services.document_hash(document)),
    )


@on_both("review", "POST")
def review(context: Context, request: Request) -> Response:
    flow = Flow(context, request)
    _open(flow)
    current = services.document_hash(flow.document())
    try:
        services.mark_reviewed(flow.record, request.POST.get("hash", ""), current)
    except services.Refused:
        return redirect(request, request.resource_url(context, "@@review"))
    if flow.staff or flow.may_sign():
        return redirect(request, request.resource_url(context, "@@sign"))
    return redirect(request, request.resource_url(context, "@@identity"))


def _sign_data(flow: Flow, **extra: Any) -> dict[str, Any]:
    document = flow.document()
    extra.setdefault("values", {})
    return flow.data(
        document=document,
        hash=services.document_hash(document),
        meaning=services.SUBJECT_MEANING,
        **extra,
    )


@on_both("sign", READ)
def sign_page(context: Context, request: Request) -> Response:
    flow = Flow(context, request)
    _open(flow)
    if flow.step() != "sign":
        return redirect(request, request.resource_url(context, "@@" + flow.step()))
    if not flow.may_sign():
        if not flow.staff and flow.record.identity_method is IdentityMethod.REMOTE:
            return redirect(request, request.resource_url(context, "@@identity"))
        raise HTTPForbidden()
    return _render(request, "consent/sign.jinja2", _sign_data(flow))


@on_both("sign", "POST")
def sign(context: Context, request: Request) -> Response:
    flow = Flow(context, request)
    _open(flow)
    if not flow.may_sign():
        raise HTTPForbidden()  # a link's session alone, or the wrong place for this method
    document = flow.document()
    signature = services.SubjectSignature(
        printed_name=request.POST.get("printed_name", ""),
        agreed=request.POST.get("agreed") == "1",
        representative_name=request.POST.get("representative_name", ""),
        representative_relation=request.POST.get("representative_relation", ""),
        witness_name=request.POST.get("witness_name", ""),
    )
    try:
        services.sign(
            request.dbsession,
            flow.subject_actor(),
            flow.record,
            signature,
            document_html=str(document),
            meaning=request.localizer.translate(services.SUBJECT_MEANING),
            zone=flow.zone,
            sections=len(flow.sections),
            questions=len(flow.questions),
            staff_witness_id=request.identity.user.id if flow.staff else None,
        )
    except ValidationError as error:
        data = _sign_data(flow, errors={error.field: error.message}, values=request.POST)
        return _render(request, "consent/sign.jinja2", data, 422)
    except services.Refused as refused:
        data = _sign_data(flow, errors={"printed_name": refused.message}, values=request.POST)
        return _render(request, "consent/sign.jinja2", data, 422)
    return redirect(request, request.resource_url(context, "@@done"))


@on_both("done", READ)
def done(context: Context, request: Request) -> Response:
    return _render(request, "consent/done.jinja2", Flow(context, request).data())


# --- remote identity check ----------------------------------------------------------------------


def _remote(flow: Flow) -> None:
    _open(flow)
    if flow.record.identity_method is not IdentityMethod.REMOTE:
        raise HTTPNotFound()


@view_config(
    context=SubjectConsentResource,
    name="identity",
    request_method=READ,
    permission=Permission.RESPOND,
)
def identity_page(context: SubjectConsentResource, request: Request) -> Response:
    flow = Flow(context, request)
    _remote(flow)
    return _render(request, "consent/identity.jinja2", flow.data(sent=False))


@view_config(
    context=SubjectConsentResource,
    name="identity-code",
    request_method="POST",
    permission=Permission.RESPOND,
)
def identity_code(context: SubjectConsentResource, request: Request) -> Response:
    """Send a fresh code by the subject's channel on file: a text message when they prefer
    them, else a mail (either says nothing but the code)."""
    flow = Flow(context, request)
    _remote(flow)
    code = services.issue_code(request.dbsession, request.actor, flow.record)
    reach = services.code_reach(
        request.dbsession, request.registry, request.actor, flow.record.subject_id
    )
    if reach is not None and reach.channel == "sms":
        body = translate_in(request.registry, request.locale_name, CODE_TEXT, code=code)
        send_sms_in(request.dbsession, to=reach.address, body=body)
    elif reach is not None:
        send_mail_in(
            request.dbsession,
            to=reach.address,
            subject=_("Your code"),
            template="mail/consent_code.jinja2",
            application_url=request.application_url,
            locale=request.locale_name,
            code=code,
        )
    return _render(request, "consent/identity.jinja2", flow.data(sent=True))


@view_config(
    context=SubjectConsentResource,
    name="identity",
    request_method="POST",
    permission=Permission.RESPOND,
)
def identity(context: SubjectConsentResource, request: Request) -> Response:
    flow = Flow(context, request)
    _remote(flow)
    try:
        services.verify_identity(
            request.dbsession,
            request.registry,
            request.actor,
            flow.record,
            session_id=flow.session_id or 0,
            code=request.POST.get("code", ""),
            birth_date=request.POST.get("birth_date", ""),
        )
    except ValidationError as error:
        keep_writes(request)  # the failure counts
        data = flow.data(sent=True, errors={error.field: error.message})
        return _render(request, "consent/identity.jinja2", data, 422)
    return redirect(request, request.resource_url(context, "@@" + flow.step()))
