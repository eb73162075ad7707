"""The study's queries: ``queries/`` (the list) → ``{number}/`` (one query and its thread).

A query is loaded through its study's id, and its ACL is its site's: a user restricted to other
sites gets a 404, exactly as for the subject the query is about.
"""

from __future__ import annotations

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.i18n import _
from datacapt.models import Query
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import StudyChild


class QueriesResource(StudyChild):
    __name__ = "queries"
    view_permission = Permission.VIEW_STUDY

    @property
    def title(self) -> object:
        return _("Queries")

    def __getitem__(self, key: str) -> QueryResource:
        if not (key.isascii() and key.isdigit()) or len(key) > 9:
            raise KeyError(key)
        query = self.dbsession.scalar(
            select(Query).where(Query.study_id == self.study.id, Query.number == int(key))
        )
        if query is None:
            raise KeyError(key)
        return QueryResource(self, query)


class QueryResource(StudyChild):
    view_permission = Permission.VIEW_SUBJECT

    def __init__(self, parent: StudyChild, query: Query) -> None:
        super().__init__(parent)
        self.query = query
        self.__name__ = str(query.number)

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.site_acl(self.study.id, self.query.site_id)

    @property
    def title(self) -> object:
        return _("Query ${number}", mapping={"number": self.query.number})
