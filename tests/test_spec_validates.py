"""The spec judges implementations: the reference passes it, each broken variant fails its clause,
and ``pytest spec/`` agrees with the runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.markdown import load_spec
from harness.mutation import pairs

REPO = Path(__file__).resolve().parent.parent


def run_spec(tmp_path: Path, *args: str, timeout: float = 600) -> tuple[int, dict]:
    report_dir = tmp_path / "report"
    cmd = [sys.executable, str(REPO / "tools" / "spec.py"), "--report-dir", str(report_dir), *args]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    report = json.loads((report_dir / "report.json").read_text())
    return result.returncode, report


def verdicts(report: dict) -> dict[str, str]:
    return {c["id"]: c["verdict"] for c in report["clauses"]}


def _raised_in(detail: str, path: str, errors: tuple[str, ...]) -> bool:
    """Whether an example's failure is a traceback whose last frame is in ``path`` and whose error is one of ``errors``."""
    lines = detail.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(tuple(error + ":" for error in errors)):
            frames = [x for x in lines[:i] if x.lstrip().startswith('File "')]
            if frames and path in frames[-1]:
                return True
    return False


def test_every_chapter_has_a_broken_variant():
    chapters = {ch.path.stem: {c.id for c in ch.clauses} for ch in load_spec(REPO / "spec")}
    broken_chapters = {name for name, ids in chapters.items() for _, clause in pairs("tests.variants") if clause in ids}
    assert broken_chapters == set(chapters)


@pytest.mark.timeout(900)
def test_the_reference_passes_every_clause_and_coverage_is_complete(tmp_path):
    code, report = run_spec(tmp_path, "-n", "2")
    failed = {k: v for k, v in verdicts(report).items() if v != "pass"}
    assert failed == {}
    assert report["coverage"]["uncovered"] == [] and report["coverage"]["with_examples"] == report["coverage"]["clauses"]
    assert code == 0


@pytest.mark.timeout(900)
def test_required_clauses_need_only_the_seeds_api_and_optional_ones_say_n_a_without_the_rest(tmp_path):
    """``tests.seed_only``: the reference with the seed's calls and names only (no extension, no ``proContext``,
    ``ProMPAborted``, launch hook...). A required clause leaning on an optional name would fail here."""
    _, report = run_spec(tmp_path, "--impl", "tests.seed_only", "-n", "2")
    required = {c["id"]: c["verdict"] for c in report["clauses"] if not c["optional"]}
    optional = {c["id"]: c["verdict"] for c in report["clauses"] if c["optional"]}
    assert {k: v for k, v in required.items() if v != "pass"} == {}
    assert {k: v for k, v in optional.items() if v not in ("n/a", "pass")} == {}
    assert "EXT-1" in optional and optional["EXT-1"] == "n/a"  # the extensions are really gone


@pytest.mark.parametrize("variant, clause", pairs("tests.variants"))
@pytest.mark.timeout(300)
def test_a_broken_variant_fails_on_its_clause(tmp_path, variant: str, clause: str):
    # A variant that cannot even be imported would fail every clause, for the wrong reason.
    loads = subprocess.run([sys.executable, "-c", f"import tests.variants.{variant}"], cwd=REPO, capture_output=True, text=True)
    assert loads.returncode == 0, loads.stderr
    code, report = run_spec(tmp_path, "--impl", f"tests.variants.{variant}", "--clause", clause, "-n", "0")
    assert verdicts(report)[clause] == "fail", json.dumps([c for c in report["clauses"] if c["id"] == clause], indent=1)[:6000]
    assert code != 0
    # Nor by its own code gone stale (a name the reference no longer has): that fails for the wrong reason too.
    details = [e["detail"] for c in report["clauses"] if c["id"] == clause for e in c["examples"] if e["verdict"] == "fail"]
    stale = [d for d in details if _raised_in(d, f"tests/variants/{variant}.py", ("AttributeError", "NameError"))]
    assert not stale, stale[0][:3000]


@pytest.mark.timeout(300)
def test_pytest_spec_and_the_runner_give_the_same_verdicts(tmp_path):
    impl = "tests.variants.keeps_lone_newlines"
    _, report = run_spec(tmp_path, "--impl", impl, "--spec", str(REPO / "spec"), "-n", "0", "--clause", "OUT-3", "--clause", "OUT-1")
    junit = tmp_path / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "spec/05-output.md", "--impl", impl, "--spec-clause", "OUT-3", "--spec-clause", "OUT-1"]
    subprocess.run([*cmd, f"--junitxml={junit}", "-p", "no:cacheprovider", "-q"], cwd=REPO, capture_output=True, timeout=300)
    direct = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        clauses = case.get("name").split("[")[1].rstrip("]").split(",")
        failed = case.find("failure") is not None or case.find("error") is not None
        for c in clauses:
            direct[c] = "fail" if failed or direct.get(c) == "fail" else "pass"
    runner = {k: v for k, v in verdicts(report).items() if k in ("OUT-1", "OUT-3")}
    assert direct == runner == {"OUT-1": "pass", "OUT-3": "fail"}


@pytest.mark.timeout(300)
def test_repeat_runs_each_example_that_many_times_and_reports_its_figures(tmp_path):
    code, report = run_spec(tmp_path, "--clause", "WIRE-7", "--repeat", "3", "-n", "0")
    (clause,) = [c for c in report["clauses"] if c["id"] == "WIRE-7"]
    assert code == 0 and clause["verdict"] == "pass" and clause["examples"][0]["runs"] == 3
    (fig,) = clause["figures"]
    assert fig["n"] == 3 and fig["worst"] <= fig["bound"] == 1.0


@pytest.mark.timeout(300)
def test_the_mutation_score_names_each_variant_and_whether_it_was_caught(tmp_path):
    package = tmp_path / "two_variants"
    package.mkdir()
    (package / "__init__.py").write_text('BROKEN = {"broken": "OUT-3", "faithful": "OUT-3"}\n')
    (package / "faithful.py").write_text("from promp import *  # noqa: F403\nimport promp\n__all__ = promp.__all__\n")
    (package / "broken.py").write_text((REPO / "tests" / "variants" / "atomic_is_redirect.py").read_text())
    # as the README has it: the console script, from the directory that holds the variants package
    cmd = [str(Path(sys.executable).parent / "promp-spec"), "--variants", "two_variants", "--report-dir", str(tmp_path / "r")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # for tests.variants._base, which the broken copy imports
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    score = json.loads((tmp_path / "r" / "variants.json").read_text())
    assert score["caught"] == 1 and done.returncode == 1  # the faithful copy is not caught: the score says so
    assert {r["variant"]: r["verdict"] for r in score["variants"]} == {"broken": "fail", "faithful": "pass"}


def test_every_call_an_example_makes_is_in_chapter_one_s_table():
    """A reader meets every call in the API table before any example uses it."""
    import re

    import promp

    classes = (promp.ProManager, promp.ProWorker, promp.ProWorkerWait, promp.ProMPWait, promp.NTSimpleWait)
    api = {n for cls in classes for n in dir(cls) if not n.startswith("_")}
    table = (REPO / "spec" / "01-overview.md").read_text().split("## The API at a glance", 1)[1].split("**OVR-1**", 1)[0]
    listed = set(re.findall(r"[A-Za-z_]\w*", " ".join(re.findall(r"`([^`]+)`", table))))
    used = {name for ch in load_spec(REPO / "spec") for ex in ch.examples for name in re.findall(r"\.(\w+)\(", ex.code)}
    assert sorted((used & api) - listed) == []
