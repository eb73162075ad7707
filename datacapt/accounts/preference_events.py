"""What the preferences page publishes, so that other capabilities show their own preferences
there without accounts knowing them (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyramid.request import Request

from datacapt.reactions import Event


@dataclass(frozen=True)
class PreferencesShown(Event):
    """The preferences page is rendered: capabilities add their sections to ``sections``, each
    a template (with its own form, posting to the capability's view) and its values, shown as
    ``section`` to the template."""

    request: Request
    sections: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
