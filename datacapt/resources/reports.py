"""A study's reports: ``reports/``, its charts and tables of progress.

Seen by whoever sees the study; what each reader is shown is narrowed to the sites they may see
by the report itself, as on the record status dashboard."""

from __future__ import annotations

from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources.base import StudyChild


class ReportsResource(StudyChild):
    __name__ = "reports"
    view_permission = Permission.VIEW_STUDY

    @property
    def title(self) -> object:
        return _("Reports")
