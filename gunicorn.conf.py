"""gunicorn settings for production.ini: ``gunicorn --paste production.ini -c gunicorn.conf.py``.

Sync workers, one per core (each request holds one database connection for its transaction;
waitress with fewer threads than connections collapses, see DESIGN.md §9). Behind a reverse proxy
that buffers slow clients. The environment tunes a deployment without editing this file.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:6543")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = "sync"
backlog = 2048
timeout = 30
graceful_timeout = 10
max_requests = 10000  # recycle workers now and then (bounded memory), staggered by the jitter
max_requests_jitter = 1000
accesslog = None
