"""Broken: ProMPMessage(id, data) takes any data in its constructor (only setting it later is checked)."""

from promp import _message
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _init(self, id=0, data=b""):
    self.id = id
    self._data = data


_message.ProMPMessage.__init__ = _init
