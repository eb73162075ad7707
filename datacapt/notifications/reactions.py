"""The notifications' reactions to what other capabilities publish (:mod:`datacapt.reactions`),
registered in this package's ``includeme``; each runs in the transaction of the act it follows."""

from __future__ import annotations

from datacapt.accounts.preference_events import PreferencesShown
from datacapt.ecrf.casebook import form_key
from datacapt.entry.events import FormSaved
from datacapt.exports.events import ExportFinished
from datacapt.messages.events import MessagePosted
from datacapt.models import FormInstance, FormStatus, NotificationKind, QueryOrigin, QueryStep
from datacapt.notifications import services
from datacapt.notifications.kinds import KIND_TITLES
from datacapt.permissions import Permission
from datacapt.queries.events import QueryMoved, QueryRaised
from datacapt.review.events import FormsVerified

K = NotificationKind
PREFERENCES = "notifications/_preferences.jinja2"


def query_raised(event: QueryRaised) -> None:
    """A person raised a query: the site staff who answer queries at its site are told (a
    warning check's query is told to whoever saved, on the spot)."""
    query = event.query
    if query.origin is QueryOrigin.SYSTEM:
        return
    people = services.recipients(
        event.dbsession, query.study_id, query.site_id, Permission.ANSWER_QUERY, K.QUERY_RAISED
    )
    if people:
        about = services.query_about(event.dbsession, query, K.QUERY_RAISED)
        services.tell(event.dbsession, about, people, besides=event.actor.user_id)


def query_moved(event: QueryMoved) -> None:
    """An answer is told to whoever raised the query (while they still see its site); a close
    that leaves its form ready to lock, to the data managers."""
    query, dbsession = event.query, event.dbsession
    if event.step is QueryStep.ANSWERED and query.raised_by_id is not None:
        people = services.recipients(
            dbsession,
            query.study_id,
            query.site_id,
            Permission.VIEW_SUBJECT,
            K.QUERY_ANSWERED,
            only=query.raised_by_id,
        )
        if people:
            about = services.query_about(dbsession, query, K.QUERY_ANSWERED)
            services.tell(dbsession, about, people, besides=event.actor.user_id)
    if event.step is QueryStep.CLOSED and query.form_instance_id is not None:
        instance = dbsession.get(FormInstance, query.form_instance_id)
        if instance is not None and services.ready_to_lock(instance):
            services.tell_forms(dbsession, event.actor.user_id, {K.FORM_TO_LOCK: [instance]})


def form_saved(event: FormSaved) -> None:
    """A form just completed waits for SDV, a lock or a signature: their holders are told (after
    review and queries reacted, so its SDV state and open queries are this save's)."""
    instance = event.instance
    if instance.status is not FormStatus.COMPLETE or event.previous_status is FormStatus.COMPLETE:
        return
    wanted = {
        K.FORM_TO_VERIFY: services.awaiting_sdv(instance),
        K.FORM_TO_LOCK: services.ready_to_lock(instance),
        K.FORM_TO_SIGN: services.awaiting_signature(instance),
    }
    services.tell_forms(
        event.dbsession,
        event.actor.user_id,
        {kind: [instance] for kind, due in wanted.items() if due},
        {instance.id: form_key(event.form, instance.repeat)},
    )


def forms_verified(event: FormsVerified) -> None:
    """Verification that leaves forms ready to lock: the data managers are told."""
    ready = [instance for instance in event.instances if services.ready_to_lock(instance)]
    services.tell_forms(event.dbsession, event.actor.user_id, {K.FORM_TO_LOCK: ready})


def export_finished(event: ExportFinished) -> None:
    """Its requester is told that an export is ready (or failed), while they may see exports."""
    export = event.export
    if export.requested_by_id is None:
        return
    people = services.recipients(
        event.dbsession,
        export.study_id,
        None,
        Permission.VIEW_EXPORTS,
        K.EXPORT_READY,
        only=export.requested_by_id,
    )
    if people:
        about = services.export_about(event.dbsession, export)
        services.tell(event.dbsession, about, people, besides=None)


def message_posted(event: MessagePosted) -> None:
    """Those who message at the thread's site are told there is a new message (once until they
    read that notification), never what it says."""
    thread = event.thread
    people = services.recipients(
        event.dbsession, thread.study_id, thread.site_id, Permission.MESSAGE, K.MESSAGE_POSTED
    )
    people = [person for person in people if person.user_id != event.actor.user_id]
    if people:
        about = services.thread_about(event.dbsession, thread)
        waiting = services.not_told_yet(event.dbsession, about, people)
        services.tell(event.dbsession, about, waiting, besides=event.actor.user_id)


def preferences_section(event: PreferencesShown) -> None:
    """The choice of each kind, in the app and by mail, on the person's preferences page."""
    choices = services.choices_of(event.dbsession, event.request.identity.user.id)
    section = {"choices": [(choice, KIND_TITLES[choice.kind]) for choice in choices]}
    event.sections.append((PREFERENCES, section))
