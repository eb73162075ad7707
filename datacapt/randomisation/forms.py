"""The design form: what a study administrator types, checked field by field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pyramid.i18n import TranslationString

from datacapt.ecrf.definition import Definition
from datacapt.i18n import _
from datacapt.models import RandomisationMethod
from datacapt.randomisation import split_body
from datacapt.randomisation.methods import Arms, DesignError, check_block_sizes
from datacapt.randomisation.minimisation import MEASURES
from datacapt.randomisation.services import DesignInput

CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")
KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
MAX_PLACES = 100_000
#: Split-body designs: products (one per zone) at most; Latin squares of 6 × 6.
MAX_PRODUCTS = 6


def stratification_items(definition: Definition | None) -> list[tuple[str, Any]]:
    """The items a design may stratify by: those with choices (name, item)."""
    if definition is None:
        return []
    return [(item.name, item) for _form, item in definition.items() if item.choices]


def _arms(text: str, ratio_text: str, errors: dict[str, TranslationString]) -> list[dict[str, Any]]:
    arms = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        code, _space, label = line.partition(" ")
        if not CODE.fullmatch(code):
            errors["arms"] = _(
                "Start each line with the arm's code (letters, digits, - or _), then its label."
            )
            return []
        arms.append({"code": code, "label": label.strip()[:200] or code})
    parts = [part.strip() for part in ratio_text.split(":")] if ratio_text.strip() else []
    if parts and not all(part.isascii() and part.isdigit() and len(part) < 4 for part in parts):
        errors["ratio"] = _("Write the ratio as whole numbers, such as 2:1.")
        return []
    ratio = [int(part) for part in parts] or [1] * len(arms)
    try:
        Arms.of([arm["code"] for arm in arms], ratio)
    except DesignError as error:
        errors["arms" if len(arms) < 2 or "differ" in str(error) else "ratio"] = _problem(error)
        return []
    return [arm | {"ratio": share} for arm, share in zip(arms, ratio, strict=True)]


def _zones(text: str, errors: dict[str, TranslationString]) -> list[dict[str, Any]]:
    zones = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        code, _space, label = line.partition(" ")
        if not CODE.fullmatch(code):
            errors["zones"] = _(
                "Start each line with the zone's code (letters, digits, - or _), then its label."
            )
            return []
        zones.append({"code": code, "label": label.strip()[:200] or code})
    if len({zone["code"] for zone in zones}) != len(zones):
        errors["zones"] = _("Give each zone its own code.")
        return []
    return zones


def _problem(error: DesignError) -> TranslationString:
    """The methods' English messages, translated where the form can cause them."""
    text = str(error)
    known = {
        "a design needs at least two arms": _("Give at least two arms, one a line."),
        "arm names must differ": _("Give each arm its own code."),
        "every part of the ratio must be a whole number of at least 1": _(
            "Every part of the ratio must be at least 1."
        ),
        "give at least one block size": _("Give at least one block size."),
    }
    if text in known:
        return known[text]
    if text.startswith("the ratio has"):
        return _("Give the ratio one part per arm.")
    if text.startswith("block size"):
        return _("Each block size must be a multiple of the ratio's sum.")
    if text == "give as many zones as products":
        return _("Give as many zones as products: each subject receives every product once.")
    if text.startswith("at most 5 products"):
        return _("Blocks of every order take at most 5 products: use Latin squares.")
    return _("This value is not allowed.")


def _numbers(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_design(
    form: Mapping[str, Any], definition: Definition | None, items_given: list[str]
) -> tuple[DesignInput | None, dict[str, TranslationString]]:
    """The checked design, or the errors by field name."""
    errors: dict[str, TranslationString] = {}
    method_value = form.get("method", "")
    method = next((m for m in RandomisationMethod if m.value == method_value), None)
    if method is None:
        errors["method"] = _("Choose one of the options offered.")
    split = method is not None and method.split_body
    arms = _arms(form.get("arms", ""), "" if split else form.get("ratio", ""), errors)
    key = str(form.get("key", "")).strip()
    if not KEY.fullmatch(key):
        errors["key"] = _(
            "Give a code of small letters, digits, - or _ (up to 40), such as main or skin."
        )
    name = str(form.get("name", "")).strip()[:200]
    zones: list[dict[str, Any]] | None = None
    if split:
        zones = _zones(form.get("zones", ""), errors)
        if arms and "zones" not in errors:
            if len(arms) > MAX_PRODUCTS:
                errors["arms"] = _("Give at most 6 products.")
            else:
                try:
                    split_body.check([arm["code"] for arm in arms], len(zones), method.value)
                except DesignError as error:
                    errors["zones"] = _problem(error)
    allowed = dict(stratification_items(definition))
    items = list(dict.fromkeys(items_given))
    if any(name not in allowed for name in items):
        errors["items"] = _("Choose among the items offered.")
    by_site = form.get("by_site") == "on"
    if method not in {RandomisationMethod.STRATIFIED, RandomisationMethod.MINIMISATION}:
        by_site, items = False, []  # factors only stratify or minimise: none to wait for
    factor_count = int(by_site) + len(items)
    block_sizes: list[int] = []
    if method in {RandomisationMethod.BLOCKS, RandomisationMethod.STRATIFIED}:
        texts = _numbers(form.get("block_sizes", ""))
        if not all(t.isascii() and t.isdigit() and len(t) < 5 for t in texts) or not texts:
            errors["block_sizes"] = _("Write block sizes as whole numbers, such as 4,8.")
        elif arms:
            try:
                block_sizes = list(
                    check_block_sizes(
                        Arms.of([a["code"] for a in arms], [a["ratio"] for a in arms]),
                        [int(t) for t in texts],
                    )
                )
            except DesignError as error:
                errors["block_sizes"] = _problem(error)
    needs_factor = method in {RandomisationMethod.STRATIFIED, RandomisationMethod.MINIMISATION}
    if needs_factor and not factor_count and "items" not in errors:
        errors["items"] = _("Stratify by the site, an item or both.")
    weights: list[float] = []
    measure = form.get("measure", "range")
    p_value = 0.8 if method is not RandomisationMethod.EFRON else 2 / 3
    if method in {RandomisationMethod.MINIMISATION, RandomisationMethod.EFRON}:
        try:
            p_value = float(form.get("p", "") or p_value)
        except ValueError:
            p_value = -1
        if not 0.5 <= p_value <= 1:
            errors["p"] = _("Give a probability between 0.5 and 1.")
    if method is RandomisationMethod.MINIMISATION:
        if measure not in MEASURES:
            errors["measure"] = _("Choose one of the options offered.")
        texts = _numbers(form.get("weights", ""))
        try:
            weights = [float(t) for t in texts] or [1.0] * factor_count
        except ValueError:
            weights = []
        if len(weights) != factor_count or any(not 0 <= w <= 100 for w in weights):
            errors["weights"] = _(
                "Give one weight from 0 to 100 per factor (the site first), such as 1,2."
            )
    length_text = str(form.get("list_length", "")).strip()
    if not (length_text.isascii() and length_text.isdigit() and 1 <= int(length_text) <= 10_000):
        errors["list_length"] = _("Give a whole number from 1 to 10000.")
    if errors or method is None:
        return None, errors
    return (
        DesignInput(
            method=method,
            arms=arms,
            block_sizes=block_sizes,
            by_site=by_site,
            items=items,
            weights=weights,
            measure=measure if method is RandomisationMethod.MINIMISATION else "range",
            p=p_value,
            list_length=int(length_text),
            blinded=form.get("blinded") == "on",
            key=key,
            name=name,
            zones=zones,
        ),
        {},
    )
