"""The harness itself: the Markdown parser, output matching, and the example runner's verdicts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import psutil
import pytest

from harness.helpers import gone, wait_until
from harness.markdown import Example, SpecError, load_spec, parse_chapter
from harness.run import compare, run_example

CHAPTER = """# 9. A chapter

**ABC-1** A manager MUST do this,
over two lines.

```python example ABC-1 ABC-2 timeout=7
print("hi")
```

```output unordered
hi
```

- **ABC-2** *(optional)* Something optional.

```python example ABC-2
pass
```
"""


def write(tmp_path: Path, text: str, name: str = "09-chapter.md") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_clauses_and_examples_are_read(tmp_path):
    chapter = parse_chapter(write(tmp_path, CHAPTER))
    assert chapter.title == "9. A chapter"
    assert [(c.id, c.optional) for c in chapter.clauses] == [("ABC-1", False), ("ABC-2", True)]
    assert chapter.clauses[0].text == "A manager MUST do this, over two lines."
    first, second = chapter.examples
    assert (first.clauses, first.timeout, first.mode, first.expected, first.code) == (
        ["ABC-1", "ABC-2"],
        7.0,
        "unordered",
        "hi\n",
        'print("hi")\n',
    )
    assert (second.clauses, second.expected) == (["ABC-2"], None)


@pytest.mark.parametrize(
    "text, error",
    [
        ("**A-1** x\n\n```python example\npass\n```\n", "must name the clauses"),
        ("```output\nx\n```\n", "must follow an example"),
        ("**A-1** x\n\n```python example A-1\npass\n```\n\n```output sideways\nx\n```\n", "unknown output mode"),
        ("**A-1** x\n\n```python example A-1\npass\n", "unclosed"),
        ("**A-1** x\n\n```python example A-1 faults=sometimes\npass\n```\n", "faults= takes 'own' or 'avoid'"),
    ],
)
def test_malformed_chapters_are_rejected(tmp_path, text: str, error: str):
    with pytest.raises(SpecError, match=error):
        parse_chapter(write(tmp_path, text))


def test_unknown_and_duplicate_clauses_are_rejected(tmp_path):
    write(tmp_path, "**A-1** x\n\n```python example B-9\npass\n```\n", "01-a.md")
    with pytest.raises(SpecError, match="unknown clause"):
        load_spec(tmp_path)
    write(tmp_path, "**A-1** x\n\n```python example A-1\npass\n```\n", "01-a.md")
    write(tmp_path, "**A-1** again\n", "02-b.md")
    with pytest.raises(SpecError, match="defined twice"):
        load_spec(tmp_path)


@pytest.mark.parametrize(
    "expected, actual, mode, ok",
    [
        ("a\nb\n", "a\nb\n", "exact", True),
        ("a\nb\n", "b\na\n", "exact", False),
        ("a\nb\n", "b\na\n", "unordered", True),
        ("a\nb\n", "a\na\n", "unordered", False),
        ("result: \\d+\n", "result: 42\n", "regex", True),
        ("result: \\d+\n", "result: 42x\n", "regex", False),
        ("x\n", "x\ny\n", "regex", False),
        (None, "anything", "exact", True),
    ],
)
def test_output_matching(expected, actual, mode, ok):
    assert (compare(expected, actual, mode) == "") is ok


def example(code: str, expected: str | None = None, timeout: float = 30) -> Example:
    """An example whose code starts at line 10 of its chapter, ``00-test.md``."""
    return Example("00-test", Path("00-test.md"), 1, ["T-1"], code, expected, "exact", timeout, first_line=10)


def test_a_passing_example_passes():
    assert run_example(example("print('ok')", "ok\n"), "promp", False).verdict == "pass"


def test_a_wrong_output_fails_with_a_diff():
    outcome = run_example(example("print('nope')", "ok\n"), "promp", False)
    assert outcome.verdict == "fail" and "-ok" in outcome.detail and "+nope" in outcome.detail


def test_an_example_past_its_deadline_fails_and_is_killed():
    outcome = run_example(example("import time\nprint('started', flush=True)\ntime.sleep(60)", timeout=1), "promp", False)
    assert outcome.verdict == "fail" and "deadline" in outcome.detail and "started" in outcome.detail
    assert outcome.seconds < 15


def test_processes_left_behind_fail_the_example_and_are_killed():
    outcome = run_example(example("import subprocess\nsubprocess.Popen(['sleep', '60'])\nprint('bye')", "bye\n"), "promp", False)
    assert outcome.verdict == "fail" and "left behind" in outcome.detail
    leftovers = [int(pid) for pid in re.findall(r"pid (\d+)", outcome.detail)]
    assert leftovers and wait_until(lambda: all(gone(pid) for pid in leftovers), 5)
    assert "(sleep 60)" in outcome.detail  # each with its command line, to tell which process it was


def test_a_traceback_names_the_chapters_lines_not_a_deleted_temporary_script():
    outcome = run_example(example("x = 1\n\nraise KeyError('lost')"), "promp", False)
    assert outcome.verdict == "fail" and 'File "00-test.md", line 12' in outcome.detail, outcome.detail
    assert "example.py" not in outcome.detail


def test_at_its_deadline_an_example_shows_where_every_thread_was():
    code = "import threading, time\n\ndef stuck_here():\n    time.sleep(60)\n\n"
    code += "threading.Thread(target=stuck_here, daemon=True).start()\nprint('started', flush=True)\ntime.sleep(60)\n"
    outcome = run_example(example(code, timeout=2), "promp", False)
    assert outcome.verdict == "fail" and "deadline of 2 s exceeded" in outcome.detail and "started" in outcome.detail
    where = outcome.detail.split("where the example was at the deadline", 1)[1]
    assert 'File "00-test.md", line 13 in stuck_here' in where and 'File "00-test.md", line 17 in <module>' in where, where


def documented(tmp_path: Path, code: str) -> Example:
    """An example in a spec whose prose documents the extension ``noSuchExtension()``."""
    (tmp_path / "01-api.md").write_text("**T-1** *(optional)* `noSuchExtension()` MUST exist.\n")
    return Example("01-api", tmp_path / "01-api.md", 1, ["T-1"], code, None, "exact", 30)


def test_a_missing_optional_feature_is_not_applicable_but_a_missing_required_one_fails(tmp_path):
    code = "from Pro.MP import *\nProManager().noSuchExtension()"
    assert run_example(documented(tmp_path, code), "promp", optional=True).verdict == "n/a"
    assert run_example(documented(tmp_path, code), "promp", optional=False).verdict == "fail"


@pytest.mark.parametrize(
    "code",
    [
        "from Pro.MP import *\nstopwatch()",  # a helper the example forgot to import
        "import os\nos.frobnicate()",  # a name no implementation provides
        "from Pro.MP import *\nimport subprocess, sys\n"  # a worker's line, not what ended the example
        "subprocess.run([sys.executable, '-c', 'import sys; sys.stderr.write(\"NameError: name noSuchExtension\\\\n\")'])\n"
        "raise RuntimeError('broken example')",
    ],
)
def test_an_optional_clause_is_not_applicable_only_for_a_name_the_spec_documents(tmp_path, code):
    outcome = run_example(documented(tmp_path, code), "promp", optional=True)
    assert outcome.verdict == "fail", outcome


def test_figures_an_example_measures_reach_its_outcome(tmp_path):
    code = "from harness.helpers import figure\nfigure('exit', 0.25, bound=2)\nfigure('exit', 0.5, bound=2)"
    outcome = run_example(example(code), "promp", False)
    assert outcome.verdict == "pass"
    assert [(f["name"], f["value"], f["bound"]) for f in outcome.figures] == [("exit", 0.25, 2), ("exit", 0.5, 2)]


def test_from_pro_mp_resolves_to_the_chosen_implementation_in_workers_too():
    code = (
        "from Pro.MP import *\n"
        "m = ProManager()\n"
        "w = m.startWorker()\n"
        "m.evalPythonFunction(w, 'import Pro.MP\\ndef f():\\n    return Pro.MP.__doc__', 'f', None, True)\n"
        "while m.isBusy():\n"
        "    m.processMessages()\n"
        "print('tests.variants.keeps_lone_newlines' in m.takeResult(w))\n"
    )
    assert run_example(example(code, "True\n"), "tests.variants.keeps_lone_newlines", False).verdict == "pass"


def test_the_report_gives_each_figures_median_and_worst_over_every_run():
    from harness.report import summarise_figures

    runs = [{"figures": [{"name": "exit", "value": v, "bound": 2, "unit": "s"}]} for v in (0.3, 0.1, 0.2, 1.5)]
    (fig,) = summarise_figures(runs)
    assert (fig["name"], fig["n"], fig["median"], fig["worst"], fig["bound"]) == ("exit", 4, 0.25, 1.5, 2)


def test_an_example_is_unbuffered_by_the_interpreter_flag_which_its_workers_do_not_inherit(monkeypatch):
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")  # even when the runner's own environment has it
    code = "import os, sys\nprint(os.environ.get('PYTHONUNBUFFERED'), sys.stdout.write_through)"
    assert run_example(example(code, "None True\n"), "promp", False).verdict == "pass"


@pytest.mark.parametrize(
    "escape",
    [
        "subprocess.Popen(['setsid', 'sleep', '60'])",  # a session of its own
        "subprocess.run([sys.executable, '-c', 'import os, time\\nif os.fork() == 0:\\n    os.setsid()\\n    time.sleep(60)'])",
    ],
)
def test_a_process_that_escapes_the_examples_session_is_still_a_leftover(escape):
    outcome = run_example(example(f"import subprocess, sys\n{escape}\nprint('bye')", "bye\n"), "promp", False)
    assert outcome.verdict == "fail" and "left behind" in outcome.detail, outcome
    leftovers = [int(pid) for pid in re.findall(r"pid (\d+)", outcome.detail)]
    assert leftovers and wait_until(lambda: all(gone(pid) for pid in leftovers), 5)


def test_a_zombie_is_not_gone_until_it_is_reaped():
    import subprocess

    child = subprocess.Popen(["true"])
    try:
        assert wait_until(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE, 5)
        assert not gone(child.pid)
    finally:
        child.wait()
    assert gone(child.pid)


def test_an_output_stderr_block_judges_what_the_example_writes_to_its_standard_error(tmp_path):
    chapter = tmp_path / "01-t.md"
    chapter.write_text(
        "**T-1** Both streams.\n\n```python example T-1\nimport sys\nprint('out')\nprint('err', file=sys.stderr)\n```\n\n"
        "```output\nout\n```\n\n```output stderr\nerr\n```\n"
    )
    (ex,) = parse_chapter(chapter).examples
    assert (ex.expected, ex.expected_stderr, ex.mode_stderr) == ("out\n", "err\n", "exact")
    assert run_example(ex, "promp", False).verdict == "pass"
    ex.expected_stderr = "something else\n"
    outcome = run_example(ex, "promp", False)
    assert outcome.verdict == "fail" and outcome.detail.startswith("standard error:")


def test_an_empty_output_stderr_block_means_the_example_writes_nothing_there(tmp_path):
    chapter = tmp_path / "01-t.md"
    example = "```python example T-1\nimport sys\nprint('out')\nprint(%r, file=sys.stderr, end='')\n```\n\n"
    chapter.write_text("**T-1** Quiet.\n\n" + example % "" + "```output\nout\n```\n\n```output stderr\n```\n")
    (ex,) = parse_chapter(chapter).examples
    assert ex.expected_stderr == ""
    assert run_example(ex, "promp", False).verdict == "pass"
    chapter.write_text("**T-1** Quiet.\n\n" + example % "noise" + "```output\nout\n```\n\n```output stderr\n```\n")
    (ex,) = parse_chapter(chapter).examples
    assert run_example(ex, "promp", False).verdict == "fail"


def test_an_example_that_says_it_does_not_apply_is_n_a_with_its_reason_only_in_an_optional_clause():
    code = "from harness.helpers import not_applicable\nnot_applicable('no cgroups here')\nprint('not reached')"
    outcome = run_example(example(code, "not reached\n"), "promp", optional=True)
    assert (outcome.verdict, outcome.detail) == ("n/a", "not applicable: no cgroups here")
    outcome = run_example(example(code, "not reached\n"), "promp", optional=False)
    assert outcome.verdict == "fail" and "a required clause cannot be n/a" in outcome.detail


def test_a_fork_loop_an_example_leaves_is_killed_to_the_last_process():
    """A process that forks and exits every few ms (a new pid each time) outran the runner's kill by pid."""
    import secrets

    from harness.helpers import marked

    mark = secrets.token_hex(8)
    loop = (
        "import os, time\nos.setsid()\nwhile True:\n    if os.fork() == 0:\n        time.sleep(60)\n        os._exit(0)\n"
        "    time.sleep(0.005)\n    if os.fork():\n        os._exit(0)\n"
    )
    code = (
        f"import os, subprocess, sys, time\nos.environ['PROMP_SPEC_MARK'] = {mark!r}\n"
        f"subprocess.Popen([sys.executable, '-c', {loop!r}])\ntime.sleep(1)\nprint('bye')"
    )
    try:
        outcome = run_example(example(code, "bye\n"), "promp", False)
        assert outcome.verdict == "fail" and "left behind" in outcome.detail, outcome
        assert wait_until(lambda: not marked(mark), 5), f"{len(marked(mark))} processes of the loop outlived the runner"
    finally:
        for _ in range(50):  # whatever outlived it: stopped, then killed
            pids = marked(mark)
            if not pids:
                break
            for pid in pids:
                try:
                    os.killpg(os.getpgid(pid), 19)
                    os.kill(pid, 9)
                except OSError:
                    pass
