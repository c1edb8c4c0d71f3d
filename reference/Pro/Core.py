"""``from Pro.Core import NTVariantList, NTSimpleWait``: re-exported from promp."""

from promp import NTSimpleWait, NTVariantList

__all__ = ["NTSimpleWait", "NTVariantList"]
