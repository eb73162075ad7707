"""Finding what a command names (tenant, study, site, user), or saying clearly it is not there."""

from __future__ import annotations

from sqlalchemy.orm import Session

from datacapt.accounts.services import find_user
from datacapt.cli.bootstrap import CommandError
from datacapt.models import Site, Study, Tenant, User
from datacapt.studies.services import find_site, find_study, find_tenant


def tenant_of(dbsession: Session, slug: str) -> Tenant:
    tenant = find_tenant(dbsession, slug)
    if tenant is None:
        raise CommandError(f"no tenant {slug!r}")
    return tenant


def study_of(dbsession: Session, slug: str, code: str) -> Study:
    study = find_study(dbsession, tenant_of(dbsession, slug), code)
    if study is None:
        raise CommandError(f"no study {code!r} in tenant {slug!r}")
    return study


def site_of(dbsession: Session, study: Study, code: str) -> Site:
    site = find_site(dbsession, study, code)
    if site is None:
        raise CommandError(f"no site {code!r} in study {study.code!r}")
    return site


def user_of(dbsession: Session, email: str) -> User:
    user = find_user(dbsession, email)
    if user is None:
        raise CommandError(f"no user with e-mail {email!r}")
    return user
