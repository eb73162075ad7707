"""The study's design: ``design/`` → ``forms/{name}``, ``schedule``, ``versions/{number}``.

The design node loads the study's versions once (the draft, and the latest published one); the
nodes below work on the *working* version: the draft when there is one, else the latest
published version, shown read-only with an offer to start a new draft.
"""

from __future__ import annotations

from functools import cached_property

from datacapt.ecrf import versions
from datacapt.ecrf.definition import Definition, Form
from datacapt.i18n import _
from datacapt.models import StudyVersion
from datacapt.permissions import Permission
from datacapt.resources.base import Resource, StudyChild
from datacapt.validation import whole_number


class DesignResource(StudyChild):
    __name__ = "design"
    #: Everyone who sees the study may know it has a design: others get 403, not 404.
    view_permission = Permission.VIEW_STUDY

    @property
    def title(self) -> object:
        return _("Design")

    @cached_property
    def draft(self) -> StudyVersion | None:
        return versions.draft(self.dbsession, self.study)

    @cached_property
    def published(self) -> StudyVersion | None:
        return versions.latest_published(self.dbsession, self.study)

    @property
    def working(self) -> StudyVersion | None:
        return self.draft or self.published

    @cached_property
    def definition(self) -> Definition:
        working = self.working
        return versions.definition_of(working) if working is not None else Definition()

    def __getitem__(self, name: str) -> Resource:
        if name == "forms":
            return DesignFormsResource(self)
        if name == "schedule":
            return ScheduleResource(self)
        if name == "versions":
            return VersionsResource(self)
        raise KeyError(name)


class DesignChild(StudyChild):
    view_permission = Permission.VIEW_STUDY

    def __init__(self, parent: DesignResource | DesignChild) -> None:
        super().__init__(parent)
        self.design: DesignResource = (
            parent if isinstance(parent, DesignResource) else parent.design
        )


class DesignFormsResource(DesignChild):
    __name__ = "forms"

    @property
    def title(self) -> object:
        return _("Forms")

    def __getitem__(self, name: str) -> FormDesignResource:
        form = self.design.definition.form(name)
        if form is None:
            raise KeyError(name)
        return FormDesignResource(self, form)


class FormDesignResource(DesignChild):
    def __init__(self, parent: DesignFormsResource, form: Form) -> None:
        super().__init__(parent)
        self.__name__ = form.name
        self.form = form

    @property
    def title(self) -> object:
        return self.form.name


class ScheduleResource(DesignChild):
    __name__ = "schedule"

    @property
    def title(self) -> object:
        return _("Schedule")


class VersionsResource(DesignChild):
    __name__ = "versions"

    @property
    def title(self) -> object:
        return _("Versions")

    def __getitem__(self, key: str) -> VersionResource:
        number = whole_number(key)
        found = versions.version(self.dbsession, self.study, number) if number else None
        if found is None:
            raise KeyError(key)
        return VersionResource(self, found)


class VersionResource(DesignChild):
    def __init__(self, parent: VersionsResource, study_version: StudyVersion) -> None:
        super().__init__(parent)
        self.__name__ = str(study_version.number)
        self.version = study_version

    @property
    def title(self) -> object:
        return _("Version ${number}", mapping={"number": self.version.number})

    @cached_property
    def definition(self) -> Definition:
        return versions.definition_of(self.version)
