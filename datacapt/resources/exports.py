"""A study's exports: ``exports/`` (the page) → ``{id}/`` (one export and its file).

An export is loaded through its study's id, so another study's or tenant's export number is a
404; who may see exports at all is the study-wide ``VIEW_EXPORTS`` (starting one takes
``EXPORT_DATA``)."""

from __future__ import annotations

from sqlalchemy import select

from datacapt.i18n import _
from datacapt.models import DataExport
from datacapt.permissions import Permission
from datacapt.resources.base import StudyChild


class ExportsResource(StudyChild):
    __name__ = "exports"
    view_permission = Permission.VIEW_EXPORTS

    @property
    def title(self) -> object:
        return _("Exports")

    def __getitem__(self, key: str) -> ExportResource:
        if not (key.isascii() and key.isdigit()) or len(key) > 12:
            raise KeyError(key)
        export = self.dbsession.scalar(
            select(DataExport).where(
                DataExport.study_id == self.study.id, DataExport.id == int(key)
            )
        )
        if export is None:
            raise KeyError(key)
        return ExportResource(self, export)


class ExportResource(StudyChild):
    view_permission = Permission.VIEW_EXPORTS

    def __init__(self, parent: ExportsResource, export: DataExport) -> None:
        super().__init__(parent)
        self.export = export
        self.__name__ = str(export.id)

    @property
    def title(self) -> object:
        return _("Export ${number}", mapping={"number": self.export.id})
