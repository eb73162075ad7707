"""ePRO: subjects reach their questionnaires by a one-time link (handed by their site, or
mailed), fill them in on their phone page by page, and sites see the answers in the casebook.
The subjects' area lives at ``/p/`` (:mod:`datacapt.resources.subject_area`)."""

from pyramid.config import Configurator

from datacapt.consent.events import EPRO_ORDER, ConsentWithdrawn
from datacapt.epro.services import consent_withdrawn
from datacapt.htmx import SUBJECT_AREA
from datacapt.security import load_subject_identity


def includeme(config: Configurator) -> None:
    config.add_identity_loader(SUBJECT_AREA, load_subject_identity)
    config.add_reaction(ConsentWithdrawn, consent_withdrawn, order=EPRO_ORDER)
    config.scan(".views")
    config.scan(".account_views")
    config.scan(".staff_views")
    config.scan(".compliance_views")
    config.scan(".jobs")
