"""The launch hook and the fault proxy behind it: rules as written, and faults on real workers."""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import sys
from pathlib import Path

import msgpack
import pytest

from harness.proxy import Channel, Faults, Rule, Selector, kinds_of, parse_args
from harness.wire import frame
from promp import NTVariantList, ProManager, ProMPError

from .conftest import pump_until

PREFIX = "PROMP_WORKER_PREFIX"


def ping(n: int = 1) -> bytes:
    return frame(b"s" * 32, {"k": "ping", "n": n})


def behind_proxy(monkeypatch, *rules: str, log: Path | None = None) -> None:
    """Workers started from now on go through the fault proxy with ``rules``."""
    words = [sys.executable, "-m", "harness.proxy", *rules, *(["--log", str(log)] if log else []), "--"]
    monkeypatch.setenv(PREFIX, shlex.join(words))


# ------------------------------------------------------------------ rules, without processes
def test_a_selector_reads_kind_socket_and_direction():
    sel = Selector.parse("ping@beat:up")
    assert (sel.kind, sel.socket, sel.direction) == ("ping", "beat", "up")
    assert sel.matches({"ping"}, "beat", "up") and not sel.matches({"ping"}, "echo", "up")
    assert not sel.matches({"ping"}, "beat", "down") and not sel.matches({"done"}, "beat", "up")
    assert Selector.parse("*").matches({"?"}, "task", "down")


@pytest.mark.parametrize(
    "fault, text, problem",
    [
        ("drop", "ping", "SELECTOR=VALUE"),
        ("drop", "ping=1.5", "between 0 and 1"),
        ("drop", "ping=often", "not a number"),
        ("delay", "ping@wire=5", "unknown socket 'wire'"),
        ("dup", "ping:sideways=1", "unknown direction 'sideways'"),
    ],
)
def test_a_bad_rule_is_refused_with_its_reason(fault, text, problem):
    with pytest.raises(ValueError, match=problem):
        Rule.parse(fault, text)


