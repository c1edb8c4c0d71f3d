"""The reference with its workers' environment renamed: how the harness sees an implementation that honours
the launch hook (chapter 13's ``workerPrefixVariable``) but speaks a protocol of its own to its workers."""

from promp import _env
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_env.ALL = tuple("OWN_PROTOCOL_WORKER_ID" if name == _env.WORKER_ID else name for name in _env.ALL)
_env.WORKER_ID = "OWN_PROTOCOL_WORKER_ID"
in_workers(__name__)
