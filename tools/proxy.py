"""The frame-level fault proxy, as a launch-hook prefix (see ``harness/proxy.py``; installed as ``promp-proxy``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.proxy import main  # noqa: E402

main()
