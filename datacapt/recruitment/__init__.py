"""Recruitment: a study's recruitments, their public application page with the pre-screening
questionnaire (a form of the study's design), eligibility from the recruitment's criteria with
a person's override, and the pipeline of applications up to enrolment."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
    config.scan(".public_views")
