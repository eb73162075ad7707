"""Recording the date a visit took place, from the visit's page."""

from __future__ import annotations

from typing import Any

from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.entry.views import visit_page
from datacapt.htmx import redirect
from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources import VisitResource
from datacapt.subjects import visit_dates
from datacapt.validation import ValidationError

VISIT_PAGE = "entry/visit.jinja2"


@view_config(
    context=VisitResource,
    name="visit-date",
    request_method="POST",
    permission=Permission.ENTER_DATA,
)
def save_visit_date(context: VisitResource, request: Request) -> Response:
    """A date outside the window is saved with a warning, or refused (422, the message next to
    the field) when the study says so."""
    try:
        on = visit_dates.parse_date(request.POST.get("visit_date", ""))
        dated = visit_dates.set_visit_date(
            request.dbsession,
            context.study,
            context.subject,
            context.design.definition.schedule,
            (context.name, context.repeat, context.instance),
            on,
            reason=request.POST.get("reason", "").strip()[: visit_dates.MAX_REASON],
            today=request.today,
            actor=request.actor,
        )
    except ValidationError as error:
        return _refused(context, request, {error.field: error.message})
    message = _("The visit date was saved.")
    if dated.outside and dated.timing is not None:
        message = visit_dates.window_message(dated.timing, saved=True)
    request.session.flash(request.localizer.translate(message))
    return redirect(request, request.resource_url(context))


def _refused(context: VisitResource, request: Request, errors: dict[str, Any]) -> Response:
    data = visit_page(context, request)
    data.update(errors=errors, values=request.POST)
    response = render_to_response(VISIT_PAGE, data, request=request)
    response.status_int = 422
    return response
