"""The eCRF form's HTML compiled once per published version and filled per request.

Most of a form page never changes for a published version: labels, help, choices, hints, the
missing-data menu, in the page's languages, with or without the personal items masked. The form's
template (``templates/ecrf/_form.jinja2``) asks a :class:`Slots` object for every piece that does
change (a value, a checked choice, whether a block is hidden, its messages, its query badge and
SDV mark). Rendered once with a :class:`Recorder` in place of it, the template leaves a marker
where each piece goes; the text between markers is the compiled form, kept in-process under a key
that holds the version's id (published versions never change, so the key is never stale). Each
request then only fills the markers by calling the same :class:`Slots` methods on its own state:
the HTML is the template's, by construction. The pieces a macro fills (messages, query badges,
SDV marks) take the same few shapes on every page: each is kept per slot and state as a request
first rendered it (a badge with its form's address stood in), so a quiet form fills with no macro
call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2.runtime import Macro
from markupsafe import Markup, escape
from pyramid.renderers import render
from pyramid.request import Request

from datacapt.ecrf.definition import Item
from datacapt.ecrf.runtime import BlockState, FormState
from datacapt.ecrf.values import holds_numbers
from datacapt.numbers import shown_number

COMPILE_TEMPLATE = "ecrf/_compile.jinja2"
MARKER = re.compile("\x00([0-9]+)\x01")
CACHE_SIZE = 256
_COMPILED: dict[Hashable, CompiledForm] = {}

HIDDEN, CHECKED, SELECTED = Markup(" hidden"), Markup(" checked"), Markup(" selected")
INVALID, HAS_ERROR, NOTHING = Markup(' aria-invalid="true"'), Markup(" has-error"), Markup("")
#: markupsafe's escapes as one translation: a filled value is joined into the form's text, so
#: it needs no :class:`Markup` of its own (``escape`` makes one, ~6 calls a value).
ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def _current_text(state: BlockState, locale: str) -> str:
    """:meth:`Slots.current`'s text, escaped."""
    value = state.raw[0] if state.raw else ""
    # Only a text with a '.' has a separator to rewrite (every whole number, date, code and
    # most texts have none): the item is not asked whether it holds numbers then.
    if "." in value and isinstance(state.block, Item) and holds_numbers(state.block):
        value = shown_number(value, locale)
    return value.translate(ESCAPES)


class Slots:
    """The pieces of the form that change per request; the template's only way to them."""

    def hidden(self, node: Any) -> Markup:
        """Hidden by branching, or by @HIDDEN (a block's ``concealed``)."""
        return HIDDEN if not node.visible or getattr(node, "concealed", False) else NOTHING

    def locked(self, state: BlockState, attribute: str) -> Markup:
        """``readonly`` or ``disabled`` on an input an action tag makes read-only."""
        return Markup(" {}").format(attribute) if state.readonly else NOTHING

    def has_error(self, state: BlockState) -> Markup:
        return HAS_ERROR if state.error else NOTHING

    def invalid(self, state: BlockState) -> Markup:
        return INVALID if state.error else NOTHING

    def checked(self, state: BlockState, code: str) -> Markup:
        return CHECKED if code in state.raw else NOTHING

    def unanswered(self, state: BlockState) -> Markup:
        return CHECKED if not state.raw or state.raw == [""] else NOTHING

    def selected(self, state: BlockState, code: str) -> Markup:
        return SELECTED if code == (state.raw[0] if state.raw else "") else NOTHING

    def chosen(self, state: BlockState, choices: Sequence[tuple[Any, ...]], none: str) -> Markup:
        """A read-only choice as text: the chosen options' labels (``choices``: code, label and
        what else the template keeps of each), or a dash read as ``none``."""
        texts = [choice[1] for choice in choices if choice[0] in state.raw]
        if texts:
            return Markup(", ").join(texts)
        return Markup(
            '<span aria-hidden="true">—</span><span class="visually-hidden">{}</span>'
        ).format(none)

    def current(self, state: BlockState, locale: str) -> Markup:
        """The value in its input; a number with the reader's decimal separator, which a save
        reads back (see :func:`datacapt.numbers.typed_number`)."""
        return Markup(_current_text(state, locale))  # noqa: S704 - escaped there

    def file(
        self, state: BlockState, entry: Mapping[str, Any], macro: Macro, readonly: bool
    ) -> Any:
        current = state.raw[0] if state.raw else ""
        return macro(state.name, current, entry["files"].get(current), entry["file_url"], readonly)

    def output(self, state: BlockState, locale: str) -> Markup:
        return escape(shown_number(state.parsed.stored or "", locale))

    def missing(self, state: BlockState, entry: Mapping[str, Any], code: str) -> Markup:
        return SELECTED if entry["missing"].get(state.name) == code else NOTHING

    def missing_text(self, state: BlockState, entry: Mapping[str, Any], label: str) -> Markup:
        """A read-only form's missing-data code as text (nothing when the item has none)."""
        code = entry["missing"].get(state.name)
        if not code:
            return NOTHING
        meaning = {pair[0]: pair[1] for pair in entry["codes"]}.get(code, "")
        return Markup('<p class="missing-code readonly-value">{}: {} — {}</p>').format(
            label, code, meaning
        )

    def history(self, state: BlockState | None, entry: Mapping[str, Any]) -> Markup:
        return escape(entry["history"])

    def messages(self, state: BlockState, macro: Macro) -> Any:
        return macro(state.name, state)

    def badge(self, state: BlockState, entry: Mapping[str, Any], macro: Macro, label: str) -> Any:
        queries, oid = entry["queries"], state.block.oid
        return macro(
            state.name, oid, queries["counts"].get(oid), queries["url"], queries["can_raise"], label
        )

    def sdv(self, state: BlockState, entry: Mapping[str, Any], macro: Macro) -> Any:
        return macro(state.block, entry["sdv"])


