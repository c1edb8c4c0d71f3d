"""``from Pro.MP import *``: the seed's multi-processing names, and the reference's extensions, from promp.

The same names the harness's generated ``Pro.MP`` offers for any implementation (every public
name of the implementation's module), so a script runs the same on both; ``promp.__all__`` is the
one list.
"""

import promp
from promp import *  # noqa: F403

__all__ = list(promp.__all__)
