"""What exports publish for other capabilities to react to (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass

from datacapt.models import DataExport
from datacapt.reactions import Event


@dataclass(frozen=True)
class ExportFinished(Event):
    """An export's job ended: ``export.state`` says done or failed."""

    export: DataExport
