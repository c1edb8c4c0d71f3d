"""``from Pro.Core import NTVariantList``: re-exported from promp."""

from promp import NTVariantList  # noqa: F401

__all__ = ["NTVariantList"]
