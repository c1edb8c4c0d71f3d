"""The reference without the launch hook's export: how the harness sees an implementation that has none."""

import promp
from promp import *  # noqa: F403

__all__ = [name for name in promp.__all__ if name != "workerPrefixVariable"]
