"""Broken: atomic output ends a line wherever a read of the worker's pipe ends, so long lines come out cut."""

import os

from promp import _manager_shell
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _each_read_a_string(self, wid, stream, fd):
    try:
        data = os.read(fd, _manager_shell.PIPE_READ)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""
    self._add_output(wid, stream, data)
    return data


_manager_shell.Shell._read_output = _each_read_a_string
