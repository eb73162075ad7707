"""Exports: a study's clinical data leaving the system for statisticians and regulators.

Every format reads the same stream of values (:mod:`.source`) in bounded memory, writes a
codebook beside the data, and is audited with what was asked and the SHA-256 of what was given.
"""
