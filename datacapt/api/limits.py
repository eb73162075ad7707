"""Requests per key and minute: a fixed window counted in Redis when the deployment has one
(every app node shares it), else in this process."""

from __future__ import annotations

import logging
import time
from collections import Counter

from pyramid.events import ContextFound
from pyramid.httpexceptions import HTTPTooManyRequests
from pyramid.request import Request
from redis.exceptions import RedisError

from datacapt.jobs import redis_connection
from datacapt.security import raw_path

log = logging.getLogger(__name__)
WINDOW = 60  # seconds
SETTING = "datacapt.api_requests_per_minute"
DEFAULT_PER_MINUTE = 600
#: Registry key of the application's RateLimit.
LIMIT = "datacapt.api.limit"


class RateLimit:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.local: Counter[tuple[int, int]] = Counter()

    def count(self, request: Request, key_id: int, window: int) -> int:
        """This request's number in its key's window."""
        redis = redis_connection(request.registry)
        if redis is not None:
            name = f"datacapt:api:{key_id}:{window}"
            try:
                pipeline = redis.pipeline()
                pipeline.incr(name)
                pipeline.expire(name, 2 * WINDOW)
                return int(pipeline.execute()[0])
            except RedisError:
                log.warning("API rate limit: Redis unreachable, counting in this process")
        if (key_id, window) not in self.local:
            for old in [k for k in self.local if k[1] < window]:
                del self.local[old]
        self.local[key_id, window] += 1
        return self.local[key_id, window]

    def check(self, request: Request, key_id: int) -> None:
        """Refuse (429, with when to try again) past the key's requests of this minute."""
        now = time.time()
        window = int(now // WINDOW)
        if self.count(request, key_id, window) > self.per_minute:
            wait = max(1, int((window + 1) * WINDOW - now))
            raise HTTPTooManyRequests(
                detail=f"At most {self.per_minute} requests a minute per key.",
                headers={"Retry-After": str(wait)},
            )


def limit_keys(event: ContextFound) -> None:
    """Each keyed API request counts against its key (once the context is found, where a
    refusal becomes a problem answer like any other), once: not again when pyramid_retry runs
    it again after a conflict."""
    request = event.request
    if request.environ.get("retry.attempt"):
        return
    identity = request.identity if raw_path(request).startswith("/api/") else None
    if identity is not None and identity.api_key_id is not None:
        request.registry[LIMIT].check(request, identity.api_key_id)
