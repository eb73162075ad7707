"""Exports: a study's clinical data leaving the system for statisticians and regulators.

Every format reads the same stream of values (:mod:`.source`) in bounded memory, writes a
codebook beside the data, and is audited with what was asked and the SHA-256 of what was given.
Files are written by a job into ``datacapt.export_folder``, outside the web root, and handed
out only through a permission-checked, audited download.
"""

from pathlib import Path

from pyramid.config import Configurator

from datacapt.config import PROJECT_DIR


def includeme(config: Configurator) -> None:
    folder = (config.get_settings().get("datacapt.export_folder") or "").strip()
    config.registry["exports.folder"] = Path(folder) if folder else PROJECT_DIR / "var" / "exports"
    config.scan(".views")
    config.scan(".definition_views")
    config.scan(".jobs")
