"""Broken: what workers write to their standard error goes to the manager's standard output."""

from promp.manager import _output
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_write = _output.OutputWriter.write
_output.OutputWriter.write = lambda self, worker, stream, data: _write(self, worker, _output.STDOUT, data)
