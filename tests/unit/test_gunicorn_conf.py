"""The production gunicorn settings' hooks: the application warmed once in the master, a
forked worker on connections of its own."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def _walked(thing: object) -> bool:
    """Whether the garbage collector's generations hold ``thing``."""
    return any(found is thing for found in gc.get_objects())


def _server(app: object) -> SimpleNamespace:
    return SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))


def test_the_application_is_loaded_once_and_forked():
    assert runpy.run_path(str(CONF))["preload_app"] is True


def test_the_master_freezes_what_the_loaded_application_holds():
    settings = runpy.run_path(str(CONF))
    held = [object()]  # an object of the application, loaded before the hook runs
    assert _walked(held)
    try:
        settings["when_ready"](_server(object()))
        assert not _walked(held)
    finally:
        gc.unfreeze()
    assert _walked(held)


class _Engine:
    def __init__(self) -> None:
        self.disposed: list[bool] = []

    def dispose(self, close: bool = True) -> None:
        self.disposed.append(close)


def test_a_forked_worker_leaves_the_masters_connections_to_the_master():
    settings = runpy.run_path(str(CONF))
    engine = _Engine()
    settings["post_fork"](_server(SimpleNamespace(registry={"db.engine": engine})), None)
    assert engine.disposed == [False]  # forgotten here, not closed under the master's feet
    settings["post_fork"](_server(object()), None)  # an app without a database: nothing to do
