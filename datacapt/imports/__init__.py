"""Imports: clinical data coming into a study from a file — our own long CSV, REDCap's flat
export, CDISC ODM ClinicalData.

A data manager uploads a file; a job reads it as it streams and makes a dry run through the same
save as a person's, reporting what it would create and change and every refused row with its
line and reason, writing nothing. Confirmed, the same run is written whole in one transaction,
each value audited with the reason "import FILE", or nothing is. Files are kept in
``datacapt.import_folder``, outside the web root; ``datacapt.import_max_bytes`` bounds them.
"""

from pathlib import Path

from pyramid.config import Configurator

from datacapt.config import PROJECT_DIR

#: The largest file taken when the INI does not say.
DEFAULT_MAX_BYTES = 100 * 1024 * 1024


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    folder = (settings.get("datacapt.import_folder") or "").strip()
    config.registry["imports.folder"] = Path(folder) if folder else PROJECT_DIR / "var" / "imports"
    limit = str(settings.get("datacapt.import_max_bytes") or "").strip()
    config.registry["imports.max_bytes"] = int(limit) if limit else DEFAULT_MAX_BYTES
    config.scan(".views")
    config.scan(".jobs")
