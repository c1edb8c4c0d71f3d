"""Broken: some reads (hasResults, options, hasMessage, getMessage) run from any thread; the other calls check it."""

from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, from_any_thread  # noqa: F401

from_any_thread("hasResults", "options", "hasMessage", "getMessage")
