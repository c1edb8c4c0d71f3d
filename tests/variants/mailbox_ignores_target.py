"""Broken: asked for one worker's results or messages, the manager answers with any worker's."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_has, _take = _core.Mailbox.has, _core.Mailbox.take
_core.Mailbox.has = lambda self, target=_core.ProWorker_Any: _has(self, _core.ProWorker_Any)
_core.Mailbox.take = lambda self, target=_core.ProWorker_Any: _take(self, target) if _has(self, target) else _take(self)
