"""Broken: atomic output ends every write with exactly one newline, dropping the blank lines a write ends with."""

from promp.manager import _output
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_atomic = _output.atomic
_output.atomic = lambda text: _atomic(text.rstrip("\r\n"))
