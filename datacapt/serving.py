"""A web server's processes around ``fork``: the application loaded and warmed once, in the
server's master process, then every worker forked from it with its own database connections.

Each worker used to load the application itself and compile each template on its first use:
a fresh worker's first form page took ~1 s of CPU (19 templates compiled) and every other
page its own share, each time gunicorn recycled a worker (``max_requests``). Warmed in the
master, a worker starts with all of it compiled, shares it with the others (copy-on-write,
frozen out of the garbage collector's walks) and answers its first request like its
thousandth.
"""

from __future__ import annotations

import gc
from typing import Any

from pyramid_jinja2 import IJinja2Environment

from datacapt.config import TEMPLATES_DIR

#: Templates rendered by environments of their own, never by the web's: mail bodies (without
#: HTML escaping) and the PDFs (WeasyPrint's filters).
OWN_ENVIRONMENTS = ("mail/", "exports/pdf/", "consent/pdf.jinja2")


def web_templates() -> list[str]:
    """The names of the templates the web's environment renders."""
    return sorted(
        name
        for name in (
            path.relative_to(TEMPLATES_DIR).as_posix() for path in TEMPLATES_DIR.rglob("*.jinja2")
        )
        if not name.startswith(OWN_ENVIRONMENTS)
    )


def warm(app: Any) -> int:
    """Compile every web template of the WSGI application ``app`` now, then leave everything
    loaded out of the garbage collector's generations; the number of templates compiled (none
    for an application without ours, as the benchmark's bare one)."""
    registry = getattr(app, "registry", None)
    environment = registry and registry.queryUtility(IJinja2Environment, name=".jinja2")
    names = web_templates() if environment else []
    for name in names:
        environment.get_template(name)
    gc.freeze()
    return len(names)


def forked(app: Any) -> None:
    """In a worker just forked from the master holding ``app``: the database connections the
    master may hold are forgotten (left to the master, never used by two processes), so the
    worker opens its own."""
    engine = getattr(app, "registry", {}).get("db.engine")
    if engine is not None:
        engine.dispose(close=False)
