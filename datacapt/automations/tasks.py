"""The tasks rules create, one worklist per audience (the permission that audience holds)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select

from datacapt.automations.rules import Audience
from datacapt.i18n import _
from datacapt.models import AutomationTask, Site, Subject
from datacapt.permissions import Permission
from datacapt.worklists.registry import Scope, Worklist

TEMPLATE = "automations/_tasks.jinja2"
TITLES = {
    Audience.SITE_STAFF: _("Tasks for site staff"),
    Audience.MONITORS: _("Tasks for monitors"),
    Audience.DATA_MANAGERS: _("Tasks for data managers"),
}
AUDIENCE_PERMISSIONS = {
    Audience.SITE_STAFF: Permission.ENTER_DATA,
    Audience.MONITORS: Permission.VERIFY_SOURCE,
    Audience.DATA_MANAGERS: Permission.LOCK_DATA,
}


def _statement(audience: Audience) -> Any:
    def tasks(scope: Scope) -> Select[Any]:
        return (
            select(
                AutomationTask.id,
                AutomationTask.text,
                AutomationTask.created_at,
                Subject.label,
                Site.code.label("site_code"),
            )
            .outerjoin(Subject, Subject.id == AutomationTask.subject_id)
            .outerjoin(Site, Site.id == AutomationTask.site_id)
            .where(
                AutomationTask.study_id == scope.study.id,
                AutomationTask.audience == audience.value,
                or_(
                    AutomationTask.site_id.in_(scope.site_ids),
                    AutomationTask.site_id.is_(None),
                ),
            )
            .order_by(AutomationTask.created_at.desc(), AutomationTask.id.desc())
        )

    return tasks


TASK_WORKLISTS = [
    Worklist(
        f"tasks-{audience.value.replace('_', '-')}",
        TITLES[audience],
        permission,
        _statement(audience),
        TEMPLATE,
        order=90,
    )
    for audience, permission in AUDIENCE_PERMISSIONS.items()
]
