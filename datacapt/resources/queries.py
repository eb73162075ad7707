"""The study's queries: ``queries/`` (the list) → ``{number}/`` (one query and its thread).

A query is loaded through its study's id, and its ACL is its site's: a user restricted to other
sites gets a 404, exactly as for the subject the query is about. The state of what it sits on
comes first: a locked form's (visit's, casebook's) queries can be neither answered, closed nor
re-opened, as on the form (visit, casebook) itself.
"""

from __future__ import annotations

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.i18n import _
from datacapt.models import FormInstance, Query, Subject, VisitInstance
from datacapt.models.entry import LockState, SignatureState
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
            select(Query, FormInstance, VisitInstance.lock_state, Subject.lock_state)
            .join(Subject, Subject.id == Query.subject_id)
            .outerjoin(FormInstance, FormInstance.id == Query.form_instance_id)
            .outerjoin(VisitInstance, VisitInstance.id == Query.visit_instance_id)
            .where(Query.study_id == self.study.id, Query.number == int(key))
        ).first()
        if found is None:
            raise KeyError(key)
        query, instance, visit_state, subject_state = found
        return QueryResource(self, query, instance, visit_state or subject_state)


class QueryResource(StudyChild):
    view_permission = Permission.VIEW_SUBJECT

    def __init__(
        self,
        parent: StudyChild,
        query: Query,
        instance: FormInstance | None,
        place_state: LockState | None = None,
    ) -> None:
        """``instance``: the form a form's query sits on; ``place_state``: the state of the
        visit or casebook a query on a whole visit or on the subject sits on."""
        super().__init__(parent)
        self.query, self.instance, self.place_state = query, instance, place_state
        self.__name__ = str(query.number)

    def __acl__(self) -> tuple[ACE, ...]:
        state: tuple[ACE, ...] = ()
        if self.instance is not None:
            state = perms.form_state_acl(
                self.instance.lock_state.value,
                self.instance.signature_state is SignatureState.SIGNED,
            )
        elif self.place_state is not None:
            state = perms.form_state_acl(self.place_state.value, False)
        # The list's bulk close grants RAISE_QUERY to the holders of any site: one query's steps
        # take it at the query's site alone.
        return (
            state
            + perms.site_acl(self.study.id, self.query.site_id)
            + perms.only_at_site_acl(self.study.id, self.query.site_id, Permission.RAISE_QUERY)
        )

    @property
    def title(self) -> object:
        return _("Query ${number}", mapping={"number": self.query.number})
