"""A study's staff messages: ``messages/`` (the threads one may read) → ``{id}/`` (a thread).

A thread is loaded through its study's id and belongs to one site: its node carries that site's
grants, so someone restricted to another site is refused it like the site's subjects."""

from __future__ import annotations

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.i18n import _
from datacapt.models import MessageThread
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import StudyChild


class MessagesResource(StudyChild):
    __name__ = "messages"
    view_permission = Permission.VIEW_STUDY

    def __acl__(self) -> tuple[ACE, ...]:
        """Open to whoever writes messages at a site of the study; the list then keeps the
        threads of the sites each may read."""
        return perms.some_site_acl(self.study.id, Permission.MESSAGE)

    @property
    def title(self) -> object:
        return _("Messages")

    def __getitem__(self, key: str) -> ThreadResource:
        if not (key.isascii() and key.isdigit()) or len(key) > 12:
            raise KeyError(key)
        thread = self.dbsession.scalar(
            select(MessageThread).where(
                MessageThread.study_id == self.study.id, MessageThread.id == int(key)
            )
        )
        if thread is None:
            raise KeyError(key)
        return ThreadResource(self, thread)


class ThreadResource(StudyChild):
    view_permission = Permission.VIEW_SITE

    def __init__(self, parent: MessagesResource, thread: MessageThread) -> None:
        super().__init__(parent)
        self.thread = thread
        self.__name__ = str(thread.id)

    def __acl__(self) -> tuple[ACE, ...]:
        return perms.only_at_site_acl(self.study.id, self.thread.site_id, Permission.MESSAGE)

    @property
    def title(self) -> object:
        return self.thread.topic
