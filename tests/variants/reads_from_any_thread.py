"""Broken: only calls that act check the thread; reads (isBusy, takeResult, processMessages) run from any thread."""

from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, from_any_thread  # noqa: F401

from_any_thread("isBusy", "takeResult", "processMessages")
