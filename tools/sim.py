"""Simulate the protocol core under seeded fault schedules (see ``harness/sim/cli.py``; installed as ``promp-sim``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.sim.cli import main  # noqa: E402

sys.exit(main())
