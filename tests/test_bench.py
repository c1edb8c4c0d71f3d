"""The benchmark's smoke test: ``tools/bench.py --quick`` runs every measure and writes its reports.

No timing is asserted (figures from a loaded CI machine mean nothing); the test checks that each
measure ran, against each peer installed, and produced a number.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
def test_quick_benchmark_runs_every_measure_and_writes_json_markdown_and_plot(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "bench.json").read_text())
    measures = [row["measure"] for row in record["rows"]]
    for expected in ("round trip, wait()", "round trip, seed loop", "tiny tasks per second", "worker start", "workers: started",
                     "MiB result", "output lines", "killed busy worker", "SIGKILL", "idle CPU"):
        assert any(expected in m for m in measures), f"{expected!r} missing from {measures}"
    for row in record["rows"]:
        assert row["values"] and all(isinstance(v, (int, float)) and not math.isnan(v) for v in row["values"].values()), row
    assert "promp" in record["scaling"] and record["scaling"]["promp"]["workers"]
    assert "round trip" in (tmp_path / "bench.md").read_text()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "bench.png").stat().st_size > 0
