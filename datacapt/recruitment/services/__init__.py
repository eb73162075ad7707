"""Recruitment's rules, one module per concern: setting a recruitment up (:mod:`.configuring`),
the public page and eligibility (:mod:`.applying`), the pipeline as staff see it
(:mod:`.listing`) and what staff decide on an application, enrolment included
(:mod:`.decisions`). Campaigns keep their own module (:mod:`datacapt.recruitment.campaigns`).
"""
