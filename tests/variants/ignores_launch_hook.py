"""Broken: says it honours the launch hook (exports workerPrefixVariable) but starts workers without it."""

from promp import _manager_shell
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_manager_shell.launch_prefix = lambda: []
