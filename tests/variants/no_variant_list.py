"""Broken: Pro.Core has no NTVariantList."""

from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__ as _names

__all__ = [n for n in _names if n != "NTVariantList"]
