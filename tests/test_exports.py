"""The public surface: one list of names, the same on every face (``promp``, ``Pro.MP``, the harness's shim), and
``promp.core``'s interface for the simulator, documented and the only one the simulator uses."""

from __future__ import annotations

import importlib
import os
import re
import stat
import subprocess
import sys
import types
from pathlib import Path

import Pro.MP
import promp
import promp.core as core
from harness.impl import MODULES, shim

REPO = Path(__file__).resolve().parent.parent


def test_reference_pro_modules_export_what_the_harness_shim_exports():
    root = shim("promp")
    for module, _ in MODULES.items():
        code = f"import Pro.{module} as m; print(' '.join(sorted(getattr(m, '__all__', []))))"
        shimmed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(root)}, timeout=60)
        own = importlib.import_module(f"Pro.{module}")
        assert shimmed.stdout.split() == sorted(own.__all__), module
        assert all(getattr(own, name) is not None for name in own.__all__)


def test_seed_scripts_can_name_the_worker_command_through_pro_mp():
    from Pro.MP import protocolCore, workerCommand

    assert workerCommand()[0] == sys.executable and protocolCore == "promp.core"


def test_the_public_names_are_written_once_and_every_face_offers_them():
    assert list(Pro.MP.__all__) == list(promp.__all__)
    assert len(set(promp.__all__)) == len(promp.__all__)
    for name in promp.__all__:
        assert getattr(promp, name) is getattr(Pro.MP, name), name
    public = {name for name in dir(promp) if not name.startswith("_") and not isinstance(getattr(promp, name), types.ModuleType)}
    assert public - {"annotations", "importlib", "TYPE_CHECKING", "Any"} <= set(promp.__all__)


def test_promp_core_offers_every_name_its_interface_documents_and_the_simulator_uses_no_other():
    for name in core.__all__:
        assert hasattr(core, name), name
    used = set()
    for path in (REPO / "harness" / "sim").glob("*.py"):
        used |= set(re.findall(r"\bcore\.(\w+)", path.read_text()))
    assert used and used <= set(core.__all__), used - set(core.__all__)
    documented = set(re.findall(r"``(\w+)", core.__doc__))
    shared = {"ProMPRemoteError", "ProWorkerExited", "ProWorker_All", "ProWorker_Any", "HeartbeatClock"}  # the API's own
    assert {name for name in core.__all__ if name not in documented and not name.isupper()} <= shared


def test_the_shim_lives_in_a_fresh_private_directory_removed_when_the_run_ends():
    code = "from harness.impl import shim; a = shim('promp'); b = shim('promp'); print(a if a == b else 'two')"
    made = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    root = made.stdout.strip()
    assert root and root != "two" and "promp-spec-shim-" in root
    assert not os.path.exists(root)  # removed at the end of the run that made it
    ours = shim("promp")
    assert stat.S_IMODE(os.stat(ours).st_mode) == 0o700 and os.stat(ours).st_uid == os.getuid()
    assert str(ours) != root  # never one another run left behind


def test_a_shim_left_by_a_run_killed_before_its_exit_handlers_is_removed_by_the_next_run(tmp_path, monkeypatch):
    import tempfile

    from harness import impl

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    stale = tmp_path / f"{impl.SHIM_PREFIX}{int(dead.stdout)}-abcd"
    live = tmp_path / f"{impl.SHIM_PREFIX}{os.getpid()}-efgh"
    for directory in (stale, live):
        (directory / "Pro").mkdir(parents=True)
    impl._remove_stale_shims()
    assert not stale.exists() and live.exists()
