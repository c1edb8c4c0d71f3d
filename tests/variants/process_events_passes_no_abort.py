"""Broken: the wait object's processEvents() lets the ui_wait process its events but never passes its abort on."""

from promp.manager import _wait
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _events_only(self):
    ui = self._ui()
    if ui is not None and hasattr(ui, "processEvents"):
        ui.processEvents()


_wait.ProMPWait.processEvents = _events_only
