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
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"manager ({transport})") and "worker alive: True" in lines[0]
    assert lines[1].startswith(f"worker ({transport})") and "alive: True" in lines[1] and lines[-1] == "ok"
