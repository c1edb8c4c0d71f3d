"""Fault profiles: the nemesis really stalls an example's workers, leaves alone what others stopped,
and the spec keeps its verdicts under it (CI runs a sample of clauses under short-stalls)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.helpers import spawn_script
from harness.profiles import PROFILES, Nemesis, Profile
from harness.report import failures

from .conftest import wait_until

REPO = Path(__file__).resolve().parent.parent
TREE = (
    "import subprocess, time\n"
    "kids = [subprocess.Popen(['sleep', '60']) for _ in range(2)]\n"
    "print(*[k.pid for k in kids], flush=True)\n"
    "time.sleep(60)\n"
)
QUICK = Profile("quick", "test", stall=(0.2, 0.2), every=(0.05, 0.05))


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Iterator[tuple[int, list[psutil.Process]]]:
    """A process with two children (``sleep 60``): the root's pid and the children."""
    monkeypatch.chdir(tmp_path)  # spawn_script writes its script under the current directory
    root = spawn_script(TREE)
    try:
        yield root.pid, [psutil.Process(int(p)) for p in root.stdout.readline().split()]
    finally:
        for proc in psutil.Process(root.pid).children(recursive=True) + [psutil.Process(root.pid)]:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        root.wait()
        root.stdout.close()
        root.stdin.close()


def test_the_nemesis_stalls_the_processes_below_the_root_and_resumes_them(tree):
    root, kids = tree
    seen_stopped = set()
    with Nemesis(QUICK, root) as nemesis:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(seen_stopped) < 2:
            seen_stopped |= {k.pid for k in kids if k.status() == psutil.STATUS_STOPPED}
            time.sleep(0.01)
        assert psutil.Process(root).status() != psutil.STATUS_STOPPED  # the example itself runs on
    assert len(seen_stopped) == 2 and nemesis.stalls >= 1
    wait_until(lambda: all(k.status() != psutil.STATUS_STOPPED for k in kids), timeout=2)  # all resumed


def test_a_process_someone_else_stopped_stays_stopped(tree):
    root, (frozen, other) = tree
    frozen.send_signal(signal.SIGSTOP)  # the example's own fault
    wait_until(lambda: frozen.status() == psutil.STATUS_STOPPED)
    with Nemesis(QUICK, root) as nemesis:
        wait_until(lambda: nemesis.stalls >= 3, timeout=5)  # several stalls come and go
    assert frozen.status() == psutil.STATUS_STOPPED and other.status() != psutil.STATUS_STOPPED


def run_under(profile: str, clauses: list[str], report_dir: Path, impl: str | None = None) -> dict:
    cmd = [sys.executable, str(REPO / "tools" / "spec.py"), "--faults", profile, "--report-dir", str(report_dir), "-n", "2"]
    cmd += ["--impl", impl] if impl else []
    for clause in clauses:
        cmd += ["--clause", clause]
    subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    report = json.loads((report_dir / "report.json").read_text())
    assert report["faults"] == profile
    return report


def verdicts_of(report: dict, clauses: list[str]) -> dict[str, str]:
    return {c["id"]: c["verdict"] for c in report["clauses"] if c["id"] in clauses}


def failures_in(report: dict) -> str:
    """What each failed example printed, once each: the message of a verdict test that fails (only its report knows why)."""
    failed = {example["location"]: example["detail"] for _clause, example in failures(report)}
    return "\n".join(f"--- {location}\n{detail}" for location, detail in failed.items())


def test_spec_clauses_keep_their_verdicts_under_short_stalls(tmp_path):
    clauses = ["TASK-1", "TASK-4", "RES-1", "OUT-4", "MSG-3", "ABRT-1", "LIVE-1", "LIVE-3", "FLT-2", "LVL-1"]
    report = run_under("short-stalls", clauses, tmp_path)
    expected = {c: "n/a" if c == "LIVE-3" else "pass" for c in clauses}  # LIVE-3 freezes its manager
    assert verdicts_of(report, clauses) == expected, failures_in(report)
    assert "short-stalls" in PROFILES


