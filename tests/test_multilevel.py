"""Managers inside workers: levels, output forwarded to the root, the whole tree ending with the root."""

from __future__ import annotations

import select
import subprocess
import sys

from promp import ProManager, ProMPOpt_AtomicOutput, proWorkerProcessLevel

from .conftest import call, gone, pump_until, wait_until

TREE = """
import os, sys, time
from Pro.MP import *

if proWorkerProcessLevel() < 3:
    m = ProManager()
    m.setOptions(ProMPOpt_AtomicOutput)
    m.startWorker()
    m.executePythonScript(ProWorker_Any, __file__)
    print('level', proWorkerProcessLevel(), os.getpid())
    while True:
        m.wait(100)
else:
    print('level', proWorkerProcessLevel(), os.getpid())
    time.sleep(600)
"""


def test_levels_count_from_the_root(manager: ProManager):
    assert proWorkerProcessLevel() == 0
    code = (
        "from Pro.MP import *\n"
        "def levels():\n"
        "    m = ProManager()\n"
        "    w = m.startWorker()\n"
        "    m.evalPythonFunction(w, 'from Pro.MP import *\\ndef lv():\\n    return proWorkerProcessLevel()\\n', 'lv', None, True)\n"
        "    while not m.hasResults():\n"
        "        m.wait()\n"
        "    inner = m.takeResult(w)\n"
        "    m.close()\n"
        "    return [proWorkerProcessLevel(), inner]\n"
    )
    assert call(manager, manager.startWorker(), code, "levels") == [1, 2]


def test_output_is_forwarded_through_every_level(manager: ProManager, capfd, tmp_path):
    script = tmp_path / "nest.py"
    script.write_text(
        "from Pro.MP import *\n"
        "if proWorkerProcessLevel() < 4:\n"
        "    m = ProManager()\n"
        "    m.setOptions(ProMPOpt_AtomicOutput)\n"
        "    m.startWorker()\n"
        "    m.executePythonScript(ProWorker_Any, __file__)\n"
        "    while m.isBusy():\n"
        "        m.wait()\n"
        "    m = None\n"
        "else:\n"
        "    print('deep', proWorkerProcessLevel())\n"
    )
    manager.setOptions(ProMPOpt_AtomicOutput)
    manager.executePythonScript(manager.startWorker(), script)
    pump_until(manager, lambda: not manager.isBusy(), timeout=60)
    assert capfd.readouterr().out == "deep 4\n"


def test_killing_the_root_ends_the_whole_tree(tmp_path):
    script = tmp_path / "tree.py"
    script.write_text(TREE)
    root = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids: dict[int, int] = {}
    try:
        while len(pids) < 4:
            ready, _, _ = select.select([root.stdout], [], [], 60)
            assert ready, f"tree incomplete: {pids}"
            _, level, pid = root.stdout.readline().split()
            pids[int(level)] = int(pid)
        assert sorted(pids) == [0, 1, 2, 3]
        root.kill()
        root.wait()  # ours to reap; the levels below are theirs (or the reaper's)
        wait_until(lambda: all(gone(p) for p in pids.values()), timeout=5)
    finally:
        root.kill()
        root.wait()
        root.stdout.close()
