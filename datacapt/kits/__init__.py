"""Clinical supplies (RTSM): the tenant's product catalogue, a study's kit types mapped to
arms × periods, its kit list (imported whole or not at all), shipments from the depot to the
sites and their receipt, allocation of a kit to a subject at a visit, site inventories with
resupply levels, and a daily job proposing shipments to sites below their minimum.

It reacts to randomisation's :class:`~datacapt.randomisation.events.SubjectRandomised` (a kit
mapped to the period "at randomisation" is allocated in the same transaction) without knowing
its views or services; a randomisation marked in error
(:class:`~datacapt.randomisation.events.RandomisationMarkedInError`) has its kits set aside as
invalid, with the reason. Kit types are concealed like arms: a blinded role sees a subject's kit
number, never its type (``VIEW_ALLOCATION`` decides, as for the arm); an emergency unblinding
(:class:`~datacapt.randomisation.events.SubjectUnblinded`) shows the person unblinding the
kits' types with the arm, audited.
"""

from pyramid.config import Configurator

from datacapt.kits.reactions import (
    allocate_on_randomisation,
    reveal_on_unblinding,
    set_aside_on_error,
)
from datacapt.randomisation.events import (
    RandomisationMarkedInError,
    SubjectRandomised,
    SubjectUnblinded,
)

#: After randomisation's own reactions (its notices run at 10): a kit for the new subject.
ALLOCATION_ORDER = 20
#: After the unblinding's mail is queued (at 10): the kits' types, for its answer.
REVEAL_ORDER = 20


def includeme(config: Configurator) -> None:
    config.add_reaction(SubjectRandomised, allocate_on_randomisation, order=ALLOCATION_ORDER)
    config.add_reaction(RandomisationMarkedInError, set_aside_on_error, order=ALLOCATION_ORDER)
    config.add_reaction(SubjectUnblinded, reveal_on_unblinding, order=REVEAL_ORDER)
    config.scan(".views")
    config.scan(".jobs")
