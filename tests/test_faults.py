"""The nemesis (harness.faults, promp-fault) on real process trees: levels, pause/heal, kill, clear errors."""

from __future__ import annotations

import os
import signal
import textwrap

import psutil
import pytest

from harness import faults
from harness.fault_cli import main as fault_main
from harness.helpers import gone, readline, spawn_script

from .conftest import wait_until

TREE = textwrap.dedent(
    '''
    import time
    from Pro.MP import *
    nested = """
    import time
    from Pro.MP import *
    m = ProManager()
    m.startWorker()
    m.evalPythonCode(ProWorker_All, "import time\\\\ntime.sleep(600)")
    while True:
        m.processMessages()
        time.sleep(0.02)
    """
    m = ProManager()
    m.startWorker()
    m.startWorker()
    m.evalPythonCode(ProWorker_All, nested)
    print("up", flush=True)
    while True:
        m.processMessages()
        time.sleep(0.02)
    '''
)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A manager with two workers, each running a manager with one worker: levels 0, 1 and 2."""
    monkeypatch.setattr(faults, "PAUSED_FILE", tmp_path / "paused.json")
    monkeypatch.chdir(tmp_path)  # spawn_script writes its script under the current directory
    monkeypatch.setenv("PROMP_COLD_START", "1")  # no zygote beside the workers (for a while): levels of workers only
    manager = spawn_script(TREE)
    try:
        assert readline(manager, 30) == "up\n"
        wait_until(lambda: len([n for n in faults.tree(manager.pid) if n.level == 2]) == 2, timeout=30)
        yield manager
    finally:
        for proc in [manager.pid] + [p.pid for p in psutil.Process(manager.pid).children(recursive=True)]:
            try:
                os.kill(proc, signal.SIGCONT)
                os.kill(proc, signal.SIGKILL)
            except OSError:
                pass
        manager.wait()
        manager.stdout.close()
        manager.stdin.close()


def levels(pid: int) -> dict[int, list[faults.Node]]:
    found: dict[int, list[faults.Node]] = {}
    for node in faults.tree(pid):
        found.setdefault(node.level, []).append(node)
    return found


def test_ls_finds_the_levels_of_a_live_tree(tree, capsys):
    found = levels(tree.pid)
    assert {level: len(nodes) for level, nodes in found.items()} == {0: 1, 1: 2, 2: 2}
    assert found[0][0].pid == tree.pid and all(n.rss > 0 for nodes in found.values() for n in nodes)
    assert fault_main(["ls", str(tree.pid)]) == 0
    assert str(tree.pid) in capsys.readouterr().out


def test_pause_is_recorded_and_heal_resumes_it_even_from_another_run(tree):
    paused = faults.pause(tree.pid, "workers")
    assert sorted(paused) == sorted(n.pid for n in levels(tree.pid)[1])
    wait_until(lambda: all(n.state == psutil.STATUS_STOPPED for n in levels(tree.pid)[1]))
    assert all(n.stopped_for is not None and n.stopped_for >= 0 for n in levels(tree.pid)[1])
    assert all(n.state != psutil.STATUS_STOPPED for n in levels(tree.pid)[2])  # only that level
    assert fault_main(["heal"]) == 0  # the record is on disk: any process can heal
    wait_until(lambda: all(n.state != psutil.STATUS_STOPPED and n.stopped_for is None for n in levels(tree.pid)[1]))


def test_kill_a_level_ends_exactly_that_level(tree):
    level2 = [n.pid for n in levels(tree.pid)[2]]
    level1 = [n.pid for n in levels(tree.pid)[1]]
    assert fault_main(["kill", str(tree.pid), "--level", "2"]) == 0
    wait_until(lambda: all(gone(p) for p in level2))
    assert not any(gone(p) for p in level1 + [tree.pid])


def test_resume_and_pause_of_the_whole_tree(tree):
    everything = faults.pause(tree.pid, "tree")
    assert len(everything) == 5
    wait_until(lambda: all(n.state == psutil.STATUS_STOPPED for n in faults.tree(tree.pid)))
    assert sorted(faults.resume(tree.pid, "tree")) == sorted(everything)
    assert faults.heal() == []  # resume forgot them already


def test_clear_errors(tree, monkeypatch, capsys):
    assert fault_main(["kill", "999999999"]) == 2
    assert "no process with pid 999999999" in capsys.readouterr().out
    assert fault_main(["pause", str(tree.pid), "--level", "5"]) == 2
    assert "has no processes at level 5" in capsys.readouterr().out
    leaf = levels(tree.pid)[2][0].pid
    with pytest.raises(faults.FaultError, match="has no workers"):
        faults.kill(leaf, "workers")
    monkeypatch.setattr(os, "getuid", lambda: 4242)  # as another user: pid 1 is root's
    with pytest.raises(faults.FaultError, match="belongs to uid 0"):
        faults.kill(1)
