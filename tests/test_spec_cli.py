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


def one_chapter_spec(tmp_path: Path, text: str) -> Path:
    """A spec directory of one chapter, ``text``."""
    directory = tmp_path / "spec"
    directory.mkdir()
    (directory / "01-chapter.md").write_text(text)
    return directory


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    return one_chapter_spec(tmp_path, CHAPTER)


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


FAILING = """# 1. A chapter

**TRY-1** `ProWorker_Any` is -1.

```python example TRY-1
from Pro.MP import *
names = {"any": ProWorker_Any}
print(names["any"])
```

```output
-1
```

**TRY-2** A lookup that fails.

```python example TRY-2
names = {}

print(names["lost"])
```
"""


@pytest.fixture
def failing_spec(tmp_path: Path) -> Path:
    return one_chapter_spec(tmp_path, FAILING)


def test_a_failure_shows_the_example_with_the_chapters_line_numbers_everywhere(failing_spec, tmp_path):
    done = promp_spec("--spec", str(failing_spec), "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 1
    report = (tmp_path / "r" / "report.md").read_text()
    page = (tmp_path / "r" / "report.html").read_text()
    for shown in (done.stdout + done.stderr, report, page.replace("&quot;", '"')):
        assert 'File "01-chapter.md", line 20' in shown  # the traceback, in the chapter's lines
        assert "18 | names = {}" in shown and "20 | print(names[" in shown  # the example, numbered as the chapter is
        assert "example.py" not in shown


def test_the_html_report_gives_every_clause_its_text_and_verdict(failing_spec, tmp_path):
    promp_spec("--spec", str(failing_spec), "--report-dir", str(tmp_path / "r"))
    page = (tmp_path / "r" / "report.html").read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page  # self-contained
    assert 'id="TRY-1"' in page and "is -1." in page and '<span class="pass">pass</span>' in page
    assert 'id="TRY-2"' in page and "A lookup that fails." in page and '<span class="fail">fail</span>' in page


def test_a_run_of_some_clauses_leaves_the_last_whole_runs_report_alone(failing_spec, tmp_path):
    promp_spec("--spec", str(failing_spec), cwd=tmp_path)
    whole = (tmp_path / "reports" / "report.json").read_text()
    done = promp_spec("--spec", str(failing_spec), "--clause", "TRY-1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "reports" / "report.json").read_text() == whole
    partial = json.loads((tmp_path / "reports" / "partial" / "report.json").read_text())
    assert {c["id"]: c["verdict"] for c in partial["clauses"]} == {"TRY-1": "pass", "TRY-2": "not run"}


def test_compare_sums_up_what_is_the_same_and_lists_what_differs_first(failing_spec, tmp_path):
    promp_spec("--spec", str(failing_spec), "--report-dir", str(tmp_path / "a"))
    promp_spec("--spec", str(failing_spec), "--report-dir", str(tmp_path / "b"), "--clause", "TRY-1")
    a, b = str(tmp_path / "a" / "report.json"), str(tmp_path / "b" / "report.json")
    done = promp_spec("--compare", a, b, "--report-dir", str(tmp_path / "c"))
    assert done.returncode == 0, done.stderr
    assert "1 of 2 clauses differ; the same in every run: 1 pass" in done.stdout
    assert "TRY-2" in done.stdout and "TRY-1" not in done.stdout  # the rows that differ; the others summed up
    page = (tmp_path / "c" / "compare.html").read_text()
    assert page.index("Different verdicts") < page.index("TRY-2") < page.index("The same in every run") < page.index("TRY-1")


COPY = "from promp import *  # noqa\nfrom promp import __all__  # noqa\n"
VARIANTS = {
    "__init__.py": 'BROKEN = {"my_variants.unchanged": "TRY-1", "any_is_zero": "TRY-1", "cannot_import": "TRY-1"}\n',
    "unchanged.py": '"""Nothing broken: a copy of the reference."""\n' + COPY,
    "any_is_zero.py": '"""Broken: ProWorker_Any is 0."""\n' + COPY + "ProWorker_Any = 0\n",
    "cannot_import.py": '"""Broken: does not import."""\nimport no_such_dependency_here  # noqa\n',
}


def test_variants_say_why_and_one_that_cannot_be_imported_is_an_error_not_a_catch(failing_spec, tmp_path):
    package = tmp_path / "my_variants"
    package.mkdir()
    for name, text in VARIANTS.items():
        (package / name).write_text(text)
    args = ("--spec", str(failing_spec), "--variants", "my_variants", "--report-dir", str(tmp_path / "r"))
    done = promp_spec(*args, cwd=tmp_path, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {r["variant"]: r for r in json.loads((tmp_path / "r" / "variants.json").read_text())["variants"]}
    assert set(rows) == {"unchanged", "any_is_zero", "cannot_import"}  # a full dotted key is the same variant
    assert rows["any_is_zero"]["verdict"] == "fail" and "output does not match" in rows["any_is_zero"]["why"]
    assert rows["unchanged"]["verdict"] == "pass" and rows["unchanged"]["breaks"] == "Nothing broken: a copy of the reference."
    assert rows["cannot_import"]["verdict"] == "error" and "no_such_dependency_here" in rows["cannot_import"]["why"]
    assert "1 of 3 caught" in done.stdout and "1 could not be judged" in done.stdout


def test_the_references_variants_are_found_from_any_directory(tmp_path):
    probe = "from harness.mutation import pairs\nprint(len(pairs('tests.variants')))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and int(done.stdout) > 50, done.stderr


def test_a_malformed_spec_is_a_usage_error_naming_the_place_not_a_traceback(tmp_path):
    directory = one_chapter_spec(tmp_path, "**TRY-1** Something.\n\n```python example TRY-9\nprint(1)\n```\n")
    done = promp_spec("--spec", str(directory), "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 2 and "01-chapter.md:5: example checks unknown clause(s) TRY-9" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
