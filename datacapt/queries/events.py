"""What queries publish for other capabilities to react to (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass

from datacapt.models import Query, QueryStep
from datacapt.reactions import Event


@dataclass(frozen=True)
class QueryRaised(Event):
    """A query was raised (by a person, or by a warning check on save: ``query.origin``)."""

    query: Query


@dataclass(frozen=True)
class QueryMoved(Event):
    """A query took ``step`` (answered, closed, re-opened); ``query.state`` is the new state."""

    query: Query
    step: QueryStep