SLOTS = Slots()


@dataclass(frozen=True)
class _Entry:
    """Stands for the request's ``entry`` in a recorded slot."""


@dataclass(frozen=True)
class _MacroRef:
    """Stands for one of the request's macros in a recorded slot."""

    name: str


ENTRY = _Entry()
Slot = tuple[str, str, str, tuple[Any, ...]]  # method, "block" or "group", OID, arguments


class Recorder:
    """In place of :data:`SLOTS` while compiling: each piece becomes a marker and a slot."""

    def __init__(self) -> None:
        self.slots: list[Slot] = []

    def __getattr__(self, method: str) -> Any:
        if not callable(getattr(SLOTS, method, None)):
            raise AttributeError(method)

        def record(node: Any, *args: Any) -> Markup:
            if isinstance(node, BlockState):
                kind, oid = "block", node.block.oid
            else:
                kind, oid = "group", node.oid
            self.slots.append((method, kind, oid, tuple(_stand_in(arg) for arg in args)))
            return Markup(f"\x00{len(self.slots) - 1}\x01")  # noqa: S704 - a marker of digits

        return record


def _stand_in(argument: Any) -> Any:
    """What a slot keeps of an argument: the request's macros and entry are named, not kept."""
    if isinstance(argument, Macro):
        return _MacroRef(argument.name)
    return ENTRY if isinstance(argument, Mapping) else argument


#: Stands for the form's query-panel address in a memoised badge (no URL or text holds it).
URL_STAND_IN = "\x02url\x03"


def _quiet_messages(state: BlockState, entry: Mapping[str, Any]) -> Hashable | None:
    """Messages with nothing to say depend on the item alone (``messages`` in the template)."""
    parsed = state.parsed  # what state.error and state.warning give on a shown block
    return None if state.visible and (parsed.error or parsed.warning or state.fired) else ()


def _sdv_states(state: BlockState, entry: Mapping[str, Any]) -> Hashable:
    """What an SDV mark shows of its row (``review/_marks.jinja2``'s ``item_mark`` reads no more):
    whether there is one, verified, changed since, and whether this user may tick it."""
    sdv = entry["sdv"]
    row = sdv["rows"].get(state.block.oid)
    if not (
        row is not None
        and row.sdv_required
        and (row.value is not None or row.missing_code is not None or row.sdv_changed)
    ):
        return ()
    return bool(row.verified_at), bool(row.sdv_changed), bool(sdv["can_verify"])


