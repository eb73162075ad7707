"""eConsult appointments: a site's video provider is a link template (``https://…{uid}…``) the
appointment's stable UID fills, so the staff member, the subject and every calendar reach the
same room, before and after a move."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.models import Appointment, Site, SiteVideo
from datacapt.validation import ValidationError

FIELD = "video_link"
PLACEHOLDER = "{uid}"


def clean_template(raw: str) -> str:
    """An https address holding ``{uid}`` (empty: no provider)."""
    template = raw.strip()
    if not template:
        return ""
    parts = urlsplit(template.replace(PLACEHOLDER, "x"))
    if len(template) > 300 or parts.scheme != "https" or not parts.hostname or " " in template:
        raise ValidationError(
            FIELD,
            _(
                "Enter an https address, for example ${example}.",
                mapping={"example": "https://meet.example.org/{uid}"},
            ),
        )
    if PLACEHOLDER not in template:
        raise ValidationError(
            FIELD, _("The address must hold {uid}, where each appointment's room goes.")
        )
    return template


def template_of(dbsession: Session, site_id: int) -> str | None:
    row = dbsession.get(SiteVideo, site_id)
    return row.link_template if row is not None else None


def set_template(dbsession: Session, site: Site, raw: str, actor: Actor) -> None:
    """Keep (or, empty, remove) the site's link template; audited old → new."""
    template = clean_template(raw)
    row = dbsession.get(SiteVideo, site.id)
    old = row.link_template if row is not None else None
    if row is not None and not template:
        dbsession.delete(row)
    elif template:
        row = row or SiteVideo(site_id=site.id, tenant_id=site.tenant_id, study_id=site.study_id)
        row.link_template = template
        dbsession.add(row)
    audit.record(
        dbsession,
        actor,
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        action="site.video_changed",
        entity_type="site",
        entity_id=site.id,
        old=old,
        new=template or None,
    )


def link(template: str | None, appointment: Appointment) -> str | None:
    """The appointment's video link: the UID's unique part (before ``@``) in the template."""
    if not appointment.video or not template:
        return None
    return template.replace(PLACEHOLDER, appointment.uid.split("@", 1)[0])
