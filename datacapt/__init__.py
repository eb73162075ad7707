"""Datacapt: electronic data capture for clinical trials."""

from typing import Any

from pyramid.router import Router


def main(global_config: dict[str, Any], **settings: Any) -> Router:
    """Paste entry point: the WSGI application for an INI file's [app:main]."""
    from datacapt.config import configure

    return configure(settings).make_wsgi_app()
