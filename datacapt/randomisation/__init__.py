"""Randomisation: methods over a seeded RNG (:mod:`.methods`, :mod:`.minimisation`,
:mod:`.simulation`), a design and its test and production lists per study, and randomising a
subject from the casebook, concealed from blinded roles.

A subject's randomisation publishes :class:`.events.SubjectRandomised` for other capabilities;
the subject page loads this capability's panel (``@@randomisation``) without knowing it. An
emergency unblinding is mailed to the study's administrators and the site's investigators.
Exports carry each subject's randomisations as subject-level columns (:mod:`.columns`).
"""

from pyramid.config import Configurator

from datacapt.exports.events import SubjectColumnsAsked
from datacapt.randomisation.columns import subject_columns
from datacapt.randomisation.events import SubjectUnblinded
from datacapt.randomisation.notices import mail_unblinding

#: After the unblinding is recorded, in its transaction: the mail leaves only if it commits.
NOTICE_ORDER = 10
#: Randomisations' columns in exports.
EXPORT_COLUMNS_ORDER = 10


def includeme(config: Configurator) -> None:
    config.add_reaction(SubjectUnblinded, mail_unblinding, order=NOTICE_ORDER)
    config.add_reaction(SubjectColumnsAsked, subject_columns, order=EXPORT_COLUMNS_ORDER)
    config.scan(".views")
