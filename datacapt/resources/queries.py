"""The study's queries: ``queries/`` (the list) → ``{number}/`` (one query and its thread).

A query is loaded through its study's id, and its ACL is its site's: a user restricted to other
sites gets a 404, exactly as for the subject the query is about. Its form's state comes first:
a locked form's queries can be neither answered, closed nor re-opened, as on the form itself.
"""

from __future__ import annotations

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.i18n import _
from datacapt.models import FormInstance, Query
from datacapt.models.entry import SignatureState
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import StudyChild


class QueriesResource(StudyChild):
    __name__ = "queries"
    view_permission = Permission.VIEW_STUDY

    def __acl__(self) -> tuple[ACE, ...]:
        """Closing queries in bulk is open to whoever may close queries at a site of the study;
        the view then keeps only the queries each of them may close."""
        return perms.some_site_acl(self.study.id, Permission.RAISE_QUERY)

    @property
    def title(self) -> object:
        return _("Queries")

    def __getitem__(self, key: str) -> QueryResource:
        if not (key.isascii() and key.isdigit()) or len(key) > 9:
            raise KeyError(key)
        found = self.dbsession.execute(
            select(Query, FormInstance)
            .outerjoin(FormInstance, FormInstance.id == Query.form_instance_id)
            .where(Query.study_id == self.study.id, Query.number == int(key))
        ).first()
        if found is None:
            raise KeyError(key)
        return QueryResource(self, *found)


class QueryResource(StudyChild):
    view_permission = Permission.VIEW_SUBJECT

    def __init__(self, parent: StudyChild, query: Query, instance: FormInstance | None) -> None:
        super().__init__(parent)
        self.query, self.instance = query, instance
        self.__name__ = str(query.number)

    def __acl__(self) -> tuple[ACE, ...]:
        state: tuple[ACE, ...] = ()
        if self.instance is not None:
            state = perms.form_state_acl(
                self.instance.lock_state.value,
                self.instance.signature_state is SignatureState.SIGNED,
            )
        return state + tuple(perms.site_acl(self.study.id, self.query.site_id))

    @property
    def title(self) -> object:
        return _("Query ${number}", mapping={"number": self.query.number})
