"""REDCap's smart variables: those that have a meaning in a Datacapt study, and why the others
have none.

A smart variable is written in brackets with a dash, as ``[record-name]``; it stands alone
(:class:`~datacapt.expressions.ast.SmartVariable`), names the visit of a reference
(``[previous-event-name][weight]``) or its instance (``[weight][previous-instance]``). Its value
is the evaluation context's: the subject, the visit, the form and the user of the page.
"""

from __future__ import annotations

from datacapt.expressions.symbols import ValueType

#: Smart variables that stand alone, and the type of their value.
VALUES: dict[str, ValueType] = {
    "record-name": ValueType.TEXT,  # the subject's code
    "record-dag-name": ValueType.TEXT,  # the subject's site code (REDCap's data access group)
    "record-dag-label": ValueType.TEXT,  # the subject's site name
    "event-name": ValueType.TEXT,  # the visit's name
    "event-label": ValueType.TEXT,  # the visit's title
    "previous-event-name": ValueType.TEXT,  # the visit before it in the schedule
    "next-event-name": ValueType.TEXT,
    "first-event-name": ValueType.TEXT,
    "last-event-name": ValueType.TEXT,
    "instrument-name": ValueType.TEXT,  # the form's name
    "instrument-label": ValueType.TEXT,  # the form's title
    "user-name": ValueType.TEXT,  # who enters the data: the address they sign in with
    "current-instance": ValueType.NUMBER,  # the repeat of the visit or form being entered
    "previous-instance": ValueType.NUMBER,
    "next-instance": ValueType.NUMBER,
    "first-instance": ValueType.NUMBER,
    "last-instance": ValueType.NUMBER,  # the highest repeat whose values the form reads
    "is-form": ValueType.BOOLEAN,  # always true: Datacapt's forms are data entry forms
}

#: Smart variables that name a visit: ``[previous-event-name][field]``.
EVENTS = frozenset(
    {"event-name", "previous-event-name", "next-event-name", "first-event-name", "last-event-name"}
)

#: Smart variables that name an instance: ``[field][previous-instance]``.
INSTANCES = frozenset(
    {"current-instance", "previous-instance", "next-instance", "first-instance", "last-instance"}
)

#: Documented smart variables left out, with the reason a designer is given.
LEFT_OUT: dict[str, str] = {
    "arm-number": "a Datacapt study has one schedule, not arms",
    "arm-label": "a Datacapt study has one schedule, not arms",
    "project-id": "an expression belongs to its study already",
    "redcap-base-url": "it names a REDCap server",
    "redcap-version": "it names a REDCap server",
    "redcap-version-url": "it names a REDCap server",
    "user-fullname": "personal data never enters an expression",
    "user-email": "write [user-name]: a user signs in with their e-mail address",
    "user-role-id": "roles decide permissions, never data",
    "user-role-name": "roles decide permissions, never data",
    "user-role-label": "roles decide permissions, never data",
    "user-dag-id": "a user's sites decide permissions, never data",
    "user-dag-name": "a user's sites decide permissions, never data",
    "user-dag-label": "a user's sites decide permissions, never data",
    "record-dag-id": "write [record-dag-name]: sites are named, not numbered",
    "event-id": "write [event-name]: visits are named, not numbered",
    "event-number": "write [event-name]: visits are named, not numbered",
    "is-survey": "Datacapt has no surveys",
    "survey-url": "Datacapt has no surveys",
    "survey-link": "Datacapt has no surveys",
    "survey-queue-url": "Datacapt has no surveys",
    "survey-queue-link": "Datacapt has no surveys",
    "survey-return-code": "Datacapt has no surveys",
    "survey-access-code": "Datacapt has no surveys",
    "survey-date-completed": "Datacapt has no surveys",
    "survey-time-completed": "Datacapt has no surveys",
    "survey-duration": "Datacapt has no surveys",
    "survey-duration-completed": "Datacapt has no surveys",
    "form-url": "a link has no value to compute with",
    "form-link": "a link has no value to compute with",
    "new-instance": "it makes a link, not a value",
    "aggregate-min": "report aggregates are computed in reports, not on a form",
    "aggregate-max": "report aggregates are computed in reports, not on a form",
    "aggregate-mean": "report aggregates are computed in reports, not on a form",
    "aggregate-median": "report aggregates are computed in reports, not on a form",
    "aggregate-sum": "report aggregates are computed in reports, not on a form",
    "aggregate-count": "report aggregates are computed in reports, not on a form",
    "aggregate-stdev": "report aggregates are computed in reports, not on a form",
    "aggregate-unique": "report aggregates are computed in reports, not on a form",
    "calendar-url": "Datacapt's schedule has no calendar feed",
    "calendar-link": "Datacapt's schedule has no calendar feed",
    "stats-table": "report aggregates are computed in reports, not on a form",
    "scatter-plot": "a chart has no value to compute with",
    "line-chart": "a chart has no value to compute with",
    "bar-chart": "a chart has no value to compute with",
    "pie-chart": "a chart has no value to compute with",
    "donut-chart": "a chart has no value to compute with",
    "mycap-participant-code": "Datacapt has no MyCap",
    "mycap-participant-url": "Datacapt has no MyCap",
    "mycap-participant-link": "Datacapt has no MyCap",
}
