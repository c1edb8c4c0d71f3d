"""Run the seed's examples that need no GUI against the reference and show what they print.

python tools/demo.py [NAME ...]      (names from examples/seed/, default: all runnable)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed"
RUNNABLE = [
    "04_test_message.py",
    "06_eval_all_atomic.py",
    "07_execute_script.py",
    "08_function_print.py",
    "09_function_result.py",
    "10_random_results.py",
]


def main(names: list[str]) -> int:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    failed = 0
    for name in names or RUNNABLE:
        print(f"── {name} " + "─" * max(0, 60 - len(name)))
        started = time.perf_counter()
        result = subprocess.run([sys.executable, name], cwd=SEED, env=env, capture_output=True, text=True, timeout=120)
        sys.stdout.write(result.stdout + result.stderr)
        status = "ok" if result.returncode == 0 else f"exit {result.returncode}"
        print(f"   [{status}, {time.perf_counter() - started:.2f} s]")
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
