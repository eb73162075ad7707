"""What review publishes for other capabilities to react to (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass

from datacapt.models import FormInstance
from datacapt.reactions import Event


@dataclass(frozen=True)
class FormsVerified(Event):
    """A monitor verified values of these forms; their ``sdv_status`` is the new one."""

    instances: list[FormInstance]
