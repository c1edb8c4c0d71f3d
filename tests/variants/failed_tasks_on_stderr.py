"""Broken: the manager writes every failed task's traceback on its own standard error, whatever its options."""

import sys

from promp.manager import _driver
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_result_value = _driver.result_value


def _told(wid, ok, payload):
    value = _result_value(wid, ok, payload)
    if not ok:
        print(f"worker {wid}: task failed: {value}", file=sys.stderr)
    return value


_driver.result_value = _told