def test_the_command_line_needs_the_worker_command(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--drop", "ping=0.5", "--"])
    assert "no worker command" in capsys.readouterr().err
    assert parse_args(["--drop", "ping=0.5", "--", "python", "-c", "pass"]).command == ["python", "-c", "pass"]


def test_a_batch_carries_its_kind_and_the_kinds_inside_it():
    inner = msgpack.packb([[{"k": "done", "t": 1, "ok": True}, b""], [{"k": "msg", "id": 2}, b"x"]])
    assert kinds_of(frame(b"s" * 32, {"k": "batch", "n": 2}, inner)) == {"batch", "done", "msg"}
    assert kinds_of(b"garbage") == {"?"}


def test_a_message_of_two_frames_is_read_by_its_first():
    whole = frame(b"s" * 32, {"k": "done", "t": 1, "ok": True}, b"\xc6" + b"x" * 100)
    assert kinds_of((whole[:-60], whole[-60:])) == {"done"}


def test_a_large_result_crosses_the_proxy_in_its_two_frames_whole(manager, monkeypatch):
    behind_proxy(monkeypatch, "--delay", "done=0.01")
    w = manager.startWorker()
    manager.evalPythonFunction(w, "def f():\n    return bytes(range(256)) * 4096\n", "f", None, True)
    manager.evalPythonFunction(w, "def f():\n    return 'small'\n", "f", None, True)
    pump_until(manager, lambda: not manager.isBusy(), 30)
    assert manager.takeResult(w) == bytes(range(256)) * 4096 and manager.takeResult(w) == "small"


def faults(*rules: tuple[str, str]) -> Faults:
    return Faults([Rule.parse(fault, text) for fault, text in rules], random.Random(1))


def test_drop_and_dup_act_on_the_frames_they_select_only():
    f, ch = faults(("drop", "ping@echo=1"), ("dup", "done=1")), Channel()
    assert f.apply(ping(), "echo", "up", ch, 0.0) == []
    assert len(f.apply(ping(), "beat", "up", Channel(), 0.0)) == 1
    done = frame(b"s" * 32, {"k": "done", "t": 1, "ok": True})
    assert [data for _, data in f.apply(done, "task", "up", Channel(), 0.0)] == [done, done]


def test_a_delayed_channel_keeps_its_order_even_with_jitter():
    f, ch = faults(("delay", "*=20~19")), Channel()
    times = [f.apply(ping(n), "echo", "up", ch, n * 0.001)[0][0] for n in range(50)]
    assert times == sorted(times) and times[0] >= 0.001


def test_a_reordered_frame_goes_out_after_the_next_one():
    f, ch = faults(("reorder", "ping=1")), Channel()
    first, second = ping(1), ping(2)
    assert f.apply(first, "echo", "up", ch, 0.0) == []
    assert [data for _, data in f.apply(second, "echo", "up", ch, 0.01)] == [second, first]


# ------------------------------------------------------------------ the launch hook
def test_the_manager_starts_workers_behind_the_prefix_it_reads_at_each_start(manager, monkeypatch):
    monkeypatch.setenv(PREFIX, "env PROMP_VIA_HOOK=yes")
    hooked = manager.startWorker()
    monkeypatch.delenv(PREFIX)
    plain = manager.startWorker()
    code = "import os\ndef f():\n    return os.environ.get('PROMP_VIA_HOOK')\n"
    for w in (hooked, plain):
        manager.evalPythonFunction(w, code, "f", None, True)
    pump_until(manager, lambda: not manager.isBusy(), 30)
    assert [manager.takeResult(hooked), manager.takeResult(plain)] == ["yes", None]


@pytest.mark.parametrize("prefix, problem", [("'unclosed", "not a valid list of shell words"), ("no-such-launcher", "no-such-launcher")])
def test_a_bad_prefix_is_refused_naming_the_problem(manager, monkeypatch, prefix, problem):
    monkeypatch.setenv(PREFIX, prefix)
    with pytest.raises(ProMPError, match=problem):
        manager.startWorker()
    assert not manager.isBusy()


# ------------------------------------------------------------------ faults on real workers
def test_a_worker_whose_own_pings_are_lost_keeps_working_while_its_managers_pings_reach_it(monkeypatch):
    """Its manager's pings show it the manager lives: it has no need of answers to its own (WIRE-6, FLT-5)."""
    behind_proxy(monkeypatch, "--drop", "ping@echo=1")
    m = ProManager(heartbeat_interval=0.1, heartbeat_timeout=1.0)
    try:
        w = m.startWorker()
        m.evalPythonFunction(w, "import time\ndef f():\n    time.sleep(3)\n    return 'kept'\n", "f", None, True)
        pump_until(m, lambda: not m.isBusy(), 30)
        assert m.takeResult(w) == "kept" and m.workerState(w) == "ready"
    finally:
        m.close()


def test_a_worker_that_loses_the_managers_pings_is_ended_by_the_manager(monkeypatch):
    behind_proxy(monkeypatch, "--drop", "ping@beat=1")
    m = ProManager(heartbeat_interval=0.1, heartbeat_timeout=1.0)
    try:
        w = m.startWorker()
        m.evalPythonFunction(w, "import time\ndef f():\n    time.sleep(30)\n", "f", None, True)
        pump_until(m, lambda: not m.isBusy(), 10)
        assert m.workerExitCode(w) == -signal.SIGKILL and isinstance(m.takeResult(w), Exception)
    finally:
        m.close()


def test_lossy_heartbeats_below_the_timeout_change_nothing(monkeypatch, tmp_path):
    log = tmp_path / "proxy-records"
    behind_proxy(monkeypatch, "--drop", "ping=0.3", log=log)
    m = ProManager(heartbeat_interval=0.05, heartbeat_timeout=1.0)
    try:
        w = m.startWorker()
        m.evalPythonFunction(w, "import time\ndef f():\n    time.sleep(2)\n    return 'survived'\n", "f", None, True)
        pump_until(m, lambda: not m.isBusy(), 20)
        assert m.takeResult(w) == "survived"
        m.stopWorker(w)
        pump_until(m, lambda: m.workerExitCode(w) is not None, 10)
        assert m.workerExitCode(w) == 0
    finally:
        m.close()
    (record,) = [json.loads(p.read_text()) for p in log.glob("proxy-*.json")]
    assert record["faults"][0]["hits"] > 5 and record["exit"] == 0  # pings were really dropped


def test_duplicated_and_delayed_task_frames_run_each_task_once(monkeypatch, tmp_path):
    behind_proxy(monkeypatch, "--dup", "task=1", "--delay", "task:down=30~20")
    runs = tmp_path / "runs"
    m = ProManager()
    try:
        w = m.startWorker()
        code = f"def f(i):\n    with open({str(runs)!r}, 'a') as out:\n        out.write(f'{{i}}\\n')\n    return i\n"
        for i in range(20):
            m.evalPythonFunction(w, code, "f", NTVariantList([i]), True)
        pump_until(m, lambda: not m.isBusy(), 30)
        assert runs.read_text().split() == [str(i) for i in range(20)]
    finally:
        m.close()


@pytest.mark.parametrize("code, status", [("import sys\nsys.exit(7)", 7), ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", -11)])
def test_the_proxy_ends_with_the_workers_status(monkeypatch, code, status):
    behind_proxy(monkeypatch)
    m = ProManager()
    try:
        w = m.startWorker()
        m.evalPythonCode(w, code)
        pump_until(m, lambda: m.workerExitCode(w) is not None, 20)
        assert m.workerExitCode(w) == status
    finally:
        m.close()


def test_a_proxy_killed_with_its_worker_has_left_its_record(monkeypatch, tmp_path):
    log = tmp_path / "proxy-records"
    behind_proxy(monkeypatch, "--dup", "task=1", log=log)
    m = ProManager()
    try:
        w = m.startWorker()
        m.evalPythonFunction(w, "def f():\n    return 1\n", "f", None, True)
        pump_until(m, lambda: not m.isBusy(), 30)
        pump_until(m, lambda: any(json.loads(p.read_text())["faults"][0]["hits"] for p in log.glob("proxy-*.json")), 5)
        os.killpg(m.workerPid(w), signal.SIGKILL)  # the proxy and its worker: no chance to write at the end
        pump_until(m, lambda: m.workerExitCode(w) is not None, 10)
    finally:
        m.close()
    (record,) = [json.loads(p.read_text()) for p in log.glob("proxy-*.json")]
    assert record["exit"] is None and record["faults"][0]["hits"] >= 1


def test_a_proxy_ends_with_its_worker_when_the_manager_closes(monkeypatch):
    behind_proxy(monkeypatch)
    m = ProManager()
    w = m.startWorker()
    try:
        m.evalPythonCode(w, "pass")
        pump_until(m, lambda: not m.isBusy(), 30)
    finally:
        m.close()  # the worker sees its alive pipe close and exits with 120; so must its proxy
    assert m.workerExitCode(w) == 120


def test_a_message_by_column_carries_the_kind_of_the_messages_it_stands_for():
    assert kinds_of(frame(b"s" * 32, {"k": "tasks", "n": 2}, b"")) == {"tasks", "task"}
    inner = msgpack.packb([[{"k": "dones", "n": 2}, b""], [{"k": "msg", "id": 2}, b"x"]])
    assert kinds_of(frame(b"s" * 32, {"k": "batch", "n": 2}, inner)) == {"batch", "dones", "done", "msg"}
