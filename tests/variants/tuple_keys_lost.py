"""Broken: a dict whose key is a tuple cannot be read back (as msgpack's defaults do): the result is an error."""

from promp import _values
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_values._dict_with_hashable_keys = lambda pairs: (_ for _ in ()).throw(ValueError("unhashable map key"))
in_workers(__name__)
