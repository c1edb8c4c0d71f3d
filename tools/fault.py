"""Inject faults into a live manager's process tree (see ``harness/fault_cli.py``; installed as ``promp-fault``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.fault_cli import main  # noqa: E402

sys.exit(main())
