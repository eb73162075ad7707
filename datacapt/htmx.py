"""HTMX conventions in one place.

One view serves both the page and its fragment: the template extends ``layout``, which is the
full page for normal, boosted and history-restore requests and a bare fragment for other htmx
requests. Every response varies on ``HX-Request`` so caches keep the two apart. htmx ignores
headers on 3xx responses, so navigation after an htmx POST uses ``HX-Redirect``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pyramid.config import Configurator
from pyramid.events import BeforeRender, NewResponse
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

#: Read by htmx from <meta name="htmx-config">. No eval, no scripts from responses, no foreign
#: hosts (the CSP forbids them anyway); no history snapshots in localStorage, since pages hold
#: health data; 409/422/429 carry a form to re-render, other errors only raise an event.
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "selfRequestsOnly": True,
    "includeIndicatorStyles": False,
    "historyCacheSize": 0,
    "refreshOnHistoryMiss": True,
    "defaultFocusScroll": True,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "409", "swap": True, "error": False},
        {"code": "422", "swap": True, "error": False},
        {"code": "429", "swap": True, "error": False},
        {"code": "[45]..", "swap": False, "error": True},
    ],
}
#: The request methods of a view that only reads.
READ = ("GET", "HEAD")
#: What a URL keeps as it is; anything else (non-ASCII, spaces, quotes) is percent-encoded.
URL_CHARACTERS = "/?#[]@!$&'()*+,;=:%~"
PAGE_LAYOUT = "layouts/page.jinja2"
FRAGMENT_LAYOUT = "layouts/fragment.jinja2"
#: Full pages of the subjects' area (``/p/``): no staff header, menus or session dialog.
SUBJECT_LAYOUT = "layouts/subject.jinja2"
SUBJECT_AREA = "/p/"
#: The public application pages of recruitments, laid out as the subjects' area.
APPLY_AREA = "/apply/"


def page_view(context: type, template: str, permission: str, **options: Any) -> view_config:
    """A view that only reads and renders ``template`` (its page, or its fragment for htmx)."""
    return view_config(
        context=context, renderer=template, permission=permission, request_method=READ, **options
    )


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment(request: Request) -> bool:
    """An htmx request that will swap part of a page (not a boosted or history navigation)."""
    return (
        is_htmx(request)
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def encode_url(url: str) -> str:
    """``url`` as a response header can carry it (HTTP headers are Latin-1, and browsers
    expect ASCII): every other character percent-encoded as UTF-8, existing escapes kept."""
    return quote(url, safe=URL_CHARACTERS)


def redirect(request: Request, location: str) -> Response:
    """Navigate after a POST: a full-page ``HX-Redirect`` for htmx, a 303 otherwise."""
    location = encode_url(location)
    if is_htmx(request):
        response = Response(status=204)
        response.headers["HX-Redirect"] = location
        return response
    return HTTPSeeOther(location=location)


def choose_layout(event: BeforeRender) -> None:
    request = event.get("request")
    if request is not None and "layout" not in event:
        public = request.path_info.startswith((SUBJECT_AREA, APPLY_AREA))
        full = SUBJECT_LAYOUT if public else PAGE_LAYOUT
        event["layout"] = FRAGMENT_LAYOUT if request.wants_fragment else full


def add_vary(event: NewResponse) -> None:
    vary: Any = event.response.vary or ()
    if "HX-Request" not in vary:
        event.response.vary = (*vary, "HX-Request")


def includeme(config: Configurator) -> None:
    config.add_request_method(is_htmx, "is_htmx", reify=True)
    config.add_request_method(wants_fragment, "wants_fragment", reify=True)
    config.add_subscriber(choose_layout, BeforeRender)
    config.add_subscriber(add_vary, NewResponse)
