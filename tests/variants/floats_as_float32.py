"""Broken: floats cross the boundary as 32-bit floats (msgpack's use_single_float), losing precision."""

import functools

import msgpack

from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

msgpack.Packer = functools.partial(msgpack.Packer, use_single_float=True)
in_workers(__name__)
