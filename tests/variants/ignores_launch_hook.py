"""Broken: says it honours the launch hook (exports workerPrefixVariable) but starts workers without it."""

from promp.manager import _spawn
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_spawn.launch_prefix = lambda: []
