"""The production gunicorn settings' hooks."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def _walked(thing: object) -> bool:
    """Whether the garbage collector's generations hold ``thing``."""
    return any(found is thing for found in gc.get_objects())


def test_a_worker_freezes_what_the_loaded_application_holds():
    settings = runpy.run_path(str(CONF))
    held = [object()]  # an object of the application, loaded before the hook runs
    assert _walked(held)
    try:
        settings["post_worker_init"](None)
        assert not _walked(held)
    finally:
        gc.unfreeze()
    assert _walked(held)
