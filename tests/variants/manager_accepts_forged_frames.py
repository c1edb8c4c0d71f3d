"""Broken: the manager takes frames from workers without checking their signature."""

from promp import wire
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, decode_unchecked  # noqa: F401

wire.decode = decode_unchecked
