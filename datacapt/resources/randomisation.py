"""A study's randomisation: ``randomisation/`` (design, lists, go-live, randomisations).

Seeing it at all takes ``MANAGE_RANDOMISATION``: to everyone else it does not exist (404), so a
blinded person learns nothing from its URL."""

from __future__ import annotations

from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources.base import StudyChild


class RandomisationResource(StudyChild):
    __name__ = "randomisation"
    view_permission = Permission.MANAGE_RANDOMISATION

    @property
    def title(self) -> object:
        return _("Randomisation")
