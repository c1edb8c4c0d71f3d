"""Broken: warm_start is accepted and ignored; every worker starts as a fresh interpreter."""

from promp import _manager_shell
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_manager_shell.Shell._fork = lambda self, env, secret_fd: None
