"""The JSON API (``/api/v1``) for integrations: per-study keys, the OpenAPI description the
requests and answers are checked against, problem details for errors."""

from __future__ import annotations

import json
from pathlib import Path

from pyramid.config import Configurator
from pyramid.events import ContextFound
from pyramid.settings import asbool

SPEC = Path(__file__).with_name("openapi.yaml")


def includeme(config: Configurator) -> None:
    # Imported here, not above: the OpenAPI checker they bring is the app's, and a command that
    # uses the keys (``datacapt api-key``) imports this package without building the app.
    from datacapt.api.identity import api_identity
    from datacapt.api.limits import DEFAULT_PER_MINUTE, LIMIT, SETTING, RateLimit, limit_keys
    from datacapt.api.problems import MEDIA_TYPE
    from datacapt.api.views import ROUTES

    config.include("pyramid_openapi3")
    config.pyramid_openapi3_spec(str(SPEC), route="/api/v1/openapi.yaml")
    config.pyramid_openapi3_add_deserializer(MEDIA_TYPE, json.loads)
    settings = config.get_settings()
    settings.setdefault(
        "pyramid_openapi3.enable_response_validation",
        asbool(settings.get("datacapt.api_check_responses", False)),
    )
    config.registry[LIMIT] = RateLimit(int(settings.get(SETTING, DEFAULT_PER_MINUTE)))
    for name, (pattern, path) in ROUTES.items():
        config.add_route(name, pattern, traverse=path)
    config.add_identity_loader("/api/", api_identity)
    config.add_subscriber(limit_keys, ContextFound)
    config.scan(".views")
    config.scan(".problems")
    config.scan(".pages")
