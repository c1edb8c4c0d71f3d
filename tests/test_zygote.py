"""Warm worker start: workers forked by the manager's zygote behave as cold ones, and cold stays available."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.helpers import gone
from promp import ProManager, ProWorker_All
from tests.conftest import pump_until, wait_until

REPO = Path(__file__).resolve().parent.parent
FACTS = "import os, sys\ndef f():\n    return [os.getpid(), os.getppid(), os.getcwd(), sys.path, os.getpgid(0)]\n"


def zygotes() -> list[psutil.Process]:
    return [p for p in psutil.Process().children() if p.name() == "promp-zygote"]


def facts(m: ProManager, w: int) -> list:
    m.evalPythonFunction(w, FACTS, "f", None, True)
    pump_until(m, lambda: not m.isBusy())
    return m.takeResult(w)


def test_warm_workers_are_children_of_the_manager_in_their_own_process_group(make_manager):
    m = make_manager()
    ws = [m.startWorker() for _ in range(3)]
    assert len(zygotes()) == 1
    for w in ws:
        pid, ppid, _, _, pgid = facts(m, w)
        assert (pid, ppid, pgid) == (m.workerPid(w), os.getpid(), pid)


def test_a_warm_worker_reports_its_exit_code(make_manager):
    m = make_manager()
    w = m.startWorker()
    m.evalPythonCode(w, "import sys; sys.exit(3)")
    pump_until(m, lambda: m.workerState(w) == "exited")
    assert m.workerExitCode(w) == 3


def test_a_warm_worker_starts_in_the_managers_current_directory(make_manager, tmp_path, monkeypatch):
    m = make_manager()
    m.startWorker()  # the zygote starts here, in the test's directory
    monkeypatch.chdir(tmp_path)
    w = m.startWorker()
    assert facts(m, w)[2] == str(tmp_path)


def test_a_new_pythonpath_gets_a_new_zygote(make_manager, tmp_path, monkeypatch):
    m = make_manager()
    m.startWorker()
    (first,) = zygotes()
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    w = m.startWorker()
    assert str(tmp_path) in facts(m, w)[3]
    wait_until(lambda: gone(first.pid))


def test_a_killed_zygote_means_cold_starts_that_work(make_manager, caplog):
    m = make_manager()
    m.startWorker()
    (zygote,) = zygotes()
    zygote.kill()
    wait_until(lambda: gone(zygote.pid))  # the keeper reaps it
    with caplog.at_level(logging.WARNING, logger="promp"):
        w = m.startWorker()
    assert facts(m, w)[1] == os.getpid()
    assert not zygotes()
    assert "start cold" in caplog.text


def test_the_zygote_ends_after_a_heartbeat_timeout_unused_and_comes_back(make_manager):
    m = make_manager(heartbeat_interval=0.1, heartbeat_timeout=1.0)
    m.startWorker()
    (zygote,) = zygotes()
    wait_until(lambda: gone(zygote.pid), 5)
    w = m.startWorker()
    assert facts(m, w)[1] == os.getpid()
    assert len(zygotes()) == 1


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_cold_start_on_request(make_manager, monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv("PROMP_COLD_START", "1")
        m = make_manager()
    else:
        m = make_manager(warm_start=False)
    w = m.startWorker()
    assert facts(m, w)[1] == os.getpid()
    assert not zygotes()


def test_manager_closed_ends_zygote_and_workers():
    m = ProManager()
    m.startWorker()
    m.evalPythonCode(ProWorker_All, "import time; time.sleep(60)")
    family = [p.pid for p in psutil.Process().children(recursive=True)]
    assert len(family) == 2
    m.close()
    wait_until(lambda: all(gone(p) for p in family), 5)


def test_a_frozen_zygote_costs_startworker_seconds_at_most_and_the_worker_starts_cold(make_manager):
    m = make_manager()
    m.startWorker()
    (zygote,) = zygotes()
    zygote.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    w = m.startWorker()
    assert time.monotonic() - started < 2  # 4 s before it was looked at: a 2 s answer wait, then a 2 s exit wait
    wait_until(lambda: gone(zygote.pid))  # given up on, and ended
    assert facts(m, w)[1] == os.getpid()
    assert not zygotes()


def test_a_zygote_frozen_before_it_was_ready_costs_startworker_seconds_at_most(make_manager, monkeypatch):
    from promp.manager import _zygote

    started_zygote = _zygote.Zygote.__init__

    def freeze_at_birth(self, *args, **kwargs):
        started_zygote(self, *args, **kwargs)
        os.kill(self.pid, signal.SIGSTOP)  # before its imports are done: it never says it is ready

    monkeypatch.setattr(_zygote.Zygote, "__init__", freeze_at_birth)
    m = make_manager()
    started = time.monotonic()
    w = m.startWorker()
    assert time.monotonic() - started < 2  # 32 s before: the whole start timeout, then the exit wait
    assert facts(m, w)[1] == os.getpid()
    assert not zygotes()


def test_closing_a_zygote_that_will_not_exit_ends_what_it_forked_too(tmp_path):
    """An intermediate fork stopped in the middle of a start kept the zygote from exiting, and outlived it."""
    import socket

    from promp.manager import _zygote

    code = "import os, signal, time\nif os.fork() == 0:\n    os.kill(os.getpid(), signal.SIGSTOP)\ntime.sleep(60)\n"
    stand_in = _zygote.Zygote.__new__(_zygote.Zygote)  # the zygote's process, with a child stopped mid-start
    stand_in._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    stand_in._proc = subprocess.Popen([sys.executable, "-c", code])
    theirs.close()
    wait_until(lambda: any(c.status() == psutil.STATUS_STOPPED for c in psutil.Process(stand_in.pid).children()), 10)
    (middle,) = psutil.Process(stand_in.pid).children()
    try:
        started = time.monotonic()
        stand_in.close()
        assert time.monotonic() - started < 2
        wait_until(lambda: gone(middle.pid), 5)
    finally:
        for proc in (middle, stand_in._proc):
            proc.kill()


@pytest.mark.timeout(300)
def test_liveness_and_fault_clauses_pass_with_cold_starts_too(tmp_path):
    """Warm start is the default the spec runs with; the same clauses hold when every start is cold."""
    clauses = ["LIFE-4", "LIVE-1", "LIVE-2", "LIVE-5", "FLT-7", "FLT-8", "FLT-9"]
    cmd = [sys.executable, str(REPO / "tools" / "spec.py"), "--report-dir", str(tmp_path), "-n", "0"]
    for clause in clauses:
        cmd += ["--clause", clause]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=280, env={**os.environ, "PROMP_COLD_START": "1"})
    verdicts = {c["id"]: c["verdict"] for c in json.loads((tmp_path / "report.json").read_text())["clauses"]}
    assert {c: verdicts[c] for c in clauses} == {c: "pass" for c in clauses}, done.stdout[-3000:]
