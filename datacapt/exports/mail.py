"""Telling the requester that their export is ready, or failed: a link to the study's Exports
page, in their language; never the data, never a value, never a personal detail."""

from __future__ import annotations

from datacapt.exports.services import KEPT_FOR
from datacapt.i18n import _
from datacapt.jobs import JobContext, job
from datacapt.mail import send_mail_in
from datacapt.models import DataExport, Study, Tenant, User
from datacapt.models.exports import ExportState

MAIL_EXPORT = "exports.mail"


@job(MAIL_EXPORT)
def mail_export(ctx: JobContext, export_id: int, application_url: str) -> None:
    """Mail the requester of a finished export; nothing for one that is not finished."""
    dbsession = ctx.dbsession
    row = dbsession.get(DataExport, export_id)
    if row is None or row.requested_by_id is None:
        return
    if row.state not in (ExportState.DONE, ExportState.FAILED):
        return
    user = dbsession.get(User, row.requested_by_id)
    study = dbsession.get(Study, row.study_id)
    tenant = dbsession.get(Tenant, row.tenant_id)
    if user is None or study is None or tenant is None:
        return
    ready = row.state is ExportState.DONE
    mapping = {"number": row.id, "code": study.code}
    send_mail_in(
        dbsession,
        to=user,
        subject=(
            _("Export ${number} of ${code} is ready", mapping=mapping)
            if ready
            else _("Export ${number} of ${code} failed", mapping=mapping)
        ),
        template="mail/export_finished.jinja2",
        application_url=application_url,
        ready=ready,
        number=row.id,
        study=study,
        export_format=row.options["format"],
        link=f"{application_url}/{tenant.slug}/{study.code}/exports/",
        days=KEPT_FOR.days,
    )
