"""The door: a request whose address, query string or form cannot be read is refused with a 400
before traversal, a view or the database sees it.

Unreadable means: not UTF-8 (an overlong form, a lone surrogate, a stray ``%ff``), a form in
another charset, a multipart body without a boundary or that does not parse, or a NUL anywhere,
a JSON body's strings included (no text field can hold one, and PostgreSQL refuses it in text).
Once refused, the parts that could not be read are blanked, so the error page and the response
hooks can run safely.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import EXCVIEW
from webob.multidict import MultiDict

from datacapt.i18n import _

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: How a NUL can appear in JSON text: escaped (``\u0000``), the only form strict JSON allows.
JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


class MalformedRequest(HTTPBadRequest):
    """The address or the form of the request cannot be read."""

    refusal = _(
        "The address or the form sent could not be read (a character that is not valid text, or "
        "a damaged form). Go back, then try again."
    )


class ForbiddenCharacters(MalformedRequest):
    """A form value holds a NUL character."""

    refusal = _(
        "The form held a character that cannot be stored (NUL). Remove it, then send the form "
        "again."
    )


def _holds_nul(pairs: Iterable[tuple[str | None, Any]]) -> bool:
    """A NUL in a name, a value or a file's name (a multipart part may have no name)."""
    for key, value in pairs:
        text = value if isinstance(value, str) else getattr(value, "filename", None) or ""
        if "\x00" in (key or "") or "\x00" in text:
            return True
    return False


def _check_path(request: Request) -> None:
    try:
        path = request.environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise MalformedRequest() from None
    if "\x00" in path:
        raise MalformedRequest()


def _check_query(request: Request) -> None:
    try:
        pairs = request.GET.items()
    except UnicodeError:
        raise MalformedRequest() from None
    if _holds_nul(pairs):
        raise ForbiddenCharacters()


def _charset(content_type: str) -> str:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower().replace("-", "")
    return "utf8"


#: The content type of a form as a browser and htmx send it: read by :func:`_read_urlencoded`.
URLENCODED = "application/x-www-form-urlencoded"


def _read_urlencoded(request: Request) -> bool | None:
    """Read a form sent as ``application/x-www-form-urlencoded`` (no parameter) into webob's
    cache of ``request.POST``, as webob would (its ``cgi.FieldStorage``: the body decoded
    from UTF-8 replacing what is not, then ``parse_qsl`` keeping blanks, repeated names in
    order) without a field object and a dozen calls a field. None, nothing parsed, for any
    other form or a length webob's own reading could treat otherwise; else whether the form
    holds a NUL: a raw one or ``%00``, the only ways to one (an overlong form is replaced)."""
    environ = request.environ
    if environ.get("CONTENT_TYPE") != URLENCODED:
        return None
    request.make_body_seekable()  # as webob's POST: then CONTENT_LENGTH is the body's length
    length = environ.get("CONTENT_LENGTH", "0")
    if not (length.isascii() and length.isdigit()):
        return None
    raw = request.body_file_raw
    raw.seek(0)
    text = request.body_file.read(int(length)).decode("utf-8", "replace").replace("+", " ")
    fields = [part.partition("=") for part in text.split("&") if part]
    if "%" in text:  # "+" is a space before unquoting, as in parse_qsl: "%2B" stays "+"
        pairs = [
            (
                unquote(name, "utf-8", "replace") if "%" in name else name,
                unquote(value, "utf-8", "replace") if "%" in value else value,
            )
            for name, _, value in fields
        ]
    else:
        pairs = [(name, value) for name, _, value in fields]
    environ["webob._parsed_post_vars"] = (MultiDict(pairs), raw)
    return "\x00" in text or "%00" in text


def _check_form(request: Request) -> None:
    if request.method != "POST":
        return
    holds_nul = _read_urlencoded(request)
    if holds_nul:
        raise ForbiddenCharacters()
    if holds_nul is not None or request.content_type not in FORM_TYPES:
        return
    if _charset(request.headers.get("Content-Type", "")) != "utf8":
        raise MalformedRequest()
    try:
        pairs = request.POST.items()
    except (ValueError, UnicodeError, DeprecationWarning):
        raise MalformedRequest() from None
    if _holds_nul(pairs):
        raise ForbiddenCharacters()


def _json_holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_holds_nul(k) or _json_holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_holds_nul(item) for item in value)
    return False


def _check_json(request: Request) -> None:
    """Parsed only when its text holds an escaped NUL (a backslash may precede it as text):
    malformed JSON is left to the API's own checks, which describe it."""
    if request.content_type != "application/json" or not JSON_NUL.search(request.body):
        return
    try:
        document = json.loads(request.body)
    except ValueError:
        return
    if _json_holds_nul(document):
        raise ForbiddenCharacters()


#: Each check, and what it blanks in the WSGI environment when it refuses the request.
CHECKS: tuple[tuple[Callable[[Request], None], dict[str, Any]], ...] = (
    (_check_path, {"PATH_INFO": "/"}),
    (_check_query, {"QUERY_STRING": ""}),
    (_check_form, {"CONTENT_TYPE": "", "CONTENT_LENGTH": "0", "webob.is_body_seekable": False}),
    (_check_json, {"CONTENT_TYPE": "", "CONTENT_LENGTH": "0", "webob.is_body_seekable": False}),
)
PATH_ONLY = CHECKS[:1]


def _checks(
    environ: dict[str, Any],
) -> tuple[tuple[Callable[[Request], None], dict[str, Any]], ...]:
    """The checks ``environ`` needs: no query string, nothing to read there; no content type,
    neither a form nor JSON (the usual GET: the path's check alone)."""
    if environ.get("QUERY_STRING") or environ.get("CONTENT_TYPE"):
        return CHECKS
    return PATH_ONLY


def check(request: Request) -> None:
    """Raise :class:`MalformedRequest` (the first problem found) unless every part of
    ``request`` reads as text; every part that does not is blanked first."""
    refused: MalformedRequest | None = None
    for part, blank in _checks(request.environ):
        try:
            part(request)
        except MalformedRequest as error:
            request.environ.update(blank)
            if part in (_check_form, _check_json):
                request.body_file_raw = io.BytesIO()
            refused = refused or error
    if refused is not None:
        raise refused


def door_tween_factory(handler: Callable[[Request], Response], registry: Registry) -> Any:
    def door(request: Request) -> Response:
        check(request)
        return handler(request)

    return door


def includeme(config: Configurator) -> None:
    config.add_tween("datacapt.door.door_tween_factory", under=EXCVIEW)
