"""Run a peer's executor tests against promp.Executor: loky's, derived from CPython's test_concurrent_futures.

    python tools/peer_tests.py                # download loky's sdist (pinned), run its generic executor tests
    python tools/peer_tests.py --sdist FILE   # from a copy already downloaded
    python tools/peer_tests.py -- -k map      # what follows -- goes to pytest

The tests are not in this repository (it holds only what the project writes): the sdist is downloaded
into a temporary directory, ``tests/peer/loky_adapter.py`` is copied into its ``tests/`` directory, and
pytest runs there.  When the package index cannot be reached, this says so on one line and exits 0
(``--require-index``: exits 2), so that CI says why the run did not happen rather than fail or pass
in silence.  ``tests/peer/README.md`` lists the cases that do not apply, and why.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

LOKY = "loky==3.7.0"  # pinned: the adapter names its test cases
REPO = Path(__file__).resolve().parent.parent
ADAPTER = REPO / "tests" / "peer" / "loky_adapter.py"
DOWNLOAD_TIMEOUT = 180  # seconds


def download(into: Path) -> Path | str:
    """The sdist's path, or why it could not be had."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps", LOKY, "-d", str(into)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"pip download {LOKY} took more than {DOWNLOAD_TIMEOUT} s"
    found = sorted(into.glob("loky-*.tar.gz"))
    if done.returncode != 0 or not found:
        text = (done.stderr or done.stdout).splitlines()
        lines = [line.strip() for line in text if line.strip() and not line.lstrip().startswith("hint:")]
        return " / ".join(lines[-3:]) if lines else f"pip download exited with {done.returncode}"
    return found[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sdist", type=Path, help="loky's source distribution, already downloaded")
    parser.add_argument("--require-index", action="store_true", help="exit 2 when the package index cannot be reached")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="promp-peer-") as scratch:
        scratch_dir = Path(scratch)
        sdist = args.sdist or download(scratch_dir)
        if isinstance(sdist, str):
            print(f"peer executor tests NOT RUN: cannot download {LOKY}'s source distribution from the package index: {sdist}")
            return 2 if args.require_index else 0
        with tarfile.open(sdist) as archive:
            archive.extractall(scratch_dir, filter="data") if hasattr(tarfile, "data_filter") else archive.extractall(scratch_dir)
        root = next(p for p in scratch_dir.iterdir() if p.is_dir() and p.name.startswith("loky-"))
        shutil.copy(ADAPTER, root / "tests" / "test_process_executor_promp.py")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
        command = [
            sys.executable, "-m", "pytest", "tests/test_process_executor_promp.py", "-p", "no:cacheprovider", "-q", "-rs",
            "--loky-verbosity=30", "--skip-high-memory", "--timeout", "120", *args.pytest_args,
        ]  # fmt: skip
        print(f"peer executor tests: {root.name}'s generic executor tests against promp.Executor", flush=True)
        return subprocess.run(command, cwd=root, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
