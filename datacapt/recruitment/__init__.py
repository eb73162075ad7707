"""Recruitment: a study's recruitments, their public application page with the pre-screening
questionnaire (a form of the study's design), eligibility from the recruitment's criteria with
a person's override, the pipeline of applications up to enrolment, and campaigns mailing the
public page to the repository's persons who opted in to future contact."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
    config.scan(".public_views")
    config.scan(".jobs")
