"""Two requests writing the same row at the same moment.

Services check before they insert (an ID already used, a visit or log row number taken), but
on PostgreSQL two transactions can both pass the check; the second then fails on the unique
constraint. Likewise two writes of one versioned row that both read its version before either
committed: the second's versioned UPDATE finds no row (the ORM's ``StaleDataError``). (A form's
save checks its lock itself, by a conditional UPDATE before it writes anything, and answers its
own conflict page, or "Saved" when the other save stored what it would have: see
``entry.services._claim``. A first save inserts its form, and a visit never entered, by
``INSERT … ON CONFLICT DO NOTHING``, so two first saves meet at that check too, not here.)
Running that request again is the right answer: it reads what the first one committed and
answers as it would have (the next number, a 422 saying the ID is used, a 409 showing what the
other person saved). So both are retried (pyramid_retry, with the attempts of
``retry.attempts``), and only when the last attempt still meets one the person gets a 409 asking
to try again, never a 500 that loses what they typed without a word.
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPConflict
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config
from pyramid_retry import is_last_attempt, mark_error_retryable
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from datacapt.i18n import _

#: PostgreSQL's SQLSTATE, and SQLite's extended result codes, for a duplicate key.
UNIQUE_VIOLATION = "23505"
SQLITE_UNIQUE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def is_unique_violation(error: IntegrityError) -> bool:
    original = error.orig
    return (
        getattr(original, "sqlstate", None) == UNIQUE_VIOLATION
        or getattr(original, "sqlite_errorname", None) in SQLITE_UNIQUE
    )


@exception_view_config(IntegrityError)
def integrity_error(exc: IntegrityError, request: Request) -> Response:
    if not is_unique_violation(exc):
        raise exc
    return retried_or_conflict(exc, request)


@exception_view_config(StaleDataError)
def stale_data(exc: StaleDataError, request: Request) -> Response:
    return retried_or_conflict(exc, request)


def retried_or_conflict(exc: Exception, request: Request) -> Response:
    if not is_last_attempt(request):
        mark_error_retryable(exc)
        # pyramid_retry discards this answer and runs the request again: an API request's
        # answer is not checked against the API's description (an empty 409 is not in it, and
        # the check would turn it into a 500 that is never retried)
        request.environ["pyramid_openapi3.validate_response"] = False
        return Response(status=HTTPConflict.code)
    request.dbsession.rollback()  # the page reads the user's settings: a usable session
    response = render_to_response(
        "errors/409.jinja2",
        {
            "message": _(
                "Someone else saved the same thing at the same moment, so yours was not "
                "saved. Reload the page to see what is saved now, then try again."
            )
        },
        request=request,
    )
    response.status_int = HTTPConflict.code
    return response


def includeme(config: Configurator) -> None:
    config.scan(__name__)
