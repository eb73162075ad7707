"""Automations: per study, rules "when this happens (and this holds), do that" — mail staff,
message the subject, send a questionnaire, create a task — edited by the study's
administrators. An event matching a rule writes a run in its own transaction (the outbox); a
job carries it out after the commit, once its delay is over, at most once (see
:mod:`datacapt.automations.services`); every run is on the study's run log."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    from datacapt.automations import reactions
    from datacapt.automations.tasks import TASK_WORKLISTS
    from datacapt.consent.events import ConsentRejected, ConsentSigned
    from datacapt.entry.events import FormSaved
    from datacapt.epro.events import EproStatusChanged
    from datacapt.queries.events import QueryRaised
    from datacapt.randomisation.events import SubjectRandomised
    from datacapt.subjects.events import SubjectStatusChanged

    config.registry["automations.enabled"] = True  # the study's page links to the rules
    order = reactions.ORDER
    config.add_reaction(SubjectStatusChanged, reactions.subject_status_changed, order=order)
    config.add_reaction(FormSaved, reactions.form_saved, order=order)
    config.add_reaction(QueryRaised, reactions.query_raised, order=order)
    config.add_reaction(SubjectRandomised, reactions.subject_randomised, order=order)
    config.add_reaction(EproStatusChanged, reactions.epro_status_changed, order=order)
    config.add_reaction(ConsentSigned, reactions.consent_event, order=order)
    config.add_reaction(ConsentRejected, reactions.consent_event, order=order)
    if "datacapt.worklists" in config.registry:
        for worklist in TASK_WORKLISTS:
            config.add_worklist(worklist)
    config.scan(".views")
    config.scan(".jobs")
