"""Broken: workers do not check signatures."""

from promp import wire
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, decode_unchecked, in_workers  # noqa: F401

wire.decode = decode_unchecked
in_workers(__name__)
