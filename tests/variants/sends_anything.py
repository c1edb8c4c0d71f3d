"""Broken: values that cannot cross are sent as their str() instead of raising TypeError."""

import msgpack

from promp import _values
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_values.pack = lambda value: msgpack.packb(value, default=str, use_bin_type=True)
