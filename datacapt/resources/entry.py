"""Below a subject: ``{visit}/`` → ``{form}/``, keyed as :mod:`datacapt.ecrf.casebook` says.

A scheduled visit or a non-log form may not have been entered yet (its instance is None); a
repeat, an unscheduled visit and a log row exist only once added, so their keys are otherwise
not found.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import select

from datacapt import permissions as perms
from datacapt.ecrf.casebook import UNSCHEDULED, is_log, parse_key, visit_forms
from datacapt.ecrf.definition import Form, Item, Visit, form_items, text_in
from datacapt.ecrf.versions import PublishedDesign
from datacapt.i18n import _
from datacapt.models import FormInstance, SignatureState, VisitInstance
from datacapt.permissions import ACE, Permission
from datacapt.resources.base import StudyChild
from datacapt.resources.path import UNKNOWN, known


class VisitResource(StudyChild):
    view_permission = Permission.VIEW_SUBJECT

    def __init__(
        self,
        parent: StudyChild,
        design: PublishedDesign,
        name: str,
        repeat: int,
        visit: Visit | None,
        instance: VisitInstance | None,
    ) -> None:
        super().__init__(parent)
        self.subject, self.site = parent.subject, parent.site  # type: ignore[attr-defined]
        self.design, self.name, self.repeat = design, name, repeat
        self.visit, self.instance = visit, instance
        self.__name__ = name if name != UNSCHEDULED and repeat == 1 else f"{name}-{repeat}"

    def __acl__(self) -> tuple[ACE, ...]:
        """A visit frozen or locked as a whole refuses new log rows and forms started after;
        one not entered yet has no state of its own and takes its casebook's."""
        if self.instance is None:
            return ()
        return perms.form_state_acl(self.instance.lock_state, False)

    @property
    def title(self) -> object:
        if self.visit is None:
            return _("Unscheduled visit ${number}", mapping={"number": self.repeat})
        language = self.design.definition.default_language
        title = text_in(self.visit.title, self.request.locale_name, language)
        return title if self.repeat == 1 else f"{title} ({self.repeat})"

    @cached_property
    def forms(self) -> list[Form]:
        return visit_forms(self.design.definition, self.name)

    def __getitem__(self, key: str) -> FormEntryResource:
        parsed = parse_key(key)
        form = next((f for f in self.forms if parsed and f.name == parsed[0]), None)
        if parsed is None or form is None or ("-" in key) != is_log(form):
            raise KeyError(key)
        instance = None
        if self.instance is not None:
            instance = known(self.request, "form", self.instance.id, form.name, parsed[1])
        if self.instance is not None and instance is UNKNOWN:
            instance = self.dbsession.scalar(
                select(FormInstance).where(
                    FormInstance.visit_instance_id == self.instance.id,
                    FormInstance.form == form.name,
                    FormInstance.repeat == parsed[1],
                )
            )
        if is_log(form) and instance is None:
            raise KeyError(key)
        return FormEntryResource(self, form, parsed[1], instance)


class FormEntryResource(StudyChild):
    view_permission = Permission.VIEW_SUBJECT

    def __init__(
        self, parent: VisitResource, form: Form, repeat: int, instance: FormInstance | None
    ) -> None:
        super().__init__(parent)
        self.visit_node = parent
        self.subject, self.site = parent.subject, parent.site
        self.form, self.repeat, self.instance = form, repeat, instance
        self.__name__ = f"{form.name}-{repeat}" if is_log(form) else form.name

    def __acl__(self) -> tuple[ACE, ...]:
        """Frozen, locked and signed forms refuse what their state forbids (read from the row
        already loaded)."""
        instance = self.instance
        if instance is None:
            return ()
        return perms.form_state_acl(
            instance.lock_state, instance.signature_state is SignatureState.SIGNED
        )

    @cached_property
    def items(self) -> list[Item]:
        """The form's questions in page order, listed once a request (a page reads them for
        its masked items, its file items and its saved missing-data codes)."""
        return form_items(self.form)

    @property
    def title(self) -> object:
        language = self.visit_node.design.definition.default_language
        title = text_in(self.form.title, self.request.locale_name, language)
        return title if not is_log(self.form) else f"{title} ({self.repeat})"
