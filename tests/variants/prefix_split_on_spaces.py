"""Broken: the launch hook's value is split on spaces, not read as shell words (quotes are not honoured)."""

import os

from promp import _env
from promp.manager import _spawn
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_spawn.launch_prefix = lambda: os.environ.get(_env.WORKER_PREFIX, "").split()
