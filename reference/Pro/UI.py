"""``from Pro.UI import *`` outside Cerbero: just enough for the seed's wait-object examples.

``proContext().startWait(title)`` returns a wait object drawn as a progress bar
when stdout is a terminal (silent otherwise); Ctrl-C aborts it.  Cerbero's
views (``createView``, custom views) are not provided.
"""

from promp import proContext

__all__ = ["proContext"]
