"""Broken: each read of a worker's pipe is one incoming string, wherever the read ended: a long line is cut."""

from promp.manager import _output
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _each_read_a_string(self, wid, stream, data, now):
    return self._add(wid, stream, data)


_output.OutputAssembler.feed = _each_read_a_string
