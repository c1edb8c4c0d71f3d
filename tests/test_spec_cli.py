"""``promp-spec`` explains itself (issue 22, the runner): clause ids checked, an implementation that cannot be
imported caught up front, "nothing checked" told from "all pass", n/a reasons shown, a deadline of one's own,
report directories relative to where the command is run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "tools" / "spec.py"

CHAPTER = """# 1. A chapter

**TRY-1** Something required.

```python example TRY-1
print("ok")
```

```output
ok
```

**TRY-2** *(optional)* Something this system may not offer.

```python example TRY-2
from harness.helpers import not_applicable
not_applicable("no such thing on this machine")
```

**TRY-3** Something that takes its time.

```python example TRY-3 timeout=60
import time
time.sleep(30)
```
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "spec"
    directory.mkdir()
    (directory / "01-chapter.md").write_text(CHAPTER)
    return directory


def promp_spec(*args: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}  # the console table's cells unwrapped
    return subprocess.run([sys.executable, str(SPEC), "-n", "0", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_a_clause_the_spec_does_not_define_is_an_error_naming_the_closest(spec_dir, tmp_path):
    done = promp_spec("--spec", str(spec_dir), "--report-dir", str(tmp_path / "r"), "--clause", "TRY-11")
    assert done.returncode == 2 and "TRY-11" in done.stderr and "TRY-1" in done.stderr.split("did you mean", 1)[1]
    assert not (tmp_path / "r").exists()  # nothing ran, nothing was overwritten


def test_a_clause_id_in_lower_case_is_the_same_clause(spec_dir, tmp_path):
    done = promp_spec("--spec", str(spec_dir), "--report-dir", str(tmp_path / "r"), "--clause", "try-1")
    assert done.returncode == 0, done.stderr
    verdicts = {c["id"]: c["verdict"] for c in json.loads((tmp_path / "r" / "report.json").read_text())["clauses"]}
    assert verdicts == {"TRY-1": "pass", "TRY-2": "not run", "TRY-3": "not run"}


def test_an_implementation_that_cannot_be_imported_is_caught_before_any_example_runs(spec_dir, tmp_path):
    done = promp_spec("--spec", str(spec_dir), "--report-dir", str(tmp_path / "r"), "--impl", "no_such_module_here")
    assert done.returncode == 2 and "cannot import the implementation 'no_such_module_here'" in done.stderr
    assert "No module named 'no_such_module_here'" in done.stderr


def test_nothing_checked_is_not_a_pass_and_the_n_a_reason_is_shown(spec_dir, tmp_path):
    done = promp_spec("--spec", str(spec_dir), "--report-dir", str(tmp_path / "r"), "--clause", "TRY-2")
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "nothing was checked" in done.stderr and "no such thing on this machine" in done.stderr
    report_md = (tmp_path / "r" / "report.md").read_text()
    assert "no such thing on this machine" in report_md and "TRY-3" not in report_md  # not-run rows left out


def test_a_deadline_of_ones_own_cuts_a_slow_example_short(spec_dir, tmp_path):
    done = promp_spec("--spec", str(spec_dir), "--report-dir", str(tmp_path / "r"), "--clause", "TRY-3", "--timeout", "2", timeout=50)
    assert done.returncode == 1
    (clause,) = [c for c in json.loads((tmp_path / "r" / "report.json").read_text())["clauses"] if c["id"] == "TRY-3"]
    assert "deadline of 2 s exceeded" in clause["examples"][0]["detail"]


@pytest.mark.timeout(300)
def test_a_relative_report_directory_is_relative_to_where_the_command_runs_under_every_profile(spec_dir, tmp_path):
    args = ("--spec", "spec", "--faults", "all", "--clause", "TRY-1", "--report-dir", "reports-all")  # both relative
    done = promp_spec(*args, cwd=tmp_path, timeout=280)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (tmp_path / "reports-all" / "faults.md").exists() and (tmp_path / "reports-all" / "no-faults" / "report.json").exists()
    assert not (REPO / "reports-all").exists()
