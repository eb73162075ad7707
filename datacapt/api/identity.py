"""Who calls the API: the key in the ``Api-Key`` header, its account and its one study role,
in one query; the key's scope narrows what the role allows (:mod:`datacapt.api.keys`)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from pyramid.request import Request
from sqlalchemy import Select, bindparam, select, update

from datacapt.api import keys
from datacapt.models import ApiKey, User
from datacapt.security import Identity, identity_of, roles_query

HEADER = "Api-Key"


@cache
def key_statement() -> Select[Any]:
    """A key by its prefix, its account and the account's roles; built once."""
    roles = roles_query(
        select(ApiKey.user_id).where(ApiKey.prefix == bindparam("prefix")).scalar_subquery()
    )
    return (
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .outerjoin(roles, roles.c.user_id == User.id)
        .add_columns(*(column for column in roles.c if column.key != "user_id"))
        .where(ApiKey.prefix == bindparam("prefix"), User.is_active.is_(True))
    )


def api_identity(request: Request) -> Identity | None:
    """The identity of a request under ``/api/``: its key's, or nobody's."""
    sent = keys.parse(request.headers.get(HEADER))
    if sent is None:
        return None
    prefix, secret = sent
    rows = request.dbsession.execute(key_statement(), {"prefix": prefix}).all()
    if not rows:
        return None
    key, user = rows[0][0], rows[0][1]
    now = datetime.now(UTC)
    if not keys.usable(key, secret, now):
        return None
    if key.last_used_at is None or now - key.last_used_at >= keys.USE_RECORDED_EVERY:
        request.dbsession.execute(
            update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
        )
    identity = identity_of(user, rows)
    identity.api_key_id = key.id
    identity.allowed = frozenset(keys.WRITES if key.writes else keys.READS)
    return identity
