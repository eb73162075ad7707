"""Source data verification, review, freeze / lock / unlock and electronic signatures."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    from datacapt.entry.events import REVIEW_ORDER, FormRemoved, FormSaved, HistoryAsked
    from datacapt.review.display import signatures_of, state_actions
    from datacapt.review.services import form_state_history, row_removed, values_changed

    config.add_request_method(signatures_of, "signatures_of")
    config.add_request_method(state_actions, "state_actions")
    config.add_reaction(FormSaved, values_changed, order=REVIEW_ORDER)
    config.add_reaction(FormRemoved, row_removed, order=REVIEW_ORDER)
    config.add_reaction(HistoryAsked, form_state_history, order=REVIEW_ORDER)
    config.scan(".views")
