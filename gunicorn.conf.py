"""gunicorn settings for production.ini: ``gunicorn --paste production.ini -c gunicorn.conf.py``.

Sync workers, one per core (each request holds one database connection for its transaction;
waitress with fewer threads than connections collapses, see DESIGN.md §9). Behind a reverse proxy
that buffers slow clients. The environment tunes a deployment without editing this file.

Metrics: every worker counts its own requests. Set ``PROMETHEUS_MULTIPROC_DIR`` to a folder only
this server writes (e.g. ``/run/datacapt/metrics``) in the environment that starts gunicorn: the
workers then write their counts there, and ``/metrics``, whichever worker answers it, adds up all
of them. The folder is emptied when the server starts, so a restart begins from zero.
"""

import multiprocessing
import os
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:6543")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = "sync"
backlog = 2048
timeout = 30
graceful_timeout = 10
max_requests = 10000  # recycle workers now and then (bounded memory), staggered by the jitter
max_requests_jitter = 1000
accesslog = None
preload_app = True  # loaded and warmed once, then forked: a recycled worker starts warm


def on_starting(server: object) -> None:
    """Empty the metrics folder: files of an earlier run would add their counts to this one's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def when_ready(server: Any) -> None:
    """The application, loaded once here (``preload_app``), warmed before any worker is forked:
    its templates compiled and all of it frozen out of the garbage collector's walks
    (``datacapt.serving``)."""
    from datacapt.serving import warm

    warm(server.app.wsgi())


def post_fork(server: Any, worker: Any) -> None:
    """A new worker opens its own database connections, never the master's."""
    from datacapt.serving import forked

    forked(server.app.wsgi())
