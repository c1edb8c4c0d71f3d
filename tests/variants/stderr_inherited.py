"""Broken: workers' stderr goes straight to the manager's file descriptor 2, as an inherited stream would.

It shows without ProMPOpt_RedirectOutput, bypasses a sys.stderr the user replaced, and is written
from whatever thread reads it rather than the manager's.
"""

import os

from promp.manager import _output
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_add = _output.OutputAssembler._add


def _stderr_to_fd_2(self, wid, stream, chunk):
    if stream == 2:
        os.write(2, chunk)
        return True
    return _add(self, wid, stream, chunk)


_output.OutputAssembler._add = _stderr_to_fd_2