@pytest.mark.parametrize("profile", ["lossy-heartbeats", "slow-links", "shuffled-pings"])
def test_spec_clauses_keep_their_verdicts_behind_the_fault_proxy(tmp_path, profile):
    clauses = ["TASK-1", "RES-1", "MSG-3", "ABRT-2", "LIVE-2", "LVL-2", "FLT-6", "EXT-9"]
    report = run_under(profile, clauses, tmp_path)
    # FLT-6 sets its own proxy; EXT-9 compares warm starts with cold, and the launch hook makes every start cold
    expected = {c: "n/a" if c in ("FLT-6", "EXT-9") else "pass" for c in clauses}
    assert verdicts_of(report, clauses) == expected, failures_in(report)


def test_a_proxy_profile_is_not_applicable_without_a_launch_hook(tmp_path):
    # an implementation without workerPrefixVariable: the faults could not reach its frames, so no verdict is claimed
    report = run_under("lossy-heartbeats", ["RES-1"], tmp_path, impl="tests.no_launch_hook")
    examples = [c for c in report["clauses"] if c["id"] == "RES-1"][0]["examples"]
    assert examples and all(e["verdict"] == "n/a" and "workerPrefixVariable" in e["detail"] for e in examples)


def test_a_proxy_profile_is_not_applicable_to_workers_that_speak_another_protocol(tmp_path):
    # the launch hook honoured, but not chapter 13's protocol: the proxy cannot carry the frames, so no verdict
    report = run_under("slow-links", ["RES-1"], tmp_path, impl="tests.own_protocol")
    examples = [c for c in report["clauses"] if c["id"] == "RES-1"][0]["examples"]
    assert examples and all(e["verdict"] == "n/a" and "chapter 13's wire protocol" in e["detail"] for e in examples), examples


def test_faults_list_says_which_profiles_need_chapter_13():
    done = subprocess.run([sys.executable, str(REPO / "tools" / "spec.py"), "--faults", "list"], capture_output=True, text=True, timeout=60)
    lines = {line.split(":", 1)[0]: line for line in done.stdout.splitlines()}
    assert all(("needs chapter 13" in lines[name]) == bool(profile.proxy) for name, profile in PROFILES.items())


def test_several_profiles_give_one_table_with_a_column_per_run(tmp_path):
    cmd = [sys.executable, str(REPO / "tools" / "spec.py"), "--faults", "short-stalls,slow-links", "--clause", "RES-1"]
    done = subprocess.run([*cmd, "--report-dir", str(tmp_path), "-n", "0"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for run in ("no-faults", "short-stalls", "slow-links"):
        assert verdicts_of(json.loads((tmp_path / run / "report.json").read_text()), ["RES-1"]) == {"RES-1": "pass"}
    lines = (tmp_path / "faults.md").read_text().splitlines()
    assert "| clause | no faults | short-stalls | slow-links |" in lines  # a Markdown table, names whole
    assert "| RES-1 | pass | pass | pass |" in lines


def test_clauses_that_speak_chapter_13_to_an_implementation_that_does_not_are_n_a_not_failures(tmp_path):
    # a launch hook honoured with a protocol of its own: the fault proxy (FLT-6) and the FakeWorker (WIRE-11) cannot talk to it
    cmd = [sys.executable, str(REPO / "tools" / "spec.py"), "--impl", "tests.own_protocol", "--clause", "FLT-6", "--clause", "WIRE-11"]
    subprocess.run([*cmd, "--report-dir", str(tmp_path), "-n", "0"], cwd=REPO, capture_output=True, text=True, timeout=300)
    report = json.loads((tmp_path / "report.json").read_text())
    assert verdicts_of(report, ["FLT-6", "WIRE-11"]) == {"FLT-6": "n/a", "WIRE-11": "n/a"}
    reasons = {c["id"]: c["examples"][0]["detail"] for c in report["clauses"] if c["id"] in ("FLT-6", "WIRE-11")}
    assert "chapter 13's wire protocol" in reasons["FLT-6"] and "none of chapter 13's" not in reasons["FLT-6"]
    assert "PROMP_WORKER_ID" in reasons["WIRE-11"], reasons
