"""The export form: what a data manager picks, checked against the study."""

from __future__ import annotations

from collections.abc import Collection
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


def parse_options(
    post: MultiDict, sites: Collection[str], forms: Collection[str]
) -> tuple[ExportOptions | None, dict[str, TranslationString]]:
    """The options, or the errors by field name."""
    errors: dict[str, Any] = {}
    formats = {f.value for f in ExportFormat}
    kind = post.get("format", "")
    if kind not in formats:
        errors["format"] = _("Choose a format.")
    coded = post.get("coded", Coded.CODES.value)
    if coded not in {c.value for c in Coded}:
        errors["coded"] = _("Choose among the options offered.")
    picked_sites = _chosen(post, "site", sites, errors)
    picked_forms = _chosen(post, "form", forms, errors)
    statuses = _chosen(post, "status", {FormStatus.IN_PROGRESS, FormStatus.COMPLETE}, errors)
    locks = _chosen(post, "lock", {s.value for s in LockState}, errors)
    if errors:
        return None, errors
    return (
        ExportOptions(
            format=ExportFormat(kind),
            sites=picked_sites,
            forms=picked_forms,
            statuses=tuple(FormStatus(s) for s in statuses),
            lock_states=tuple(LockState(s) for s in locks),
            coded=Coded(coded),
            bom=post.get("bom") == "1",
            audit_trail=post.get("audit_trail") == "1",
            odm_transactional=kind == ExportFormat.ODM and post.get("odm_transactional") == "1",
        ),
        {},
    )
