"""Broken: warm_start is accepted and ignored; every worker starts as a fresh interpreter."""

from promp.manager import _spawn
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_spawn.Spawner._fork = lambda self, env, secret_fd: None
