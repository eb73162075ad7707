"""The export form: what a data manager picks, checked against the study."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import datetime, tzinfo
from typing import Any

from pyramid.i18n import TranslationString
from webob.multidict import MultiDict

from datacapt.exports.options import Coded, ExportFormat, ExportOptions
from datacapt.i18n import _
from datacapt.models.entry import FormStatus, LockState


def _chosen(
    post: MultiDict, name: str, allowed: Collection[str], errors: dict[str, Any]
) -> tuple[str, ...]:
    picked = tuple(value for value in post.getall(name) if value)
    if any(value not in allowed for value in picked):
        errors[name] = _("Choose among the options offered.")
    return picked


def subject_labels(text: str) -> tuple[str, ...]:
    """The labels typed apart by spaces, commas or new lines, each once, in the order typed."""
    return tuple(dict.fromkeys(label for label in re.split(r"[\s,]+", text) if label))


def _subjects(
    post: MultiDict,
    known_subjects: Callable[[Collection[str]], Collection[str]],
    errors: dict[str, Any],
) -> tuple[str, ...]:
    labels = subject_labels(post.get("subjects", ""))
    if not labels:
        return labels
    known = known_subjects(labels)
    unknown = [label for label in labels if label not in known]
    if unknown:
        errors["subjects"] = _(
            "No subject ${labels} in this study.", mapping={"labels": ", ".join(unknown)}
        )
    return labels


def parse_as_of(text: str, zone: tzinfo) -> datetime | None:
    """A moment typed as ``2026-11-30T18:00`` (in ``zone``) or with its offset; raises
    ValueError for anything else."""
    moment = datetime.fromisoformat(text.strip().replace(" ", "T"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_options(
    post: MultiDict,
    sites: Collection[str],
    forms: Collection[str],
    visits: Collection[str],
    *,
    known_subjects: Callable[[Collection[str]], Collection[str]],
    zone: tzinfo,
    personal_allowed: bool,
) -> tuple[ExportOptions | None, dict[str, TranslationString]]:
    """The options, or the errors by field name. ``known_subjects`` tells which of the labels
    typed are the study's subjects; ``as_of`` is read in the user's ``zone``; personal data
    only for those who may see it (``personal_allowed``)."""
    errors: dict[str, Any] = {}
    formats = {f.value for f in ExportFormat}
    kind = post.get("format", "")
    if kind not in formats:
        errors["format"] = _("Choose a format.")
    coded = post.get("coded", Coded.CODES.value)
    if coded not in {c.value for c in Coded}:
        errors["coded"] = _("Choose among the options offered.")
    picked_sites = _chosen(post, "site", sites, errors)
    picked_subjects = _subjects(post, known_subjects, errors)
    picked_forms = _chosen(post, "form", forms, errors)
    picked_visits = _chosen(post, "visit", visits, errors)
    statuses = _chosen(post, "status", {FormStatus.IN_PROGRESS, FormStatus.COMPLETE}, errors)
    locks = _chosen(post, "lock", {s.value for s in LockState}, errors)
    as_of = None
    if post.get("as_of", "").strip():
        try:
            as_of = parse_as_of(post["as_of"], zone)
        except ValueError:
            errors["as_of"] = _("Enter a date and time, for example 2026-11-30 18:00.")
    personal = post.get("personal") == "1"
    if personal and not personal_allowed:
        errors["personal"] = _(
            "Your role in this study does not give access to personal data: "
            "export without the personal-data items."
        )
    if errors:
        return None, errors
    return (
        ExportOptions(
            format=ExportFormat(kind),
            sites=picked_sites,
            subjects=picked_subjects,
            forms=picked_forms,
            visits=picked_visits,
            statuses=tuple(FormStatus(s) for s in statuses),
            lock_states=tuple(LockState(s) for s in locks),
            coded=Coded(coded),
            bom=post.get("bom") == "1",
            audit_trail=post.get("audit_trail") == "1",
            odm_transactional=kind == ExportFormat.ODM and post.get("odm_transactional") == "1",
            as_of=as_of,
            shift_dates=post.get("shift_dates") == "1",
            personal=personal,
        ),
        {},
    )
