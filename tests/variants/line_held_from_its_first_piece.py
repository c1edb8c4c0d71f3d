"""Broken: an unfinished line waits 20 ms from its first piece, not from its last: a line coming in pieces is cut."""

from promp.manager import _output
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_feed = _output.OutputAssembler.feed


def _from_the_first_piece(self, wid, stream, data, now):
    keep = _feed(self, wid, stream, data, now)
    key = (wid, stream)
    if key in self.unfinished:
        line, _due = self.unfinished[key]
        self.unfinished[key] = (line, self._first_piece[key] + _output.UNFINISHED_LINE_WAIT)
    return keep


_output.OutputAssembler.feed = _from_the_first_piece
