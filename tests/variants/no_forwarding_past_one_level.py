"""Broken: managers inside workers drop their workers' output."""

from promp import _state
from promp.manager import _output
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_write = _output.OutputWriter.write
_output.OutputWriter.write = lambda self, *args: None if _state.level >= 1 else _write(self, *args)
in_workers(__name__)
