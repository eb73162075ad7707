"""Queries: questions about the data, raised by monitors and data managers (or by warning checks
on save), answered by the sites, closed by whoever raised them."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    from datacapt.entry.events import QUERIES_ORDER, FormSaved, FormShown, HistoryAsked
    from datacapt.queries.automatic import follow_warnings
    from datacapt.queries.summary import query_history, show_queries

    config.add_reaction(FormSaved, follow_warnings, order=QUERIES_ORDER)
    config.add_reaction(FormShown, show_queries, order=QUERIES_ORDER)
    config.add_reaction(HistoryAsked, query_history, order=QUERIES_ORDER)
    config.scan(".views")
    config.scan(".listing")
