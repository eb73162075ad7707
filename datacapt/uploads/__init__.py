"""Files entered in file items: received with the form's save (:mod:`.services`, called by data
entry), downloaded through a permission-checked, audited view (:mod:`.views`). The same rules
(:func:`.services.store`, :func:`.services.file_response`) take and serve other capabilities'
files (messages' attachments). Settings:
``datacapt.upload_dir`` (outside the web root), ``datacapt.upload_max_bytes``,
``datacapt.upload_types``."""

from pyramid.config import Configurator

from datacapt.uploads.services import upload_settings


def includeme(config: Configurator) -> None:
    upload_settings(config.registry)
    config.scan(".views")