def _badge_counts(state: BlockState, entry: Mapping[str, Any]) -> Hashable:
    """What a query badge shows besides the form's address: its item's counts, whether this
    user may raise a query."""
    queries = entry["queries"]
    counts = queries["counts"].get(state.block.oid)
    found = None if counts is None else (counts.open, counts.answered, counts.closed)
    return found, bool(queries["can_raise"])


def _missing_code(state: BlockState, entry: Mapping[str, Any]) -> Hashable:
    """A missing-data option's mark, or a read-only item's code as text, depends on the code
    its item holds alone (the option's code, the codes' meanings and the label are the slot's
    or the compiled form's)."""
    return entry["missing"].get(state.name, "")


def _badge_address(entry: Mapping[str, Any]) -> str:
    return entry["queries"]["url"]


def _badge_stand_in(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    return {**entry, "queries": {**entry["queries"], "url": URL_STAND_IN}}


@dataclass(frozen=True)
class Memoised:
    """A piece filled by a macro, kept once per state instead of rendered per request."""

    #: What the piece's text depends on besides its slot (None: too much to keep, render it).
    key: Callable[[BlockState, Mapping[str, Any]], Hashable | None]
    #: For a piece carrying text of the request's own (an address): that text, and the entry
    #: with :data:`URL_STAND_IN` in its place.
    carried: Callable[[Mapping[str, Any]], str] | None = None
    stand_in: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


#: A piece that depends on the request's entry alone (the history's address): a stand-in in
#: the form's text, replaced once per request (see :attr:`CompiledForm.folded`).
ONCE = Memoised(lambda state, entry: None)
MEMOISED = {
    "history": ONCE,
    "messages": Memoised(_quiet_messages),
    "missing": Memoised(_missing_code),
    "missing_text": Memoised(_missing_code),
    "sdv": Memoised(_sdv_states),
    "badge": Memoised(_badge_counts, _badge_address, _badge_stand_in),
}
#: The one memoised piece carrying the request's text (:data:`URL_STAND_IN`, the address
#: :func:`_badge_address` gives).
CARRIED = MEMOISED["badge"]


#: A slot made ready to fill: its index, the :data:`SLOTS` method, its arguments, whether they
#: name the request's entry or macros, how it is memoised and the text after it.
Step = tuple[int, Callable[..., Any], tuple[Any, ...], bool, Memoised | None, str]

#: What fills a slot in :meth:`CompiledForm.fill` when it is not the :data:`SLOTS` method: the
#: same text, without a :class:`Markup` of its own.
FILL_TEXT: dict[str, Callable[..., Any]] = {"current": _current_text}


def once_stand_in(method: str) -> str:
    """Where a :data:`ONCE` slot's piece goes in a folded form's text: no escaped text, address
    or design text holds a NUL (PostgreSQL refuses one, the door too)."""
    return f"\x00{method}\x01"


#: What the slots give on a quiet node (shown, not @HIDDEN, not read-only, no refused value, no
#: missing-data code held): nothing, whatever else the request holds.
QUIET = frozenset({"hidden", "has_error", "invalid", "locked", "missing", "missing_text"})


@dataclass(frozen=True)
class Run:
    """The consecutive slots of one node (a block, or a section or subsection): ``steps`` to
    fill it as it is, and ``quiet`` to fill it when it is quiet: the text that comes before its
    first slot left (the slots that give nothing on a quiet node folded into the text), and
    those slots."""

    on_block: bool
    oid: str
    steps: tuple[str, tuple[Step, ...]]
    quiet: tuple[str, tuple[Step, ...]]


def _folded(steps: tuple[str, tuple[Step, ...]], text: str) -> tuple[str, tuple[Step, ...]]:
    """``steps`` with ``text`` after them: it joins the last step's text, or the lead."""
    lead, found = steps
    if not found:
        return lead + text, found
    *before, last = found
    return lead, (*before, (*last[:-1], last[-1] + text))


def _runs(slots: Sequence[Slot], texts: Sequence[str], fold: bool) -> tuple[Run, ...]:
    """The slots grouped by node; ``fold``: each :data:`ONCE` slot a stand-in in the text."""
    runs: list[Run] = []
    for index, ((method, kind, oid, args), text) in enumerate(zip(slots, texts, strict=True)):
        memoised = MEMOISED.get(method)
        step: Step = (
            index,
            FILL_TEXT.get(method) or getattr(SLOTS, method),
            args,
            any(isinstance(a, _MacroRef) or a is ENTRY for a in args),
            memoised,
            text,
        )
        on_block = kind == "block"
        if not runs or (runs[-1].on_block, runs[-1].oid) != (on_block, oid):
            runs.append(Run(on_block, oid, ("", ()), ("", ())))
        run = runs[-1]
        steps, quiet = run.steps, run.quiet
        if fold and memoised is ONCE:
            steps = _folded(steps, once_stand_in(method) + text)
            quiet = _folded(quiet, once_stand_in(method) + text)
        else:
            steps = (steps[0], (*steps[1], step))
            # A QUIET slot gives nothing on a quiet node: its text joins what comes before.
            quiet = _folded(quiet, text) if method in QUIET else (quiet[0], (*quiet[1], step))
        runs[-1] = Run(on_block, oid, steps, quiet)
    return tuple(runs)


@dataclass(frozen=True)
class CompiledForm:
    """The static text around the slots (one more than the slots) and the slots; ``memo``
    keeps the macro-filled pieces by slot and state as a request first rendered them (a piece
    carrying the request's text: with the number of stand-ins it holds; None:
    a piece that must be rendered each time)."""

    texts: tuple[str, ...]
    slots: tuple[Slot, ...]
    memo: dict[tuple[int, Hashable], Any] = field(default_factory=dict, compare=False)
    runs: tuple[Run, ...] = field(init=False, repr=False, compare=False)
    #: The runs with each :data:`ONCE` slot's piece a stand-in in the text, and those slots'
    #: methods with how many stand-ins each leaves (the stand-ins are replaced at the end, once
    #: a request, not filled once a node).
    folded: tuple[Run, ...] = field(init=False, repr=False, compare=False)
    once: tuple[tuple[str, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Each slot's method and what its arguments need looked up once, not per request,
        grouped by node."""
        object.__setattr__(self, "runs", _runs(self.slots, self.texts[1:], fold=False))
        object.__setattr__(self, "folded", _runs(self.slots, self.texts[1:], fold=True))
        methods = [slot[0] for slot in self.slots if MEMOISED.get(slot[0]) is ONCE]
        object.__setattr__(
            self,
            "once",
            tuple((method, methods.count(method)) for method in dict.fromkeys(methods)),
        )

    def fill(self, state: FormState, entry: Mapping[str, Any], **macros: Macro) -> Markup:
        """The form's HTML for this request's state, entry and macros (by their names): the
        folded runs, with the request's own texts (the :data:`ONCE` pieces, the address in
        kept badges) put in at the end, once each."""
        html, carried = self._filled(self.folded, state, entry, macros, defer=True)
        pieces = [
            (once_stand_in(method), str(getattr(SLOTS, method)(None, entry)), count)
            for method, count in self.once
        ]
        if carried:
            pieces.append((URL_STAND_IN, str(escape(_badge_address(entry))), carried))
        for stand_in, piece, count in pieces:
            # Split, then joined with the piece: one search through the page's text, where
            # counting, then replacing made two. A piece cannot hold a stand-in (checked), so
            # one stand-in's replacement leaves the others' counts as they were.
            split = html.split(stand_in)
            # A stand-in anywhere else (in a value, or in a piece): filled node by node.
            if "\x00" in piece or "\x02" in piece or len(split) != count + 1:
                return Markup(self._filled(self.runs, state, entry, macros, defer=False)[0])  # noqa: S704
            html = piece.join(split)
        return Markup(html)  # noqa: S704 - the template's output and escaped pieces

    def _filled(
        self,
        runs: tuple[Run, ...],
        state: FormState,
        entry: Mapping[str, Any],
        macros: Mapping[str, Macro],
        defer: bool,
    ) -> tuple[str, int]:
        """The form's text from ``runs``, and how many :data:`URL_STAND_IN` the kept badges
        left in it (``defer``: for :meth:`fill` to put the address in at once)."""
        blocks, groups = state.blocks, {}
        deferred = 0
        for section in state.sections:
            groups[section.oid] = section
            groups.update((sub.oid, sub) for sub in section.subsections)
        memo, carried = self.memo, {}
        missing = entry.get("missing") or {}
        parts = [self.texts[0]]
        append = parts.append
        for run in runs:
            # Quiet: every QUIET slot of the node gives nothing (see Slots); tested inline, as
            # it is for every node of every page.
            if run.on_block:
                node = blocks[run.oid]
                quiet = (
                    node.visible
                    and not node.concealed
                    and not node.readonly
                    and node.parsed.error is None
                    and missing.get(node.name) is None
                )
            else:
                node = groups[run.oid]
                quiet = node.visible
            lead, steps = run.quiet if quiet else run.steps
            if lead:
                append(lead)
            for index, call, args, resolve, memoised, text in steps:
                if memoised is ONCE:
                    piece = carried.get(call)
                    if piece is None:
                        piece = carried[call] = call(node, entry)
                    append(piece)
                    append(text)
                    continue
                key = (index, memoised.key(node, entry)) if memoised is not None else None
                piece = memo.get(key) if key is not None and key[1] is not None else None
                if piece is None:
                    values = (
                        [
                            macros[a.name]
                            if isinstance(a, _MacroRef)
                            else entry
                            if a is ENTRY
                            else a
                            for a in args
                        ]
                        if resolve
                        else args
                    )
                    piece = call(node, *values)
                    if key is not None and key[1] is not None and key not in memo:
                        memo[key] = self._kept(memoised, call, node, entry, values, str(piece))
                elif memoised.carried is not None:
                    piece, count = piece  # kept with the stand-ins it holds
                    if defer and memoised is CARRIED:
                        deferred += count
                        append(piece)
                        append(text)
                        continue
                    if call not in carried:
                        carried[call] = str(escape(memoised.carried(entry)))
                    piece = piece.replace(URL_STAND_IN, carried[call])
                append(piece)
                append(text)
        return "".join(parts), deferred

    @staticmethod
    def _kept(
        memoised: Memoised,
        call: Callable[..., Any],
        node: Any,
        entry: Mapping[str, Any],
        values: Sequence[Any],
        piece: str,
    ) -> str | tuple[str, int] | None:
        """What to keep of a piece just rendered: itself; for a piece carrying the request's own
        text, its rendering with the stand-in and how many it holds, if putting the text back
        gives this very piece (else None: rendered each time)."""
        if memoised.carried is None or memoised.stand_in is None:
            return piece
        other = memoised.stand_in(entry)
        kept = str(call(node, *(other if v is entry else v for v in values)))
        back = kept.replace(URL_STAND_IN, str(escape(memoised.carried(entry))))
        if back != piece or URL_STAND_IN not in kept:
            return None
        return kept, kept.count(URL_STAND_IN)


def compiled_form(
    request: Request, version: tuple[int, str], data: Mapping[str, Any]
) -> CompiledForm | None:
    """The compiled form for the page ``data`` (what :func:`datacapt.entry.views._page` gives
    the template) of ``version`` (its row id and content hash), compiled on first use; None for
    a design that is not a published version."""
    if not version[0]:
        return None
    entry = data["entry"]
    key = (
        version,
        data["state"].form.oid,
        data["language"],
        request.locale_name,
        data["readonly"],
        frozenset(entry["masked"]),
        tuple(tuple(code) for code in entry["codes"]),
        "queries" in entry,
        "sdv" in entry,
    )
    found = _COMPILED.get(key)
    if found is None:
        recorder = Recorder()
        html = render(COMPILE_TEMPLATE, {**data, "ecrf_recorder": recorder}, request=request)
        pieces = MARKER.split(html)
        texts = tuple(pieces[0::2])
        if [int(number) for number in pieces[1::2]] != list(range(len(recorder.slots))):
            return None  # a marker in the design's own text: render the template as it is
        if len(_COMPILED) >= CACHE_SIZE:
            _COMPILED.clear()
        found = _COMPILED[key] = CompiledForm(texts, tuple(recorder.slots))
    return found
