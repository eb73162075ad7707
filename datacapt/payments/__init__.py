"""Payments: what a study pays its volunteers (cosmetics, dermatology, nutrition studies ...).

A compensation plan per study (per completed visit, per completed study; integer cents of one
ISO 4217 currency), subjects' bank details sealed like their contact details, payment orders
draft → validated → exported → paid with an append-only ledger, and their bank files (SEPA
``pain.001.001.03`` and CSV). The rules are in :mod:`.services`; the subject page shows the bank
details through a panel registered here (:mod:`datacapt.panels`), not by its own code.
"""

from pyramid.config import Configurator

from datacapt.i18n import _

#: After the randomisation panel's place on the subject page.
BANK_PANEL_ORDER = 20


def includeme(config: Configurator) -> None:
    config.add_subject_panel("bank-details", _("Bank details"), order=BANK_PANEL_ORDER)
    config.scan(".views")
