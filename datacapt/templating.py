"""Globals and filters the Jinja templates share."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from jinja2.utils import htmlsafe_json_dumps
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pyramid.config import Configurator
from pyramid.csrf import get_csrf_token
from pyramid.i18n import TranslationString
from pyramid.interfaces import IRendererFactory, IRendererInfo
from pyramid.location import lineage
from pyramid.request import Request
from pyramid.traversal import quote_path_segment
from pyramid_jinja2 import Jinja2TemplateRenderer
from pyramid_jinja2.i18n import GetTextWrapper

from datacapt.config import STATIC_DIR
from datacapt.ecrf.compiled_form import SLOTS
from datacapt.ecrf.definition import Item, text_in
from datacapt.ecrf.values import input_hint, shown
from datacapt.htmx import HTMX_CONFIG
from datacapt.i18n import LANGUAGES, _, as_utc, format_moment, zone_label
from datacapt.panels import subject_panels
from datacapt.permissions import ROLE_LABELS, Permission
from datacapt.units import shown_unit


@lru_cache(maxsize=256)
def _fingerprint(name: str) -> str:
    path = STATIC_DIR / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "0"


#: Each static file's URL by (scheme, script name, file): what Pyramid's static path depends on
#: besides the static view registered at start (no cache buster: the hash is the query).
_STATIC_URLS: dict[tuple[str, str, str], str] = {}


@pass_context
def static_url(context: Any, name: str) -> str:
    """URL of a file under static/, with a content hash so a new release is never stale; made
    once per script name (each page links three: a route URL generated each time before)."""
    request: Request = context["request"]
    key = (request.scheme, request.script_name, name)
    found = _STATIC_URLS.get(key)
    if found is None:
        if len(_STATIC_URLS) >= 1024:
            _STATIC_URLS.clear()
        path = request.static_path(str(STATIC_DIR / name))
        found = _STATIC_URLS[key] = f"{path}?v={_fingerprint(name)}"
    return found


#: Each zone's title at an offset (``Europe/Paris (UTC+01:00)``), escaped: a list page shows 50
#: times in one or two offsets.
_ZONE_TITLES: dict[tuple[str, timedelta | None], str] = {}


@pass_context
def datetime_filter(context: Any, value: datetime | None) -> Markup:
    """``{{ row.created_at|datetime }}``: a UTC time in the reader's zone and language, one
    format on every page (``03 Dec 2026 14:05``), the zone and its offset on hover. The time
    is moved to the zone once, and the zone's title kept by offset (~35 calls a time before,
    on list pages 50 times)."""
    if value is None:
        return Markup("")
    request: Request = context["request"]
    zone = request.timezone
    utc = as_utc(value)
    local = utc.astimezone(zone)
    key = (zone.key, local.utcoffset())
    title = _ZONE_TITLES.get(key)
    if title is None:
        if len(_ZONE_TITLES) >= 1024:
            _ZONE_TITLES.clear()
        title = _ZONE_TITLES[key] = str(escape(zone_label(zone, local)))
    # an f-string of escaped parts (an ISO time holds no character to escape): ``Markup.format``
    # went through string.Formatter (~100 calls a time)
    return Markup(  # noqa: S704 - every part escaped
        f'<time datetime="{utc.isoformat()}" title="{title}">'
        f"{escape(format_moment(local, zone, request.locale_name))}</time>"
    )


#: Translations of plain TranslationStrings (no mapping) by language, domain, message, default
#: and context: a process's catalogues never change, and a list page asks for the same few
#: (status labels, node titles) once a row, ~10 calls each through the localizer.
_LOCALIZED: dict[tuple[str, str | None, str, str | None, str | None], str] = {}


def localized(request: Request, value: Any) -> str:
    """A TranslationString translated (a node title, a service's message); data as it is."""
    if not isinstance(value, TranslationString):
        return str(value)
    if value.mapping:
        return request.localizer.translate(value)
    key = (request.locale_name, value.domain, str(value), value.default, value.context)
    found = _LOCALIZED.get(key)
    if found is None:
        if len(_LOCALIZED) >= 4096:
            _LOCALIZED.clear()
        found = _LOCALIZED[key] = request.localizer.translate(value)
    return found


@pass_context
def localize(context: Any, value: Any) -> str:
    """``|localize``: :func:`localized` for the request."""
    return localized(context["request"], value)


@pass_context
def translated(context: Any, text: dict[str, str], definition: Any) -> str:
    """A design text in the reader's language, else the design's default language."""
    return text_in(text, context["request"].locale_name, definition.default_language)


def item_value(value: str | None, item: Item) -> str:
    """``{{ stored|item_value(item) }}``: a stored value as the item's form shows it (a date in
    the item's own order), wherever it is shown again (history, conflicts)."""
    return shown(item, value)


@pass_context
def unit(context: Any, value: str) -> str:
    """An item's units, translated when written in words (:mod:`datacapt.units`)."""
    return shown_unit(value, context["request"].localizer.translate)


MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown(value: str) -> Markup:
    """Static content: Markdown with raw HTML disabled, so what a designer types is escaped."""
    return Markup(MARKDOWN.render(value))  # noqa: S704 (markdown-it escapes, html is off)


def markdown_inline(value: str) -> Markup:
    """A label or help text: its inline Markdown (emphasis, code, links) without a paragraph,
    so it sits in a line of text; escaped like :func:`markdown`."""
    return Markup(MARKDOWN.renderInline(value))  # noqa: S704 (markdown-it escapes, html is off)


class TemplateGetText(GetTextWrapper):
    """The templates' ``_()``: each message translated once per language and kept, since a
    process's catalogues never change (a page asks for 60–300 translations, the same ones each
    time, and a translation string's trip through the localizer is most of each)."""

    def __init__(self, domain: str) -> None:
        super().__init__(domain)
        self._translated: dict[tuple[str, str], str] = {}
        self._formatted: dict[tuple[str, str, bool], str] = {}

    def gettext(self, message: str, mapping: dict[str, Any] | None = None) -> str:
        if mapping:
            return super().gettext(message, mapping)
        localizer = self.localizer
        key = (localizer.locale_name, message)
        found = self._translated.get(key)
        if found is None:
            found = self._translated[key] = localizer.translate(message, domain=self.domain)
        return found

    @pass_context
    def underscore(self, context: Any, message: str, /, **variables: Any) -> str:
        """The templates' ``_()`` in one step: what Jinja's ``_`` → ``gettext`` → this
        wrapper's ``gettext`` gives (the translation, made Markup under autoescape, then always
        ``%``-formatted with the keywords), the result of a plain message without keywords kept
        per language (a page asks for 50–300 of them, each three context calls deep before)."""
        autoescape = context.eval_ctx.autoescape
        if variables or type(message) is not str:
            found = self.gettext(message)
            return (Markup(found) if autoescape else found) % variables  # noqa: S704 - ours
        key = (self.localizer.locale_name, message, autoescape)
        done = self._formatted.get(key)
        if done is None:
            found = self.gettext(message)
            found = Markup(found) if autoescape else found  # noqa: S704 - our catalogue
            done = self._formatted[key] = found % {}
        return done


#: The forms' and monitoring states' marks, each with its own symbol: kind → value → (symbol,
#: word).
STATE_MARKS: dict[str, dict[str, tuple[str, TranslationString]]] = {
    "form": {
        "not_started": ("○", _("Not started")),
        "in_progress": ("◐", _("In progress")),
        "complete": ("●", _("Complete")),
        "removed": ("⊘", _("Removed")),
    },
    "sdv": {
        "not_required": ("–", _("SDV not required")),
        "awaiting": ("◇", _("Awaiting SDV")),
        "verified": ("✓", _("Verified")),
        "changed": ("△", _("Changed since verified")),
    },
    "review": {"reviewed": ("☑", _("Reviewed")), "changed": ("▽", _("Changed since reviewed"))},
    "lock": {"frozen": ("❄", _("Frozen")), "locked": ("🔒", _("Locked"))},
    "signature": {"signed": ("✍", _("Signed")), "broken": ("✗", _("Signature invalidated"))},
}
_STATE_MARKS_IN: dict[str, dict[str, dict[str, tuple[str, Markup]]]] = {}


@pass_context
def state_marks(context: Any) -> dict[str, dict[str, tuple[str, Markup]]]:
    """``state_marks()``: :data:`STATE_MARKS` with their words in the reader's language, as
    ``_()`` gives them (Markup); made once per language (one per language at most) instead of
    ten ``_()`` calls each time ``macros/ui.jinja2`` is imported (twice a form page) and four
    each time a form's status is shown (a casebook's every form)."""
    request: Request = context["request"]
    language = request.locale_name
    found = _STATE_MARKS_IN.get(language)
    if found is None:
        found = _STATE_MARKS_IN[language] = {
            kind: {
                value: (symbol, Markup(localized(request, word)) % {})  # noqa: S704 - ours
                for value, (symbol, word) in marks.items()
            }
            for kind, marks in STATE_MARKS.items()
        }
    return found


def lineage_trail(request: Request) -> list[tuple[Any, str]]:
    """The breadcrumb trail, root first and the request's context last, each node with its
    path: the root's as Pyramid makes it, each child's its parent's and its quoted name (as
    ``resource_path`` joins them; one such call a page instead of one per node)."""
    nodes = list(lineage(request.context))[::-1]
    path = request.resource_path(nodes[0])
    trail = [(nodes[0], path)]
    for node in nodes[1:]:
        path = f"{path}{quote_path_segment(node.__name__)}/"
        trail.append((node, path))
    return trail


def breadcrumbs(request: Request, label: str) -> Markup:
    """``{{ breadcrumbs(request, _("Breadcrumb")) }}``: the page's trail as the layout shows it
    (nothing for the root alone), made here in one call: as a loop in the template it cost
    ~20 calls a node (attribute look-ups, the ``localize`` filter, escapes)."""
    trail = lineage_trail(request)
    if len(trail) < 2:
        return Markup("")

    def title(node: Any) -> Markup:
        return escape(localized(request, node.title))

    lines = [f'<nav class="breadcrumbs" aria-label="{escape(label)}">', "  <ol>"]
    lines.extend(
        f'        <li><a href="{escape(path)}">{title(node)}</a></li>' for node, path in trail[:-1]
    )
    node, path = trail[-1]
    lines.append(f'        <li><a href="{escape(path)}" aria-current="page">{title(node)}</a></li>')
    lines.extend(("  </ol>", "</nav>", ""))
    return Markup("\n".join(lines))  # noqa: S704 - every text and path escaped


def _header_inputs(request: Request) -> dict[str, Hashable]:
    identity = request.identity
    if identity is None:
        return {"application_url": request.application_url, "signed_in": False, "bell": False}
    return {
        "application_url": request.application_url,
        "signed_in": True,
        "user_name": identity.user.name,
        "tenants": tuple(
            (slug, name, tuple(identity.studies_in(slug))) for slug, name in identity.tenants()
        ),
        # notifications.ENABLED (templating imports no capability)
        "bell": bool(request.registry.get("notifications.enabled")),
    }


def _language_menu_inputs(request: Request) -> dict[str, Hashable]:
    return {"application_url": request.application_url}


def _session_dialog_inputs(request: Request) -> dict[str, Hashable]:
    return {"application_url": request.application_url, "idle_timeout": request.idle_timeout}


def _no_inputs(request: Request) -> dict[str, Hashable]:
    return {}


def _footer_inputs(request: Request) -> dict[str, Hashable]:
    return {"zone": request.timezone.key}


#: The layout's pieces kept per process, each with what its template may read besides the UI
#: language (``language``, which ``_`` reads too) and its holes: the template has no
#: ``request``, so (strict undefined) it can read nothing these do not hold.
LAYOUT_PIECES: dict[str, Callable[[Request], dict[str, Hashable]]] = {
    "layouts/_header.jinja2": _header_inputs,
    "layouts/_language_menu.jinja2": _language_menu_inputs,
    "layouts/_session_dialog.jinja2": _session_dialog_inputs,
    "layouts/_page_messages.jinja2": _no_inputs,  # the body's messages for app.js, skip link
    "layouts/_footer.jinja2": _footer_inputs,
}
#: What a piece leaves to each request (per session or per page): ``{{ hole("name") }}``.
HOLES: dict[str, Callable[[Request], str]] = {
    "csrf_token": get_csrf_token,
    "came_from": lambda request: request.path_qs,
}


class KeptPieces:
    """The layout's per-user parts (header: switcher, language and user menus; session dialog)
    rendered once per process for each set of their inputs, instead of on every page (~1,100
    calls of includes, contexts and escapes a page). The key is the inputs themselves (names,
    studies, addresses: not ids, so a renamed study or user is a new key at once); what
    differs per request is left as holes, filled escaped as ``{{ }}`` would."""

    def __init__(
        self,
        environment: Environment,
        pieces: dict[str, Callable[[Request], dict[str, Hashable]]],
        size: int = 4096,
    ) -> None:
        self.environment = environment
        self.pieces = pieces
        self.size = size
        self.kept: dict[Hashable, tuple[str, ...]] = {}
        self._mark = f"\x00{secrets.token_hex(8)}\x00"  # in no text: a fresh random per process

    def _hole(self, name: str) -> Markup:
        return Markup(f"{self._mark}{name}{self._mark}")  # noqa: S704 - our own marker

    @pass_context
    def render(self, context: Any, name: str) -> Markup:
        """``{{ layout_piece(name) }}``: the piece for this request's inputs, holes filled."""
        request: Request = context["request"]
        inputs = self.pieces[name](request)
        inputs["language"] = request.locale_name
        key = (name, *inputs.items())
        parts = self.kept.get(key)
        if parts is None:
            html = self.environment.get_template(name).render(inputs, hole=self._hole)
            parts = tuple(html.split(self._mark))  # text, hole, text, hole ... text
            if self.environment.auto_reload:  # templates edited while serving: keep nothing
                return self._filled(parts, request)
            if len(self.kept) >= self.size:
                self.kept.clear()
            self.kept[key] = parts
        return self._filled(parts, request)

    @staticmethod
    def _filled(parts: tuple[str, ...], request: Request) -> Markup:
        if len(parts) == 1:
            return Markup(parts[0])  # noqa: S704 - rendered with autoescape
        filled = list(parts)
        for index in range(1, len(filled), 2):
            filled[index] = escape(HOLES[filled[index]](request))
        return Markup("".join(filled))  # noqa: S704 - rendered with autoescape, holes escaped


class ImportedLater:
    """``{% set ui = imported("macros/ui.jinja2") %}``: a template's macros, imported with the
    page's context at the first call of one, as ``{% import ... with context %}`` would at the
    top. An import with context renders the template's module on every page (~60 calls each,
    ten a form page), mostly for macros a quiet page never calls (the form's messages, a
    monitor's buttons)."""

    def __init__(self, context: Context, name: str) -> None:
        self._context = context
        self._name = name
        self._module: Any = None

    def __getattr__(self, macro: str) -> Callable[..., Any]:
        if macro.startswith("_"):
            raise AttributeError(macro)
        return partial(self.call, macro)

    def call(self, macro: str, /, *args: Any, **kwargs: Any) -> Any:
        """The template's ``macro`` called with ``args``, the template imported if not yet."""
        if self._module is None:
            context = self._context
            template = context.environment.get_template(self._name, context.name)
            self._module = template.make_module(context.get_all(), True)
        return getattr(self._module, macro)(*args, **kwargs)


@pass_context
def imported(context: Context, name: str) -> ImportedLater:
    """``imported(name)``: :class:`ImportedLater` for this page."""
    return ImportedLater(context, name)


#: Stands for a kept macro's address argument in its kept text (no address or text holds it).
ADDRESS_STAND_IN = "\x02address\x03"


@dataclass(frozen=True)
class KeptMacro:
    """A macro whose output depends on its arguments' ``key`` and the UI language alone; an
    address (``address``: its argument's position) is left out of the key and put back
    escaped, as the macro escapes it."""

    key: Callable[..., Hashable]
    address: int | None = None


def _instance_states(instance: Any) -> Hashable:
    """What ``ui.review_state`` shows of a form instance."""
    if not instance:
        return None
    return (
        instance.sdv_status.value,
        instance.review_status.value,
        instance.lock_state.value,
        instance.signature_state.value,
    )


def _counts(counts: Any) -> Hashable:
    return None if counts is None else (counts.open, counts.answered, counts.closed)


#: The macros shown on every form page and a casebook's every form, kept by what they show.
KEPT_MACROS: dict[tuple[str, str], KeptMacro] = {
    ("macros/ui.jinja2", "form_status"): KeptMacro(
        lambda status, rows=None, compact=False: (status, rows, compact)
    ),
    ("macros/ui.jinja2", "review_state"): KeptMacro(
        lambda instance, full=False, compact=False: (_instance_states(instance), full, compact)
    ),
    ("queries/_macros.jinja2", "count"): KeptMacro(lambda number: number),
    ("queries/_macros.jinja2", "answered_count"): KeptMacro(lambda number: number),
    ("queries/_macros.jinja2", "form_count"): KeptMacro(
        lambda instance, oob=False: (
            (instance.open_queries, instance.answered_queries) if instance else None,
            oob,
        )
    ),
    ("queries/_macros.jinja2", "badge"): KeptMacro(
        lambda key, oid, counts, url, can_raise, label, oob=False: (
            key,
            oid,
            _counts(counts),
            bool(can_raise),
            str(escape(label)),
            oob,
        ),
        address=3,
    ),
}


class KeptMacros:
    """``{{ kept(template, macro, *args) }}``: a macro of :data:`KEPT_MACROS` rendered once per
    process for each key and language, instead of on every page and in every row (~50–120
    calls a call, and the import of its template)."""

    def __init__(
        self, environment: Environment, macros: dict[tuple[str, str], KeptMacro], size: int = 4096
    ) -> None:
        self.environment = environment
        self.macros = macros
        self.size = size
        self.kept: dict[Hashable, Markup | None] = {}

    @pass_context
    def render(
        self, context: Context, template: str, macro: str, /, *args: Any, **kwargs: Any
    ) -> Markup:
        spec = self.macros[template, macro]
        key = (template, macro, context["request"].locale_name, spec.key(*args, **kwargs))
        found = self.kept.get(key)
        if found is not None:
            if spec.address is None:
                return found
            return Markup(found.replace(ADDRESS_STAND_IN, escape(args[spec.address])))  # noqa: S704
        later = ImportedLater(context, template)
        html = later.call(macro, *args, **kwargs)
        if key in self.kept or self.environment.auto_reload:
            return html
        kept: Markup | None = html
        if spec.address is not None:
            other = list(args)
            other[spec.address] = ADDRESS_STAND_IN
            kept = later.call(macro, *other, **kwargs)
            back = kept.replace(ADDRESS_STAND_IN, escape(args[spec.address]))
            if back != html or ADDRESS_STAND_IN not in kept:
                kept = None  # the address shown otherwise than escaped: rendered each time
        if len(self.kept) >= self.size:
            self.kept.clear()
        self.kept[key] = kept
        return html


class SearchPathRenderers:
    """The ``.jinja2`` renderers: a view's template found by its name in the search path
    (``jinja2.directories``), where every template of ours is. pyramid_jinja2's own factory
    first asks for the name relative to the view's package (``datacapt.entry:entry/form.jinja2``),
    a miss Jinja does not cache: ~130 calls on every render (an asset resolved, a file looked
    for) before the name found in the search path."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment

    def __call__(self, info: IRendererInfo) -> Jinja2TemplateRenderer:
        get_template, name = self.environment.get_template, info.name
        return Jinja2TemplateRenderer(lambda: get_template(name))


def includeme(config: Configurator) -> None:
    def setup() -> None:
        environment = config.get_jinja2_environment()
        translations = TemplateGetText(config.registry.settings["jinja2.i18n.domain"])
        environment.globals.update(
            _=translations.underscore,
            static_url=static_url,
            LANGUAGES=LANGUAGES,
            ROLE_LABELS=ROLE_LABELS,
            Permission=Permission,
            text_in=text_in,
            input_hint=input_hint,
            ECRF_SLOTS=SLOTS,
            # the layouts' <meta name="htmx-config">: a constant, made JSON once (``|tojson``)
            htmx_config_json=htmlsafe_json_dumps(
                HTMX_CONFIG,
                dumps=environment.policies["json.dumps_function"],
                **environment.policies["json.dumps_kwargs"],
            ),
            subject_panels=subject_panels,
            breadcrumbs=breadcrumbs,
            state_marks=state_marks,
            layout_piece=KeptPieces(environment, LAYOUT_PIECES).render,
            imported=imported,
            kept=KeptMacros(environment, KEPT_MACROS).render,
        )
        environment.filters.update(
            datetime=datetime_filter,
            localize=localize,
            tr=translated,
            item_value=item_value,
            # a path's segment quoted as ``resource_path`` quotes its elements, for a link built
            # per row on a path made once
            path_segment=quote_path_segment,
            markdown=markdown,
            markdown_inline=markdown_inline,
            unit=unit,
        )

        config.registry.registerUtility(
            SearchPathRenderers(environment), IRendererFactory, name=".jinja2"
        )

    config.action(None, setup, order=999)
