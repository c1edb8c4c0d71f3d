"""Planted bug (the output assembler's): a chunk the full spool refuses is kept in memory, where it is written
before the older chunks the spool holds."""

from promp.core import *  # noqa: F403
from promp.core import ManagerDriver as _ManagerDriver
from promp.manager import _output


class _Assembler(_output.OutputAssembler):
    def _add(self, wid, stream, chunk):
        if chunk and self._spooling() and self.spool.refusing:
            self.chunks.append((wid, stream, chunk))
            return False
        return super()._add(wid, stream, chunk)


class ManagerDriver(_ManagerDriver):
    def __init__(self, session, spool=None, held_at_most=_output.HELD_AT_MOST):
        super().__init__(session, spool, held_at_most)
        self.output = _Assembler(spool, held_at_most)
