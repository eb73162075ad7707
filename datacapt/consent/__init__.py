"""eConsent: versioned consent documents, the subject's reading, questions, identity check and
signature, the investigator's countersignature, the final PDF, re-consent and withdrawal.

It publishes :mod:`datacapt.consent.events` (ConsentSigned, ConsentRejected, ConsentWithdrawn)
and refuses data entry for a subject who withdrew from further data, or who must consent again
when the study says so (a reaction to entry's :class:`EntryAsked`; entry knows nothing of it).
"""

from pyramid.config import Configurator

from datacapt.consent import hold
from datacapt.consent.services import entry_refusal
from datacapt.entry.events import EntryAsked

#: Where the consent guard runs among the reactions to an entry request.
ENTRY_GUARD_ORDER = 10


def guard_entry(event: EntryAsked) -> None:
    """Refuse entry for a subject held; asked again ``locked``, only if the hold read again
    changed since the first answer."""
    if event.locked and not hold.read_again(event.dbsession, event.subject):
        return
    refusal = entry_refusal(event.dbsession, event.subject)
    if refusal is not None:
        event.refusals.append(refusal)


def includeme(config: Configurator) -> None:
    config.add_reaction(EntryAsked, guard_entry, order=ENTRY_GUARD_ORDER)
    config.scan(".admin_views")
    config.scan(".flow_views")
    config.scan(".staff_views")
