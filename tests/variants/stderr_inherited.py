"""Broken: workers' standard error goes straight to the manager's file descriptor 2, as if inherited.

It shows without ProMPOpt_RedirectOutput, bypasses a sys.stderr the user replaced, and is written
from whatever thread reads it rather than the manager's.
"""

import os

from promp import _manager_shell, _output
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_add = _manager_shell.Shell._add_output


def _stderr_to_fd_2(self, wid, stream, chunk):
    if stream == _output.STDERR:
        os.write(2, chunk)
    else:
        _add(self, wid, stream, chunk)


_manager_shell.Shell._add_output = _stderr_to_fd_2
