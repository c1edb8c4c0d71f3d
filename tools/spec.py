"""Run the executable specification against an implementation (see ``harness/cli.py``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.cli import main  # noqa: E402

sys.exit(main())
