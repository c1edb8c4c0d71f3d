"""The reference's own ``Pro`` modules offer what the harness's generated ones offer for it."""

from __future__ import annotations

import importlib
import subprocess
import sys

from harness.impl import MODULES, shim


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
