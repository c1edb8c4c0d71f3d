"""Broken: a failed task's result is None instead of an error value."""

from promp.manager import _driver
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_value = _driver.result_value
_driver.result_value = lambda wid, ok, payload: _value(wid, ok, payload) if ok else None
