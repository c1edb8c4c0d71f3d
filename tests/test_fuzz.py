"""The short form of ``tools/fuzz.py``: random and mutated frames at every socket, while tasks are served."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "fuzz.py"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_fuzzed_sockets_keep_serving_with_flat_memory(transport: str):
    result = subprocess.run(
        [sys.executable, str(TOOL), "--frames", "3000", "--transport", transport, "--max-growth", "16"],
        capture_output=True, text=True, timeout=280,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "worker alive: True" in result.stdout and "alive: True" in result.stdout.splitlines()[-2]
