"""A study's imports: ``imports/`` (the page) → ``{id}/`` (one import, its dry run's report).

An import is loaded through its study's id, so another study's or tenant's import number is a
404; who may see imports at all is the study-wide ``IMPORT_DATA``."""

from __future__ import annotations

from sqlalchemy import select

from datacapt.i18n import _
from datacapt.models import DataImport
from datacapt.permissions import Permission
from datacapt.resources.base import StudyChild


class ImportsResource(StudyChild):
    __name__ = "imports"
    view_permission = Permission.IMPORT_DATA

    @property
    def title(self) -> object:
        return _("Imports")

    def __getitem__(self, key: str) -> ImportResource:
        if not (key.isascii() and key.isdigit()) or len(key) > 12:
            raise KeyError(key)
        found = self.dbsession.scalar(
            select(DataImport).where(
                DataImport.study_id == self.study.id, DataImport.id == int(key)
            )
        )
        if found is None:
            raise KeyError(key)
        return ImportResource(self, found)


class ImportResource(StudyChild):
    view_permission = Permission.IMPORT_DATA

    def __init__(self, parent: ImportsResource, data_import: DataImport) -> None:
        super().__init__(parent)
        self.data_import = data_import
        self.__name__ = str(data_import.id)

    @property
    def title(self) -> object:
        return _("Import ${number}", mapping={"number": self.data_import.id})
