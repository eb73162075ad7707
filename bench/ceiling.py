"""The ceiling: a bare Pyramid view answering "hello", served exactly as the app is (same gunicorn
settings, same workers), so every figure can be given as a ratio to it."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import Router


def hello(request: Request) -> Response:
    return Response("hello", content_type="text/plain")


def make_app(global_config: Any = None, **settings: Any) -> Router:
    config = Configurator(settings=settings)
    config.add_view(hello, name="hello")
    return config.make_wsgi_app()


app = make_app()
